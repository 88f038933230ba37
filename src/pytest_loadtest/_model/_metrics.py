"""The metrics registry: every figure a verdict or a report names, in one table.

A :class:`Metric` says how to read a figure from a run's (or an operation's) statistics, from one
timeline window when it can be, which direction is better, how to parse a bound of it and how to
show a value of it. The SLA (its keys), recovery times (the per-window metrics), regression checks
(the baseline's metrics) and every report look metrics up here, so that a name means the same
figure everywhere and is shown the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol, final

from pytest_loadtest._model._units import (
    format_latency_ms,
    format_rate,
    parse_fraction,
    parse_growth_rate,
    parse_latency_ms,
    parse_positive_number,
)

__all__ = [
    "FLOOR_PERCENTILES",
    "LATENCY_METRICS",
    "METRICS",
    "NS",
    "Metric",
    "MetricSource",
    "WindowRow",
    "metric",
    "nan_if_none",
    "none_if_nan",
]

#: Nanoseconds per second: the one definition of the project.
NS: Final = 1_000_000_000


def none_if_nan(value: float | None) -> float | None:
    """``None`` for ``nan`` (JSON has no NaN), the value otherwise."""
    # nan is the only value unequal to itself
    return None if value is None or value != value else value


def nan_if_none(value: float | None) -> float:
    """The inverse of :func:`none_if_nan`, for a figure read from JSON: ``nan`` for ``None``."""
    return math.nan if value is None else float(value)


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


def _format_calls_per_second(value: float) -> str:
    return f"{format_rate(value)} calls/s"


def _format_per_second(value: float) -> str:
    return f"{format_rate(value)}/s"


@final
@dataclass(frozen=True, slots=True)
class Metric:
    """One figure: its name, how to read, parse and show it, and which way is better.

    ``unit``: ``"ms"``, ``"fraction"``, ``"calls/s"`` or ``"MB/h"``. ``parse``: a bound of it as
    written in an SLA (``"250ms"``, ``"1%"``, ``"100/s"``, ``"50MB/h"``). ``formatter``: a value
    with its unit; ``short``: the compact form for tables (``1,234/s``), the same when ``None``.
    ``percentile``: the percentile of a ``pNN`` latency, else ``None``. ``higher_is_better``:
    throughput; every other metric is better lower. ``per_window``: how to read it from one
    timeline row and the window's seconds (``None``: not available per window). ``heading``: a
    table column's title (``""``: the name).
    """

    name: str
    unit: str
    read: Callable[[MetricSource], float]
    parse: Callable[[object], float]
    formatter: Callable[[float], str]
    short: Callable[[float], str] | None = None
    percentile: float | None = None
    higher_is_better: bool = False
    per_window: Callable[[WindowRow, float], float] | None = None
    heading: str = ""

    @property
    def is_latency(self) -> bool:
        """True for latencies (milliseconds)."""
        return self.unit == "ms"

    @property
    def is_fraction(self) -> bool:
        """True for rates between 0 and 1 (the error rate), compared in percentage points."""
        return self.unit == "fraction"

    @property
    def title(self) -> str:
        """The column title: ``p95``, ``calls/s``, ``err%``."""
        return self.heading or self.name

    def format(self, value: float) -> str:
        """``value`` with its unit: ``12.3ms``, ``1.50%``, ``1,234 calls/s``; ``-`` for nan."""
        if math.isnan(value):
            return "-"
        return self.formatter(value)

    def format_apart(self, measured: float, limit: float) -> tuple[str, str]:
        """``measured`` and ``limit`` with their unit, given enough digits that two different
        values never read the same (``1.0004s`` against ``1.00s`` after rounding would read
        ``1.00s`` twice): the usual form when it already tells them apart."""
        shown = self.format(measured), self.format(limit)
        if measured == limit or not math.isfinite(measured) or not math.isfinite(limit):
            return shown
        if _reading(shown[0]) != _reading(shown[1]):
            return shown
        scale, unit = _PRECISE_UNITS.get(self.unit, (1.0, f" {self.unit}"))
        if self.is_latency and max(abs(measured), abs(limit)) >= 1000.0:
            scale, unit = 1e-3, "s"
        for digits in range(1, 13):
            shown = (f"{measured * scale:.{digits}f}{unit}", f"{limit * scale:.{digits}f}{unit}")
            if shown[0] != shown[1]:
                break
        return shown

    def format_short(self, value: float) -> str:
        """The compact form for tables: ``12.3ms``, ``1.50%``, ``1,234/s``; ``-`` for nan."""
        if math.isnan(value):
            return "-"
        return (self.short or self.formatter)(value)


# (scale, unit) of the precise form of :meth:`Metric.format_apart`, by :attr:`Metric.unit`
_PRECISE_UNITS: Final[Mapping[str, tuple[float, str]]] = {
    "ms": (1.0, "ms"),
    "fraction": (100.0, "%"),
    "calls/s": (1.0, " calls/s"),
    "MB/h": (1.0, " MB/h"),
}


_READING: Final = re.compile(r"(-?[\d,]*\.?\d+)\s*(µs|ms|s|%)?")
_READING_SCALE: Final[Mapping[str, float]] = {"µs": 1e-3, "ms": 1.0, "s": 1e3, "%": 1.0, "": 1.0}


def _reading(text: str) -> float | str:
    """What a formatted value reads as, in one unit (``1000.0ms`` and ``1.00s`` read the same)."""
    found = _READING.match(text)
    if found is None:
        return text
    return float(found[1].replace(",", "")) * _READING_SCALE[found[2] or ""]


def _latency(name: str, q: float | None, read: Callable[[MetricSource], float]) -> Metric:
    return Metric(
        name,
        "ms",
        read,
        parse_latency_ms,
        format_latency_ms,
        percentile=q,
        per_window=_row_attribute(name) if name in ("p50", "p95", "p99", "max") else None,
    )


def _throughput(name: str) -> Metric:
    return Metric(
        name,
        "calls/s",
        lambda stats: stats.throughput,
        parse_positive_number,
        _format_calls_per_second,
        short=_format_per_second,
        higher_is_better=True,
        per_window=lambda row, window: row.calls / window,
        heading="calls/s",
    )


def _memory_growth(stats: MetricSource) -> float:
    # only a soak result has it: the lower end of the RSS slope's confidence interval
    return float(getattr(stats, "memory_growth", math.nan))


# The order is the order of every list of names shown to users (the SLA's allowed keys).
_ALL: Final[tuple[Metric, ...]] = (
    # the fastest calls: what the code itself costs, the least moved by a busy machine
    _latency("p1", 1.0, _percentile(1.0)),
    _latency("p5", 5.0, _percentile(5.0)),
    _latency("p10", 10.0, _percentile(10.0)),
    _latency("p25", 25.0, _percentile(25.0)),
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
        parse_fraction,
        _format_fraction,
        per_window=lambda row, window: row.errors / row.calls if row.calls else math.nan,
        heading="err%",
    ),
    _throughput("throughput"),
    # the SLA's name for a throughput that must be reached
    _throughput("throughput_min"),
    # of the whole process, not of an operation; only a clear leak counts (see _memory_growth)
    Metric("memory_growth", "MB/h", _memory_growth, parse_growth_rate, _format_growth),
)

#: The percentiles below the median: regression checks of what the code costs when nothing
#: queues (a load's SLA is about its slow calls, so it takes none of them).
FLOOR_PERCENTILES: Final = ("p1", "p5", "p10", "p25")
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
