"""The metrics registry: every figure a verdict or a report names, in one table.

A :class:`Metric` says how to read a figure from a run's (or an operation's) statistics, from one
timeline window when it can be, which direction is better, and how to show a value of it. The
SLA (its keys), recovery times (the per-window metrics), regression checks (the baseline's
metrics) and every report look metrics up here, so that a name means the same figure everywhere
and is shown the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol, final

from pytest_loadtest._model._units import format_latency_ms, format_rate

__all__ = [
    "LATENCY_METRICS",
    "METRICS",
    "NS",
    "Metric",
    "MetricSource",
    "WindowRow",
    "metric",
    "none_if_nan",
]

#: Nanoseconds per second: the one definition of the project.
NS: Final = 1_000_000_000


def none_if_nan(value: float | None) -> float | None:
    """``None`` for ``nan`` (JSON has no NaN), the value otherwise."""
    return None if value is None or value != value else value


class MetricSource(Protocol):
    """What a metric reads: the statistics of a whole run or of one operation."""

    @property
    def total(self) -> int: ...

    @property
    def error_rate(self) -> float: ...

    @property
    def throughput(self) -> float: ...

    @property
    def mean(self) -> float: ...

    @property
    def max(self) -> float: ...

    def percentile(self, q: float) -> float: ...


class WindowRow(Protocol):
    """What a per-window metric reads: one timeline row."""

    calls: int
    errors: int
    p50: float
    p95: float
    p99: float
    max: float


def _percentile(q: float) -> Callable[[MetricSource], float]:
    return lambda stats: stats.percentile(q)


def _row_attribute(name: str) -> Callable[[WindowRow, float], float]:
    return lambda row, window: float(getattr(row, name))


def _format_fraction(value: float) -> str:
    return f"{value * 100:.2f}%"


def _format_growth(value: float) -> str:
    return f"{value:.1f} MB/h"


@final
@dataclass(frozen=True, slots=True)
class Metric:
    """One figure: its name, how to read it and how to show it.

    ``percentile``: the percentile of a ``pNN`` latency, else ``None``. ``higher_is_better``:
    throughput; every other metric is better lower. ``per_window``: how to read it from one
    timeline row (``None``: not available per window).
    """

    name: str
    unit: str  # "ms", "fraction", "calls/s" or "MB/h"
    read: Callable[[MetricSource], float]
    formatter: Callable[[float], str]
    percentile: float | None = None
    higher_is_better: bool = False
    per_window: Callable[[WindowRow, float], float] | None = None

    @property
    def is_latency(self) -> bool:
        """True for latencies (milliseconds)."""
        return self.unit == "ms"

    def format(self, value: float) -> str:
        """``value`` with its unit: ``12.3ms``, ``1.50%``, ``1,234 calls/s``; ``-`` for nan."""
        if math.isnan(value):
            return "-"
        return self.formatter(value)


def _latency(name: str, q: float | None, read: Callable[[MetricSource], float]) -> Metric:
    return Metric(
        name,
        "ms",
        read,
        format_latency_ms,
        percentile=q,
        per_window=_row_attribute(name) if name in ("p50", "p95", "p99", "max") else None,
    )


_ALL: Final[tuple[Metric, ...]] = (
    _latency("p50", 50.0, _percentile(50.0)),
    _latency("p75", 75.0, _percentile(75.0)),
    _latency("p90", 90.0, _percentile(90.0)),
    _latency("p95", 95.0, _percentile(95.0)),
    _latency("p99", 99.0, _percentile(99.0)),
    _latency("p99.9", 99.9, _percentile(99.9)),
    _latency("max", None, lambda stats: stats.max),
    _latency("mean", None, lambda stats: stats.mean),
    Metric(
        "error_rate",
        "fraction",
        lambda stats: stats.error_rate,
        _format_fraction,
        per_window=lambda row, window: row.errors / row.calls if row.calls else math.nan,
    ),
    Metric(
        "throughput",
        "calls/s",
        lambda stats: stats.throughput,
        lambda value: f"{format_rate(value)} calls/s",
        higher_is_better=True,
        per_window=lambda row, window: row.calls / window,
    ),
    # the SLA's name for a throughput that must be reached
    Metric(
        "throughput_min",
        "calls/s",
        lambda stats: stats.throughput,
        lambda value: f"{format_rate(value)} calls/s",
        higher_is_better=True,
        per_window=lambda row, window: row.calls / window,
    ),
    # the lower end of the RSS slope's confidence interval: only a clear leak counts
    Metric(
        "memory_growth",
        "MB/h",
        lambda stats: float(getattr(stats, "memory_growth", math.nan)),
        _format_growth,
    ),
)

#: Every metric by name.
METRICS: Final[Mapping[str, Metric]] = {m.name: m for m in _ALL}
#: Latency metrics and their percentile (``None``: not a percentile), in display order.
LATENCY_METRICS: Final[Mapping[str, float | None]] = {
    m.name: m.percentile for m in _ALL if m.is_latency
}


def metric(name: str) -> Metric:
    """The metric called ``name``; ``KeyError`` naming the known ones otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r} (known: {', '.join(METRICS)})") from None
