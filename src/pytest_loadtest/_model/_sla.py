"""Service-level agreements: parsed from a mapping, evaluated against measured statistics.

``{"p95": 200, "p99": "500ms", "error_rate": "1%", "throughput_min": 100,
"operations": {"create": {"p95": "300ms"}}}``
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, final

from pytest_loadtest._model._metrics import (
    FLOOR_PERCENTILES,
    METRICS,
    Metric,
    MetricSource,
    nan_if_none,
    none_if_nan,
)
from pytest_loadtest._model._text import operation_label

__all__ = [
    "SLA",
    "SLA_KEYS",
    "Breach",
    "Check",
    "MeasuredStats",
    "min_calls_for_percentile",
    "parse_sla",
]

#: The keys an SLA may hold, in the order error messages list them: every metric but
#: ``throughput``, whose floor the SLA calls ``throughput_min``, and the percentiles below the
#: median, which only regression checks take.
SLA_KEYS: Final = tuple(
    name for name in METRICS if name != "throughput" and name not in FLOOR_PERCENTILES
)
#: Calls needed beyond a percentile for it to say something: p99 needs 1,000 calls.
TAIL_CALLS: Final = 10

#: What a check reads: the statistics of a whole run or of one operation.
MeasuredStats = MetricSource


def min_calls_for_percentile(percentile: float) -> int:
    """Fewest calls for which ``percentile`` rests on at least :data:`TAIL_CALLS` calls beyond it:
    above it for p50 and up (p99: 1,000), below it under the median (p5: 200)."""
    tail = min(percentile, 100.0 - percentile) / 100.0
    # round first: 1 - 0.999 is not exactly 0.001 in binary, and ceil would add one
    return math.ceil(round(TAIL_CALLS / tail, 6)) if tail > 0 else 1


@final
@dataclass(frozen=True, slots=True)
class Breach:
    """One SLA target that was missed."""

    metric: str
    operation: str | None
    measured: float
    threshold: float
    message: str
    #: a percentile missed on fewer calls than it needs to mean much (p95: 200, p99: 1,000)
    low_sample: bool = False
    #: a percentile target on fewer calls than ``min_samples`` requires: no verdict on its value
    inconclusive: bool = False

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "metric": self.metric,
            "operation": self.operation,
            "measured": none_if_nan(self.measured),
            "threshold": self.threshold,
            "message": self.message,
            "low_sample": self.low_sample,
            "inconclusive": self.inconclusive,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Breach:
        """Inverse of :meth:`to_dict`."""
        return cls(
            metric=str(data["metric"]),
            operation=data.get("operation"),
            measured=nan_if_none(data.get("measured")),
            threshold=float(data["threshold"]),
            message=str(data["message"]),
            low_sample=bool(data.get("low_sample", False)),
            inconclusive=bool(data.get("inconclusive", False)),
        )


@final
@dataclass(frozen=True, slots=True)
class Check:
    """One target: ``metric`` of ``operation`` (``None``: all calls) against ``threshold``.

    Latencies are in milliseconds and must not exceed the threshold; ``error_rate`` is a fraction
    that must not exceed it; ``throughput_min`` is calls/s that must be reached.
    """

    metric: str
    threshold: float
    operation: str | None = None

    @property
    def definition(self) -> Metric:
        """The registry's entry for :attr:`metric`."""
        return METRICS[self.metric]

    def measure(self, stats: MeasuredStats) -> float:
        """The measured value this check compares."""
        return self.definition.read(stats)

    def passed(self, measured: float) -> bool:
        """True when ``measured`` meets the target."""
        if self.definition.higher_is_better:
            return measured >= self.threshold
        if self.metric == "memory_growth" and math.isnan(measured):
            return True  # too few samples to fit a trend: nothing to hold against the run
        return measured <= self.threshold

    def low_sample(self, stats: MeasuredStats) -> bool:
        """True when a percentile target rests on too few calls to mean much."""
        percentile = self.definition.percentile
        return percentile is not None and stats.total < min_calls_for_percentile(percentile)

    def format(self, value: float) -> str:
        """A value of this check's metric, with its unit."""
        return self.definition.format(value)

    def evaluate(self, stats: MeasuredStats, min_samples: int = 0) -> Breach | None:
        """A :class:`Breach` if the target is missed, else ``None``.

        ``min_samples``: fewest calls a percentile target must rest on; on fewer, the target is
        *inconclusive* (a breach whatever its value, saying so). A percentile missed on fewer
        calls than it needs to mean much (:func:`min_calls_for_percentile`) is a *low-sample*
        breach: still a breach, its message saying what it rests on."""
        measured = self.measure(stats)
        where = self._where(stats)
        shown, limit = self.definition.format_apart(measured, self.threshold)
        percentile = self.definition.percentile
        if percentile is not None and stats.total < min_samples:
            verdict = "met" if self.passed(measured) else "missed"
            message = (
                f"inconclusive: {self.metric} of {where} rests on {stats.total:,} calls "
                f"(< {min_samples:,}, min_samples): {shown} {verdict} the limit {limit}, on too "
                "few calls to judge; run longer or with more users, or lower min_samples"
            )
            return Breach(
                self.metric,
                self.operation,
                measured,
                self.threshold,
                message,
                low_sample=True,
                inconclusive=True,
            )
        if self.passed(measured):
            return None
        relation = "below the minimum" if self.definition.higher_is_better else "above the limit"
        message = f"{self.metric} of {where} was {shown}, {relation} {limit}"
        if self.metric == "memory_growth":
            trend = getattr(stats, "memory_trend", "")
            message = (
                f"memory grew faster than {self.format(self.threshold)}: RSS {trend} (the "
                f"whole confidence interval is above the limit)"
            )
        low = self.low_sample(stats)
        if low:
            assert percentile is not None
            message = (
                f"low sample: {message}; {self.metric} rests on {stats.total:,} calls "
                f"(< {min_calls_for_percentile(percentile):,}: too few for a {self.metric} to "
                "mean much; run longer or with more users)"
            )
        return Breach(self.metric, self.operation, measured, self.threshold, message, low)

    def _where(self, stats: MeasuredStats) -> str:
        kind = getattr(stats, "kind", None)  # an operation's: "login (hook)" as everywhere
        if self.operation:
            return f"operation {operation_label(self.operation, kind)}"
        return "all operations"

    def describe(self) -> str:
        """``p95 <= 200.0ms`` style description."""
        relation = ">=" if self.definition.higher_is_better else "<="
        scope = f"{self.operation}." if self.operation else ""
        return f"{scope}{self.metric} {relation} {self.format(self.threshold)}"


@final
@dataclass(frozen=True, slots=True)
class SLA:
    """A set of checks."""

    checks: tuple[Check, ...]

    def operations(self) -> set[str]:
        """Operation names that have their own targets."""
        return {c.operation for c in self.checks if c.operation is not None}

    def evaluate(
        self,
        overall: MeasuredStats,
        operations: Mapping[str, MeasuredStats],
        min_samples: int = 0,
    ) -> list[Breach]:
        """Every breach, overall targets first; an operation that never ran is a breach too.
        ``min_samples``: see :meth:`Check.evaluate`."""
        breaches: list[Breach] = []
        for check in self.checks:
            if check.operation is None:
                stats: MeasuredStats | None = overall
            else:
                stats = operations.get(check.operation)
            if stats is None:
                known = ", ".join(sorted(operations)) or "none"
                breaches.append(
                    Breach(
                        check.metric,
                        check.operation,
                        math.nan,
                        check.threshold,
                        f"operation {check.operation!r} named in the SLA never ran "
                        f"(operations: {known})",
                    )
                )
                continue
            breach = check.evaluate(stats, min_samples)
            if breach is not None:
                breaches.append(breach)
        return breaches

    def low_sample_checks(
        self, overall: MeasuredStats, operations: Mapping[str, MeasuredStats]
    ) -> list[Check]:
        """Percentile checks that rest on too few calls, breached or not."""
        flagged = []
        for check in self.checks:
            stats = overall if check.operation is None else operations.get(check.operation)
            if stats is not None and check.low_sample(stats):
                flagged.append(check)
        return flagged

    def to_dict(self) -> dict[str, object]:
        """Back to the mapping form, thresholds in ms, fractions and calls/s."""
        out: dict[str, object] = {}
        per_op: dict[str, dict[str, float]] = {}
        for check in self.checks:
            if check.operation is None:
                out[check.metric] = check.threshold
            else:
                per_op.setdefault(check.operation, {})[check.metric] = check.threshold
        if per_op:
            out["operations"] = per_op
        return out


def _parse_targets(spec: Mapping[object, object], operation: str | None, where: str) -> list[Check]:
    checks = []
    for key, raw in spec.items():
        if key == "operations" and operation is None:
            continue
        if not isinstance(key, str) or key not in SLA_KEYS:
            allowed = ", ".join([*SLA_KEYS, "operations"])
            raise ValueError(f"unknown SLA key {key!r}{where} (allowed: {allowed})")
        try:
            if key == "memory_growth" and operation is not None:
                raise ValueError("memory_growth is of the whole process, not of an operation")
            threshold = METRICS[key].parse(raw)
        except ValueError as exc:
            raise ValueError(f"SLA {key}{where}: {exc}") from None
        checks.append(Check(key, threshold, operation))
    return checks


def parse_sla(spec: object) -> SLA:
    """Parse an SLA mapping; ``ValueError`` names the bad key or value."""
    if isinstance(spec, SLA):
        return spec
    if not isinstance(spec, Mapping):
        raise ValueError(f"SLA must be a mapping like {{'p95': 200}}, got {spec!r}")
    checks = _parse_targets(spec, None, "")
    per_op = spec.get("operations", {})
    if not isinstance(per_op, Mapping):
        raise ValueError(f"SLA 'operations' must map operation names to targets, got {per_op!r}")
    for name, targets in per_op.items():
        if not isinstance(targets, Mapping):
            raise ValueError(
                f"SLA targets of operation {name!r} must be a mapping, got {targets!r}"
            )
        checks.extend(_parse_targets(targets, str(name), f" of operation {name!r}"))
    return SLA(tuple(checks))
