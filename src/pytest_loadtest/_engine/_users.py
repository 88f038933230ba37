"""The virtual user handed to targets that take one argument."""

from __future__ import annotations

import asyncio
import random
import traceback
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, final

from pytest_loadtest._engine._recorder import Recorder

__all__ = ["VirtualUser"]


@final
class VirtualUser:
    """One simulated user: a thread running iterations of the target.

    Public: ``id`` (0-based), ``iteration`` (iterations finished so far), ``state`` (a dict of its
    own), ``random`` (a ``random.Random`` seeded from the run's seed and the id) and
    :meth:`step`.
    """

    __slots__ = (
        "_buffers",
        "_clock",
        "_errors",
        "_loop",
        "_recorder",
        "_seen_errors",
        "current",
        "id",
        "iteration",
        "random",
        "span_start",
        "state",
        "watching",
    )

    def __init__(
        self, user_id: int, seed: int, recorder: Recorder, clock: Callable[[], int]
    ) -> None:
        self.id = user_id
        self.iteration = 0
        self.state: dict[str, Any] = {}
        self.random = random.Random(seed * 1_000_003 + user_id)
        self.current: str | None = None  # operation running now, for hung-call reports
        self.span_start = 0
        self._recorder = recorder
        self._clock = clock
        self._buffers: dict[int, list[int]] = {}
        self._errors: dict[tuple[int, str], int] = {}
        self._seen_errors: set[tuple[int, str]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.watching = False  # a database watch attributes statements to the running step

    def __repr__(self) -> str:
        return f"<VirtualUser {self.id} iteration={self.iteration}>"

    def step(self, name: str) -> _Step:
        """Time a named step of an iteration; it is reported as an operation of its own.

        >>> with vu.step("list"):
        ...     service.list_clients()
        """
        return _Step(self, self._recorder.operation(str(name), "step", self.current), str(name))

    # -- engine side --------------------------------------------------------------------------
    def buffer(self, op: int) -> list[int]:
        """This user's pending durations of ``op``."""
        buf = self._buffers.get(op)
        if buf is None:
            buf = self._buffers[op] = []
        return buf

    def flush(self, now_ns: int) -> None:
        """Hand pending durations to the recorder and start a new span at ``now_ns``."""
        for op, buf in self._buffers.items():
            if buf:
                self._recorder.submit(op, self.span_start, buf)
                self._buffers[op] = []
        if self._errors:
            self._recorder.submit_errors(self.span_start, self._errors)
            self._errors = {}
        self.span_start = now_ns

    def record_error(self, op: int, start_ns: int, exc: BaseException) -> None:
        """Count a failed call; keep the first message and traceback of each exception type.

        Counts wait in this user's own table until :meth:`flush`, like durations: every call in
        it started in the current span (``start_ns`` is in it)."""
        key = (op, type(exc).__name__)
        errors = self._errors
        errors[key] = errors.get(key, 0) + 1
        if key not in self._seen_errors:
            self._seen_errors.add(key)
            self._recorder.first_error(
                op,
                key[1],
                str(exc),
                "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            )

    def run_async(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine to completion on this user's own event loop."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coroutine)

    def close(self) -> None:
        """Release the event loop, if any."""
        if self._loop is not None:
            self._loop.close()
            self._loop = None


@final
class _Step:
    __slots__ = ("_name", "_op", "_t0", "_token", "_vu")

    def __init__(self, vu: VirtualUser, op: int, name: str = "") -> None:
        self._vu = vu
        self._op = op
        self._name = name
        self._t0 = 0
        self._token: Any = None

    def __enter__(self) -> _Step:
        if self._vu.watching:
            from pytest_loadtest._monitor import set_operation

            self._token = set_operation(self._name)
        self._t0 = self._vu._clock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        vu = self._vu
        vu.buffer(self._op).append(vu._clock() - self._t0)
        if self._token is not None:
            from pytest_loadtest._monitor import reset_operation

            reset_operation(self._token)
            self._token = None
        if isinstance(exc, Exception):
            vu.record_error(self._op, self._t0, exc)
