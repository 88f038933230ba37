"""What decides when users run: the :class:`Driver` protocol and the figures a driver returns.

A driver is made from the run's :class:`~pytest_loadtest._engine._context.RunContext`, the
:class:`~pytest_loadtest._engine._users.Work` its users do and the resolved settings. The engine
starts ``threads`` user threads, each running :meth:`Driver.user_main`, releases them with
:meth:`Driver.start` when the clock starts, runs :meth:`Driver.main` on its own thread until the
run ends, and asks :meth:`Driver.finish` for the driver's own figures once every user stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, final, runtime_checkable

if TYPE_CHECKING:
    from pytest_loadtest._engine._context import RunContext
    from pytest_loadtest._engine._share import SharedArrivals
    from pytest_loadtest._engine._users import VirtualUser, Work
    from pytest_loadtest._model._loop import LoopHealth
    from pytest_loadtest._model._shapes import Arrivals
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["Driver", "DriverFactory", "DriverFigures", "LoopDriver", "OpenLedger"]


@final
@dataclass(slots=True)
class DriverFigures:
    """What only the driver knows of a finished run.

    ``peak_active``: most users inside an iteration loop (closed) or an iteration (open) at
    once. ``scheduled``/``dropped``/``dropped_by_window``: the open model's iterations due in the
    run and those that found no free user (by window index). ``corrected``: latencies are measured
    from each iteration's intended start, with service times and start lags recorded beside them
    (coordinated omission corrected). ``threads``: the threads the users ran on, when not one
    per user (async users: their event-loop threads); 0 for one thread per user.
    ``loop``: the health of the async users' event loops (lag, blocking steps; :mod:`._lag`),
    ``None`` for users on threads.
    """

    peak_active: int = 0
    scheduled: int = 0
    dropped: int = 0
    dropped_by_window: dict[int, int] = field(default_factory=dict)
    corrected: bool = False
    threads: int = 0
    loop: LoopHealth | None = None


class Driver(Protocol):
    """Decides when each user thread runs iterations."""

    #: user threads to start before the clock
    threads: int

    def user_main(self, vu: VirtualUser) -> None:
        """The body of one user thread."""
        ...

    def main(self) -> None:
        """The main thread's part of the run, until its end (or stopping)."""
        ...

    def start(self) -> None:
        """The clock has started: let the users go."""
        ...

    def wake_all(self) -> None:
        """Stopping: wake every user that waits."""
        ...

    def active(self) -> int:
        """Users inside an iteration loop (closed) or an iteration (open) now."""
        ...

    def finish(self) -> DriverFigures:
        """After every user stopped: the driver's figures."""
        ...


@runtime_checkable
class LoopDriver(Driver, Protocol):
    """A driver whose ``threads`` users all run on one thread (asyncio tasks on one event loop):
    the engine starts that thread with :meth:`run_users` instead of one thread per user."""

    def run_users(self, users: list[VirtualUser]) -> None:
        """The body of the one thread running every user."""
        ...

    def hung(self) -> dict[str, int]:
        """Calls hung when the run stopped, by operation."""
        ...


class DriverFactory(Protocol):
    """A driver class: made from the run's context, its users' work and the settings."""

    def __call__(self, context: RunContext, work: Work, settings: LoadSettings) -> Driver: ...


@final
class OpenLedger:
    """What an open-model driver counts, so that every due iteration is started or dropped:
    ``scheduled`` is ``started + dropped``."""

    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.peak = 0  # most users busy at once
        self.scheduled = 0  # iterations due in the run
        self.dropped = 0
        self.by_window: dict[int, int] = {}  # dropped iterations by timeline window
        self.unstarted: list[int] = []  # due times handed over, not begun before the end
        self.refused: list[int] = []  # due times handed to a user whose on_start failed

    def drop(self, due: int) -> None:
        """Count the iteration due at ``due`` (clock ns) as dropped."""
        self.dropped += 1
        window = (due - self.context.start_ns) // self.context.window_ns
        self.by_window[window] = self.by_window.get(window, 0) + 1

    def close(
        self, arrivals: Arrivals | SharedArrivals, k: int, end_ns: int, limit: int | None
    ) -> int:
        """Dispatching stopped at iteration ``k``: those still due before ``end_ns`` (within
        ``limit``) were never handed over (the dispatcher was starved, or the run stopped
        first), so they are dropped, never left out of what was due. A limited run whose
        iterations were all due is exhausted. Sets and returns :attr:`scheduled`."""
        context = self.context
        start = context.start_ns
        due = arrivals.due_ns(k, start)
        while due < end_ns and (limit is None or k < limit):
            self.drop(due)
            k += 1
            due = arrivals.due_ns(k, start)
        self.scheduled = k
        if limit is not None and k >= limit:
            context.exhausted_at = context.clock.now_ns()
            context.exhausted = True
        return k

    def figures(self) -> DriverFigures:
        """After the users stopped: iterations handed over but not begun before the end, and
        those handed to a user whose ``on_start`` failed, were dropped too."""
        for due in [*self.refused, *self.unstarted]:
            self.drop(due)
        self.refused, self.unstarted = [], []
        return DriverFigures(
            peak_active=self.peak,
            scheduled=self.scheduled,
            dropped=self.dropped,
            dropped_by_window=dict(self.by_window),
            corrected=True,
        )
