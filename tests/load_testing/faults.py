"""Broken variants of the service, to prove that the suite catches what it claims to catch.

``LOADTEST_EXAMPLE_FAULT`` picks one for a whole run (``tests/plugin/test_example_suite.py``
does this); unset, the service is healthy:

- ``slow`` or ``slow=SECONDS``: every transaction holds its connection that much longer
  (0.3s by default), as a missing index or a slow disk would; latency SLAs must fail.
- ``slower`` or ``slower=FACTOR``: every transaction costs FACTOR times the CPU (1.25 by
  default: a real 25% slowdown), holding its connection meanwhile; a
  regression check against a baseline of the healthy service must catch it
  (``scripts/regression-check``).
- ``lossy`` or ``lossy=N``: every Nth write (10th by default) is rolled back while its caller is
  told it succeeded, as a missing commit would; the integrity checks must fail.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from .app import Transactions

__all__ = [
    "FAULT_ENV",
    "LossyTransactions",
    "SlowTransactions",
    "SlowerTransactions",
    "fault_from_env",
    "transactions",
]

#: The environment variable that breaks the service on purpose.
FAULT_ENV: Final = "LOADTEST_EXAMPLE_FAULT"


class SlowTransactions(Transactions):
    """Every transaction takes ``delay`` seconds longer, holding its connection meanwhile."""

    def __init__(self, engine: Engine, delay: float) -> None:
        super().__init__(engine)
        self.delay = delay

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A query session that is ``delay`` slower."""
        with super().read() as session:
            session.connection()
            time.sleep(self.delay)
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write session that is ``delay`` slower."""
        with super().write() as session:
            session.connection()
            time.sleep(self.delay)
            yield session


class SlowerTransactions(Transactions):
    """Every transaction takes ``factor`` times as long, holding its connection meanwhile."""

    def __init__(self, engine: Engine, factor: float) -> None:
        super().__init__(engine)
        self.factor = factor

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A query session that is ``factor`` times as slow."""
        with super().read() as session:
            session.connection()  # the transaction begins: what it waited for is not its work
            began = time.thread_time()
            yield session
            _work((self.factor - 1) * (time.thread_time() - began))

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write session that is ``factor`` times as slow."""
        with super().write() as session:
            session.connection()  # BEGIN IMMEDIATE on SQLite: the wait for the lock is not work
            began = time.thread_time()
            yield session
            _work((self.factor - 1) * (time.thread_time() - began))


def _work(seconds: float) -> None:
    """Spend ``seconds`` more of this thread's CPU, as slower code would. CPU time, not wall
    time: under 50 threads a transaction's wall time is mostly waiting for the GIL, and adding
    25% of that made the service ten times slower, not 25%. (A sleep of a fraction of a
    millisecond overshoots several-fold on a busy machine, and frees the GIL.)"""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


class LossyTransactions(Transactions):
    """Every ``every``-th commit is a rollback, and nobody is told."""

    def __init__(self, engine: Engine, every: int) -> None:
        super().__init__(engine)
        self._counter = itertools.count(1)
        self.every = every
        self.dropped = 0

    def commit(self, session: Session) -> None:
        """Commit, or silently roll back every ``every``-th time."""
        if next(self._counter) % self.every == 0:
            self.dropped += 1
            session.rollback()
        else:
            session.commit()


def fault_from_env() -> str:
    """The fault asked for with ``LOADTEST_EXAMPLE_FAULT``, checked; ``""`` for none."""
    fault = os.environ.get(FAULT_ENV, "").strip()
    name, _, value = fault.partition("=")
    try:
        if name == "slow":
            float(value or 0)
        elif name == "slower":
            if float(value or 1.25) < 1:
                raise ValueError(value)
        elif name == "lossy":
            int(value or 1)
        elif name not in ("", "none"):
            raise ValueError(name)
    except ValueError:
        raise ValueError(
            f"{FAULT_ENV}={fault!r}: expected slow, slow=SECONDS, slower, slower=FACTOR (>= 1), "
            "lossy or lossy=N"
        ) from None
    return "" if name == "none" else fault


def transactions(engine: Engine, fault: str) -> Transactions:
    """The service's transactions over ``engine``, broken as ``fault`` says."""
    name, _, value = fault.partition("=")
    if name == "slow":
        return SlowTransactions(engine, float(value or 0.3))
    if name == "slower":
        return SlowerTransactions(engine, float(value or 1.25))
    if name == "lossy":
        return LossyTransactions(engine, int(value or 10))
    return Transactions(engine)
