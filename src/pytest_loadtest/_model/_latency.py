"""Latency accessors shared by results, operations and lone distributions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, final

from pytest_loadtest._model._metrics import none_if_nan
from pytest_loadtest._model._stats import LatencyHistogram

__all__ = ["CallStatsMixin", "LatencyMixin", "LatencyStats"]


class LatencyMixin:
    """Latency accessors over a ``histogram`` attribute, all in milliseconds."""

    histogram: LatencyHistogram

    def percentile(self, q: float) -> float:
        """Latency at percentile ``q`` (0..100) in ms; ``nan`` when nothing was measured."""
        return self.histogram.percentile_ms(q)

    @property
    def p50(self) -> float:
        """Median latency, ms."""
        return self.percentile(50)

    @property
    def p75(self) -> float:
        """75th percentile, ms."""
        return self.percentile(75)

    @property
    def p90(self) -> float:
        """90th percentile, ms."""
        return self.percentile(90)

    @property
    def p95(self) -> float:
        """95th percentile, ms."""
        return self.percentile(95)

    @property
    def p99(self) -> float:
        """99th percentile, ms."""
        return self.percentile(99)

    @property
    def p999(self) -> float:
        """99.9th percentile, ms."""
        return self.percentile(99.9)

    @property
    def min(self) -> float:
        """Fastest call, ms (exact)."""
        return self.histogram.min_ms

    @property
    def max(self) -> float:
        """Slowest call, ms (exact)."""
        return self.histogram.max_ms

    @property
    def mean(self) -> float:
        """Mean latency, ms (exact)."""
        return self.histogram.mean_ms

    @property
    def stdev(self) -> float:
        """Population standard deviation of latency, ms (exact)."""
        return self.histogram.stdev_ms

    def latency_summary(self) -> dict[str, float | None]:
        """Main latency figures in ms (``None`` where nothing was measured)."""
        ps = self.histogram.percentiles_ms([50, 75, 90, 95, 99, 99.9])
        values = {
            "min": self.min,
            "p50": ps[0],
            "p75": ps[1],
            "p90": ps[2],
            "p95": ps[3],
            "p99": ps[4],
            "p999": ps[5],
            "max": self.max,
            "mean": self.mean,
            "stdev": self.stdev,
        }
        return {k: none_if_nan(v) for k, v in values.items()}


@final
@dataclass(eq=False)
class LatencyStats(LatencyMixin):
    """A latency distribution on its own: the service time or start lag of an open-model run.

    ``p50`` ... ``p999``, ``min``, ``max``, ``mean``, ``stdev`` and ``percentile(q)`` in ms.
    """

    histogram: LatencyHistogram

    @property
    def total(self) -> int:
        """Number of values."""
        return self.histogram.count

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, histogram included."""
        return {"latency_ms": self.latency_summary(), "histogram": self.histogram.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> LatencyStats | None:
        """Inverse of :meth:`to_dict` (``None`` stays ``None``)."""
        if not data:
            return None
        return cls(LatencyHistogram.from_dict(data["histogram"]))


class CallStatsMixin(LatencyMixin):
    """Latencies plus call counts over a ``histogram``, ``errors`` and ``duration`` (seconds)."""

    errors: int
    duration: float

    @property
    def total(self) -> int:
        """Measured calls, failed ones included."""
        return self.histogram.count

    @property
    def error_rate(self) -> float:
        """Failed calls / calls (0.0 when there were no calls)."""
        return self.errors / self.total if self.total else 0.0

    @property
    def throughput(self) -> float:
        """Calls per second over the measured period."""
        return self.total / self.duration if self.duration > 0 else 0.0
