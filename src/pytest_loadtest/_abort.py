"""Stopping a run early when the SLA stays breached (k6's ``abortOnFail`` with ``delayAbortEval``).

Once per window (one second by default) the collector evaluates the SLA over the last
``abort_window`` of complete windows after warm-up. A breach that lasts longer than
``abort_grace`` stops the run. Percentile targets resting on too few calls in the rolling window
(see :func:`~pytest_loadtest._sla.min_calls_for_percentile`) are not evaluated: a handful of calls
must not abort a stress test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, final

from pytest_loadtest._config import LoadSettings
from pytest_loadtest._latency import CallStatsMixin
from pytest_loadtest._sla import SLA, Breach
from pytest_loadtest._stats import LatencyHistogram

if TYPE_CHECKING:
    from pytest_loadtest._engine import Engine

__all__ = ["Abort", "AbortMonitor"]

NS: Final = 1_000_000_000


@final
@dataclass(frozen=True, slots=True)
class Abort:
    """Why and when a run was stopped early."""

    at: float  # seconds since the start
    since: float  # when the rolling breach began
    grace: float
    window: float
    breaches: tuple[str, ...]

    def message(self, duration: float) -> str:
        """One line saying the run was aborted, when, and on what breach."""
        return (
            f"aborted at {self.at:.1f}s of {duration:g}s (abort_on_breach): the SLA was breached "
            f"over a rolling {self.window:g}s window from {self.since:.1f}s on, for at least the "
            f"grace of {self.grace:g}s: " + "; ".join(self.breaches)
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "at": self.at,
            "since": self.since,
            "grace": self.grace,
            "window": self.window,
            "breaches": list(self.breaches),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Abort:
        """Inverse of :meth:`to_dict`."""
        breaches = data.get("breaches", [])
        return cls(
            at=float(data["at"]),  # type: ignore[arg-type]
            since=float(data["since"]),  # type: ignore[arg-type]
            grace=float(data["grace"]),  # type: ignore[arg-type]
            window=float(data["window"]),  # type: ignore[arg-type]
            breaches=tuple(str(b) for b in breaches) if isinstance(breaches, list) else (),
        )


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

    def observe(self, engine: Engine, now: int) -> bool:
        """Evaluate newly completed windows; True when the run must stop now."""
        recorder = engine.recorder
        tick = engine.tick_ns
        # a window is complete once every user has flushed past its end: allow one tick more
        newest = (now - tick - recorder.start_ns) // recorder.window_ns - 1
        if newest < self.next_window:
            return False
        self.next_window = newest + 1
        first = newest - self.windows + 1
        warm = (
            engine.warmup_end - recorder.start_ns + recorder.window_ns - 1
        ) // recorder.window_ns
        if first < warm or first < 0:
            return False  # the rolling window must lie wholly after warm-up
        breaches = self.evaluate(engine, first, newest)
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

    def evaluate(self, engine: Engine, first: int, last: int) -> list[Breach]:
        """SLA breaches over windows ``first``..``last``, leaving out thin percentiles."""
        merged = engine.recorder.rolling(first, last)
        seconds = (last - first + 1) * self.window_s
        overall = _Rolling(LatencyHistogram(), 0, seconds)
        operations: dict[str, _Rolling] = {}
        for index, (hist, errors) in merged.items():
            record = engine.recorder.operations[index]
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
