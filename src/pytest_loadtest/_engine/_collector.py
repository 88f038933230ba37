"""The collector thread: every tick it folds what the users handed over, evaluates the abort rule
and shows progress. Nothing here runs on a user's thread."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, final

from pytest_loadtest._model._metrics import NS
from pytest_loadtest._model._progress import ProgressSnapshot
from pytest_loadtest._model._stats import LatencyHistogram

if TYPE_CHECKING:
    from pytest_loadtest._engine._abort import AbortMonitor
    from pytest_loadtest._engine._context import RunContext
    from pytest_loadtest._engine._recorder import Recorder
    from pytest_loadtest._model._progress import Progress

__all__ = ["Collector"]


@final
class Collector:
    """Drains the recorder every tick; stops the run when the abort monitor says so; updates
    the progress printer. ``active`` counts the users running now; ``name``, ``total`` (planned
    seconds), ``users`` and ``iterations_total`` label the progress line."""

    def __init__(
        self,
        context: RunContext,
        recorder: Recorder,
        *,
        active: Callable[[], int],
        abort: AbortMonitor | None = None,
        progress: Progress | None = None,
        name: str = "",
        total: float | None = None,
        users: int | None = None,
        iterations_total: int | None = None,
    ) -> None:
        self.context = context
        self.recorder = recorder
        self.active = active
        self.abort = abort
        self.progress = progress
        self.name = name
        self.total = total
        self.users = users
        self.iterations_total = iterations_total
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="loadtest-collector", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self.recorder.collecting = True  # users over the backlog limit now wait for it
        try:
            self._thread.start()
        except BaseException:
            self.recorder.stop_collecting()
            raise

    def stop(self) -> None:
        """Stop the thread and wait for it (its last tick finishes)."""
        self._stop.set()
        self.recorder.wanted.set()
        if self._thread.ident is not None:  # started (start() itself may have failed)
            self._thread.join()

    def _loop(self) -> None:
        try:
            self._ticks()
        finally:  # stopped, or failed: users fold their own backlogs from now on
            self.recorder.stop_collecting()

    def _ticks(self) -> None:
        context, recorder, abort, progress = self.context, self.recorder, self.abort, self.progress
        tick = context.tick_ns / NS
        next_tick = time.monotonic() + tick
        while True:
            # sleep until the next tick, or until a user waits for its backlog to be folded
            if recorder.wanted.wait(max(0.0, next_tick - time.monotonic())):
                recorder.wanted.clear()
            if self._stop.is_set():
                return
            now = context.clock.now_ns()
            recorder.drain(now)
            if time.monotonic() < next_tick:
                continue  # a drain asked for between ticks
            next_tick = max(next_tick + tick, time.monotonic())
            if (
                abort is not None
                and not context.stopping
                and abort.observe(recorder, context.tick_ns, context.warmup_end, now)
            ):
                context.stop()
            if progress is not None and not context.stopping and progress.due():
                progress.update(self.snapshot(now))

    def snapshot(self, now: int) -> ProgressSnapshot:
        """Where the run is: elapsed time, active users, and over the last second or so (the
        last complete window and what has been handed over of the current one) calls/s, error
        rate and p95. For live progress."""
        recorder = self.recorder
        flushed = now - self.context.tick_ns - recorder.start_ns  # users hand over every tick
        current = max(flushed, 0) // recorder.window_ns
        first = max(current - 1, 0)
        span = (flushed - first * recorder.window_ns) / NS
        hist, errors = LatencyHistogram(), 0
        if span > 0:
            for index, (part, part_errors) in recorder.rolling(first, current).items():
                if recorder.operations[index].kind == "task":
                    hist.add(part)
                    errors += part_errors
        return ProgressSnapshot(
            elapsed=(now - self.context.start_ns) / NS,
            total=self.total,
            active_users=self.active(),
            calls_per_s=hist.count / span if span > 0 else 0.0,
            error_rate=errors / hist.count if hist.count else 0.0,
            p95_ms=hist.percentile_ms(95) if hist.count else math.nan,
            name=self.name,
            users=self.users,
            iterations_total=self.iterations_total,
        )
