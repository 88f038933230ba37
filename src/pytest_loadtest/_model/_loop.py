"""Health of the event loop that async users share: plain data.

A probe on the loop asks to wake every ``interval_ms`` and notes how late it woke (the loop's
*lag*: how long ready work kept the loop from running a due callback). Each step of a target's
coroutine (from resuming it to its next suspension) that held the loop for at least
``step_floor_ms`` is a *blocking step*; the part of each late wake-up that such steps overlap is
the lag the target caused (``blamed``). Lag from the harness itself (handing durations over,
the collector thread's use of the GIL) happens outside the target's steps, so it shows in
``lag_*`` but never in ``blamed_*``.

:class:`LoopHealth` holds the summary of one loop (or, merged, of the worst loop of several):
lag and blamed lag percentiles, the worst lag of each timeline window, and each operation's
blocking steps (:class:`BlockingSteps`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, final

__all__ = ["BlockingSteps", "LoopHealth", "percentile"]

#: The largest blamed lags kept (``LoopHealth.blamed_top``): how often the target's steps held
#: the loop long, whatever a detector's threshold.
TOP: Final = 20


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` percentile (0..100) of ``values`` by nearest rank; ``nan`` when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


@final
@dataclass(slots=True)
class BlockingSteps:
    """The steps of one operation that held the loop for at least the floor: how many, their
    total and the longest, in ms."""

    steps: int = 0
    total_ms: float = 0.0
    longest_ms: float = 0.0

    def add(self, other: BlockingSteps) -> None:
        """Count ``other``'s steps in too."""
        self.steps += other.steps
        self.total_ms += other.total_ms
        self.longest_ms = max(self.longest_ms, other.longest_ms)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"steps": self.steps, "total_ms": self.total_ms, "longest_ms": self.longest_ms}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BlockingSteps:
        """Inverse of :meth:`to_dict`."""
        return cls(int(data["steps"]), float(data["total_ms"]), float(data["longest_ms"]))


@final
@dataclass(slots=True)
class LoopHealth:
    """What the lag probe and the step timer saw on one event loop (ms throughout).

    ``wakes``: probe wake-ups; ``lag_*``: how late they were; ``blamed_*``: the part of each
    lag that the target's blocking steps overlapped (0 for a wake-up whose lag they did not
    cause); ``blamed_top``: the largest blamed lags (at most :data:`TOP`), largest first.
    ``windows``: the worst lag of each timeline window, by window index.
    ``operations``: blocking steps by operation. ``loops``: loops summarised (merged: the worst
    loop's figures).
    """

    interval_ms: float
    step_floor_ms: float
    wakes: int = 0
    lag_p50: float = math.nan
    lag_p99: float = math.nan
    lag_max: float = math.nan
    blamed_p99: float = math.nan
    blamed_max: float = math.nan
    blamed_top: list[float] = field(default_factory=list)
    windows: dict[int, float] = field(default_factory=dict)
    operations: dict[str, BlockingSteps] = field(default_factory=dict)
    loops: int = 1

    @classmethod
    def of(
        cls,
        lags_ms: Sequence[float],
        blamed_ms: Sequence[float],
        *,
        interval_ms: float,
        step_floor_ms: float,
        windows: Mapping[int, float] | None = None,
        operations: Mapping[str, BlockingSteps] | None = None,
    ) -> LoopHealth:
        """The summary of each wake-up's lag and blamed lag (two lists of the same length)."""
        return cls(
            interval_ms=interval_ms,
            step_floor_ms=step_floor_ms,
            wakes=len(lags_ms),
            lag_p50=percentile(lags_ms, 50),
            lag_p99=percentile(lags_ms, 99),
            lag_max=max(lags_ms, default=math.nan),
            blamed_p99=percentile(blamed_ms, 99),
            blamed_max=max(blamed_ms, default=math.nan),
            blamed_top=_top(blamed_ms),
            windows=dict(windows or {}),
            operations=dict(operations or {}),
        )

    @classmethod
    def merge(cls, parts: Sequence[LoopHealth]) -> LoopHealth | None:
        """Several loops as one: the worst loop's lag figures (lag is a loop's own: averaging
        would hide the blocked one), each window's worst lag, blocking steps added up."""
        if not parts:
            return None
        worst = max(parts, key=lambda h: _finite(h.lag_p99))
        windows: dict[int, float] = {}
        operations: dict[str, BlockingSteps] = {}
        for part in parts:
            for index, lag in part.windows.items():
                windows[index] = max(windows.get(index, -math.inf), lag)
            for name, steps in part.operations.items():
                operations.setdefault(name, BlockingSteps()).add(steps)
        return cls(
            interval_ms=worst.interval_ms,
            step_floor_ms=worst.step_floor_ms,
            wakes=sum(p.wakes for p in parts),
            lag_p50=worst.lag_p50,
            lag_p99=worst.lag_p99,
            lag_max=_worst(p.lag_max for p in parts),
            blamed_p99=_worst(p.blamed_p99 for p in parts),
            blamed_max=_worst(p.blamed_max for p in parts),
            blamed_top=_top([lag for p in parts for lag in p.blamed_top]),
            windows=windows,
            operations=operations,
            loops=sum(p.loops for p in parts),
        )

    def lag_at(self, t: float, window: float) -> float:
        """The worst lag of the timeline window starting at ``t`` seconds; ``nan`` if none."""
        return self.windows.get(round(t / window), math.nan)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``None`` for a figure without wake-ups)."""
        return {
            "interval_ms": self.interval_ms,
            "step_floor_ms": self.step_floor_ms,
            "wakes": self.wakes,
            **{
                key: None if math.isnan(value) else value
                for key, value in (
                    ("lag_p50", self.lag_p50),
                    ("lag_p99", self.lag_p99),
                    ("lag_max", self.lag_max),
                    ("blamed_p99", self.blamed_p99),
                    ("blamed_max", self.blamed_max),
                )
            },
            "blamed_top": list(self.blamed_top),
            "windows": {str(k): v for k, v in self.windows.items()},
            "operations": {name: s.to_dict() for name, s in self.operations.items()},
            "loops": self.loops,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoopHealth:
        """Inverse of :meth:`to_dict`."""

        def figure(key: str) -> float:
            value = data.get(key)
            return math.nan if value is None else float(value)

        return cls(
            interval_ms=float(data["interval_ms"]),
            step_floor_ms=float(data["step_floor_ms"]),
            wakes=int(data.get("wakes", 0)),
            lag_p50=figure("lag_p50"),
            lag_p99=figure("lag_p99"),
            lag_max=figure("lag_max"),
            blamed_p99=figure("blamed_p99"),
            blamed_max=figure("blamed_max"),
            blamed_top=[float(v) for v in data.get("blamed_top") or ()],
            windows={int(k): float(v) for k, v in (data.get("windows") or {}).items()},
            operations={
                str(name): BlockingSteps.from_dict(s)
                for name, s in (data.get("operations") or {}).items()
            },
            loops=int(data.get("loops", 1)),
        )


def _top(values: Sequence[float]) -> list[float]:
    """The :data:`TOP` largest of ``values`` above 0, largest first."""
    return sorted((v for v in values if v > 0), reverse=True)[:TOP]


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -math.inf


def _worst(values: Iterable[float]) -> float:
    worst = max((_finite(v) for v in values), default=-math.inf)
    return worst if math.isfinite(worst) else math.nan
