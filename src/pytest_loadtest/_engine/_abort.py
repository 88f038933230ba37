"""Stopping a run early when the SLA stays breached (k6's ``abortOnFail`` with ``delayAbortEval``).

Once per window (one second by default) the collector evaluates the SLA over the last
``abort_window`` of complete windows after warm-up. A breach that lasts longer than
``abort_grace`` stops the run. Percentile targets resting on too few calls in the rolling window
(see :func:`~pytest_loadtest._model._sla.min_calls_for_percentile`) are not evaluated: a
handful of calls must not abort a stress test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import final

from pytest_loadtest._engine._recorder import Recorder
from pytest_loadtest._model._abort import Abort
from pytest_loadtest._model._latency import CallStatsMixin
from pytest_loadtest._model._metrics import NS
from pytest_loadtest._model._sla import SLA, Breach
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["AbortMonitor"]


@final
@dataclass(eq=False)
class _Rolling(CallStatsMixin):
    """What an SLA check reads, over a rolling window of ``duration`` seconds."""

    histogram: LatencyHistogram
    errors: int
    duration: float


@final
@dataclass(eq=False)
class AbortMonitor:
    """Evaluates the SLA over rolling windows; says when to abort."""

    sla: SLA
    windows: int  # rolling window length, in recorder windows
    grace: float
    window_s: float
    breach_since: float | None = None
    next_window: int = 0  # the first window not yet evaluated as the newest complete one
    result: Abort | None = field(default=None)

    @classmethod
    def create(cls, settings: LoadSettings, window_ns: int) -> AbortMonitor | None:
        """A monitor when ``abort_on_breach`` is on and there is an SLA; else ``None``."""
        if not settings.abort_on_breach or settings.sla is None:
            return None
        windows = max(1, round(settings.abort_window * NS / window_ns))
        return cls(settings.sla, windows, settings.abort_grace, window_ns / NS)

    def observe(self, recorder: Recorder, tick_ns: int, warmup_end: int, now: int) -> bool:
        """Evaluate newly completed windows; True when the run must stop now.

        Users hand their calls over at every tick (``tick_ns``); windows before ``warmup_end``
        are never evaluated."""
        tick = tick_ns
        # a window is complete once every user has flushed past its end: allow one tick more
        newest = (now - tick - recorder.start_ns) // recorder.window_ns - 1
        if newest < self.next_window:
            return False
        self.next_window = newest + 1
        first = newest - self.windows + 1
        warm = (warmup_end - recorder.start_ns + recorder.window_ns - 1) // recorder.window_ns
        if first < warm or first < 0:
            return False  # the rolling window must lie wholly after warm-up
        breaches = self.evaluate(recorder, first, newest)
        t = (now - recorder.start_ns) / NS
        if not breaches:
            self.breach_since = None
            return False
        end_of_newest = (newest + 1) * self.window_s
        since = end_of_newest if self.breach_since is None else self.breach_since
        self.breach_since = since
        if end_of_newest - since < self.grace:
            return False
        self.result = Abort(
            at=t,
            since=since,
            grace=self.grace,
            window=self.windows * self.window_s,
            breaches=tuple(b.message for b in breaches),
        )
        return True

    def evaluate(self, recorder: Recorder, first: int, last: int) -> list[Breach]:
        """SLA breaches over windows ``first``..``last``, leaving out thin percentiles."""
        merged = recorder.rolling(first, last)
        seconds = (last - first + 1) * self.window_s
        overall = _Rolling(LatencyHistogram(), 0, seconds)
        operations: dict[str, _Rolling] = {}
        for index, (hist, errors) in merged.items():
            record = recorder.operations[index]
            if record.kind == "task":
                overall.histogram.add(hist)
                overall.errors += errors
            if record.kind in ("task", "step"):
                operations[record.name] = _Rolling(hist, errors, seconds)
        return [
            b
            for b in self.sla.evaluate(overall, operations)
            if not b.low_sample and not math.isnan(b.measured)
        ]
