"""The run context: all a driver may see of a run — its clock, its times and how it stops.

A driver (closed or open model, and those to come) reads the start, the deadline and the end of
warm-up from here, claims iterations of a limited run, asks when a user must next look up from its
loop, and sleeps or waits on the run's clock so that stopping cuts every wait short. It never sees
the engine, the recorder's internals or the other drivers.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, final

from pytest_loadtest._engine._share import WHOLE, Share
from pytest_loadtest._model._clock import Clock
from pytest_loadtest._model._metrics import NS

if TYPE_CHECKING:
    import asyncio

    from pytest_loadtest._engine._users import VirtualUser

__all__ = ["RunContext"]


@final
class RunContext:
    """Clock, deadline, warm-up end, stop and wake events, and the iteration limit of one run.

    ``start_ns``, ``deadline`` and ``warmup_end`` are set by :meth:`begin` when the clock starts.
    ``spawn`` starts one more user thread (the engine's; the open model grows its pool with it).
    """

    __slots__ = (
        "_counter",
        "_on_stop",
        "clock",
        "deadline",
        "ended_at",
        "exhausted",
        "exhausted_at",
        "exited",
        "host_loop",
        "last_exit",
        "limit",
        "poll",
        "share",
        "spawn",
        "start_ns",
        "stop_event",
        "stopping",
        "tick_ns",
        "wake_event",
        "warmup_end",
        "window_ns",
    )

    def __init__(
        self,
        clock: Clock,
        *,
        tick_ns: int,
        window_ns: int,
        poll: float,
        limit: int | None,
        share: Share = WHOLE,
    ) -> None:
        self.clock = clock
        self.share = share  # this process's part of a run spread over several
        self.tick_ns = tick_ns
        self.window_ns = window_ns
        self.poll = poll
        self.limit = limit
        self.start_ns = 0
        self.deadline = 0
        self.warmup_end = 0
        self.stop_event = threading.Event()  # stopping: cuts the main thread's waits short
        self.wake_event = threading.Event()  # stopping or out of iterations: cuts users' sleeps
        self.stopping = False
        self.exhausted = False
        #: the running loop async users run on (``load_runner.arun``: the test's); ``None``: the
        #: engine's loop threads make their own
        self.host_loop: asyncio.AbstractEventLoop | None = None
        # No lock is shared by user threads: with hundreds of threads on one GIL, a contended
        # lock becomes a convoy. Counts are lists appended to (atomic under the GIL).
        self.exited: list[int] = []  # ids of user threads that are done
        self.last_exit = 0  # when the last of them was done
        self.exhausted_at = 0  # when a limited run's last iteration was claimed
        #: when the measured run ended, if before the deadline and before the users stopped
        #: (the last calls of a limited run finished, one hung: see :meth:`settle`); 0 otherwise
        self.ended_at = 0
        self._counter = itertools.count()
        self._on_stop: list[Callable[[], None]] = []
        self.spawn: Callable[[], VirtualUser] = _no_spawn

    def begin(self, start_ns: int, duration: float, warmup: float) -> None:
        """The clock starts now: fix the deadline and the end of warm-up."""
        self.start_ns = start_ns
        self.deadline = start_ns + int(duration * NS)
        self.warmup_end = start_ns + int(warmup * NS)

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the run starts stopping (a driver wakes its waiting users)."""
        self._on_stop.append(callback)

    def stop(self) -> None:
        """Stop the run: every wait on the run's events ends, every user sees ``stopping``."""
        self.stopping = True
        self.stop_event.set()
        self.wake_event.set()
        for callback in self._on_stop:
            callback()

    def claim(self) -> bool:
        """Claim one iteration of a limited run; False when all are taken."""
        if self.limit is not None and next(self._counter) >= self.limit:
            if not self.exhausted:
                self.exhausted_at = self.clock.now_ns()
            self.exhausted = True
            self.wake_event.set()  # users pausing or waiting for their turn need not wait on
            return False
        return True

    def next_check(self, t: int) -> int:
        """The next time a user must look up from its loop, or -1 when the run is over."""
        if self.stopping or t >= self.deadline:
            return -1
        return self._next_boundary(t, self.tick_ns)

    def next_hand_over(self, t: int) -> int:
        """The next time a user must hand its durations over, unless it does sooner: its next
        check in another window (calls handed over together all started in one window, and on
        one side of the end of warm-up)."""
        return self._next_boundary(t, self.window_ns)

    def _next_boundary(self, t: int, step: int) -> int:
        at = min(self.start_ns + ((t - self.start_ns) // step + 1) * step, self.deadline)
        if t < self.warmup_end:
            at = min(at, self.warmup_end)
        return at

    def wait_until(self, condition: Callable[[], bool]) -> None:
        """Poll (the main thread, on the run's clock) until ``condition``, the deadline or
        stopping."""
        clock = self.clock
        while not self.stopping:
            now = clock.now_ns()
            if now >= self.deadline or condition():
                return
            clock.sleep(min(self.poll, (self.deadline - now) / NS), self.stop_event)

    def wait_for_users(
        self, done: Callable[[], bool], last_exit: Callable[[], int], grace: float
    ) -> None:
        """The closed model's main thread: wait for the deadline, or for every user to be
        ``done`` (iterations ran out: then a user hung in a call holds the run ``grace``
        seconds, ``stop_timeout``, at most; see :meth:`settle`)."""
        self.wait_until(lambda: done() or self.exhausted)
        if self.exhausted and not done():
            self.settle(done, last_exit, grace)

    def settle(self, done: Callable[[], bool], last_done: Callable[[], int], grace: float) -> None:
        """A limited run has handed out its last iteration: wait (the main thread) until every
        user is ``done``, or until ``grace`` seconds (``stop_timeout``) passed since the last
        finished (``last_done()``, clock ns) with some still in a call, which are then hung:
        the measured run ended at that last finish (:attr:`ended_at`). The deadline and stopping
        end the wait too."""
        clock = self.clock
        grace_ns = int(grace * NS)
        while not self.stopping:
            now = clock.now_ns()
            if now >= self.deadline or done():
                return
            last = max(last_done(), self.exhausted_at)
            if now - last >= grace_ns:
                self.ended_at = last
                return
            wait = min(self.poll, (self.deadline - now) / NS, (last + grace_ns - now) / NS)
            clock.sleep(max(wait, 0.0), self.stop_event)

    def sleep_until(self, due: int) -> bool:
        """Sleep (a user thread) until ``due``; False if the run ends or runs out first."""
        clock = self.clock
        while (now := clock.now_ns()) < due:
            if self.stopping or self.exhausted:
                return False
            clock.sleep((due - now) / NS, self.wake_event)
        return not (self.stopping or self.exhausted or now >= self.deadline)

    def pause(self, vu: VirtualUser, seconds: float, check_at: int) -> None:
        """Sleep between iterations (think time, pacing), flushing before long pauses."""
        if seconds <= 0:
            return
        t = self.clock.now_ns()
        if t + seconds * NS >= check_at:
            vu.flush(t)  # do not hold durations back through a long pause
        self.clock.sleep(min(seconds, max(0.0, (self.deadline - t) / NS)), self.wake_event)


def _no_spawn() -> VirtualUser:
    raise RuntimeError("this run starts no user threads")
