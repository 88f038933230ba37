"""Results of a load run: :class:`LoadResult` and per-operation :class:`OperationStats`.

Latencies are milliseconds as floats. ``to_dict()`` is JSON-serialisable and carries each
histogram in HDR's encoded form, so ``from_dict()`` rebuilds every statistic exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final

from pytest_loadtest._recorder import ErrorSample, TimelineRow
from pytest_loadtest._sla import SLA, Breach, Check, parse_sla
from pytest_loadtest._stats import LatencyHistogram

__all__ = ["SCHEMA_VERSION", "LoadResult", "OperationStats"]

#: Version of the ``to_dict()`` layout; bumped on incompatible change.
SCHEMA_VERSION: Final = 1


class _LatencyMixin:
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
        return {k: None if math.isnan(v) else v for k, v in values.items()}


@final
@dataclass(eq=False)
class OperationStats(_LatencyMixin):
    """Statistics of one operation: a task, a callable of a mapping, or a step."""

    name: str
    kind: str  # "task", "step" or "hook"
    histogram: LatencyHistogram
    errors: int
    duration: float
    errors_by_type: dict[str, ErrorSample] = field(default_factory=dict)
    timeline: list[TimelineRow] = field(default_factory=list)
    parent: str | None = None

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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "kind": self.kind,
            "parent": self.parent,
            "total": self.total,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "throughput": self.throughput,
            "duration": self.duration,
            "latency_ms": self.latency_summary(),
            "errors_by_type": {k: v.to_dict() for k, v in self.errors_by_type.items()},
            "histogram": self.histogram.to_dict(),
            "timeline": [row.to_dict() for row in self.timeline],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OperationStats:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            parent=data.get("parent"),
            histogram=LatencyHistogram.from_dict(data["histogram"]),
            errors=int(data["errors"]),
            duration=float(data["duration"]),
            errors_by_type={
                k: ErrorSample(
                    str(v["type"]), int(v["count"]), str(v["message"]), str(v["traceback"])
                )
                for k, v in data.get("errors_by_type", {}).items()
            },
            timeline=[_row_from_dict(row) for row in data.get("timeline", [])],
        )


def _row_from_dict(row: Mapping[str, Any]) -> TimelineRow:
    def num(key: str) -> float:
        value = row.get(key)
        return math.nan if value is None else float(value)

    return TimelineRow(
        t=float(row["t"]),
        calls=int(row["calls"]),
        errors=int(row["errors"]),
        users=int(row["users"]),
        p50=num("p50"),
        p95=num("p95"),
        p99=num("p99"),
        max=num("max"),
        warmup=bool(row.get("warmup", False)),
    )


def _breach_from_dict(data: Mapping[str, Any]) -> Breach:
    measured = data.get("measured")
    return Breach(
        metric=str(data["metric"]),
        operation=data.get("operation"),
        measured=math.nan if measured is None else float(measured),
        threshold=float(data["threshold"]),
        message=str(data["message"]),
        low_sample=bool(data.get("low_sample", False)),
    )


@final
@dataclass(eq=False)
class LoadResult(_LatencyMixin):
    """Everything measured in one ``load_runner.run()``.

    The top-level figures cover the target's calls (tasks), not its steps; ``operations`` holds
    every task, step and per-user hook by name.
    """

    name: str
    histogram: LatencyHistogram
    errors: int
    duration: float
    operations: dict[str, OperationStats]
    timeline: list[TimelineRow] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    sla: SLA | None = None
    sla_breaches: list[Breach] = field(default_factory=list)
    hung: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False
    started_at: float = 0.0  # wall-clock time.time() at the start
    users: int = 0  # configured virtual users
    peak_active: int = 0  # most users inside their loop at one time
    idle_users: int = 0  # users that finished no iteration (GIL starvation, late ramp slot)
    cpu_utilisation: float = 0.0  # process CPU seconds per wall second
    gil_contention: bool = False
    late_calls: int = 0
    test_id: str = ""

    @property
    def total(self) -> int:
        """Measured calls of the target, failed ones included."""
        return self.histogram.count

    @property
    def error_rate(self) -> float:
        """Failed calls / calls (0.0 when there were no calls)."""
        return self.errors / self.total if self.total else 0.0

    @property
    def throughput(self) -> float:
        """Calls per second over the measured period."""
        return self.total / self.duration if self.duration > 0 else 0.0

    @property
    def errors_by_type(self) -> dict[str, ErrorSample]:
        """Exception class name -> count, first message and traceback, over the target's calls."""
        merged: dict[str, ErrorSample] = {}
        for op in self.operations.values():
            if op.kind == "step":
                continue  # a failing step fails its task too: count it once
            for type_name, sample in op.errors_by_type.items():
                into = merged.setdefault(type_name, ErrorSample(type_name))
                into.count += sample.count
                if not into.message and not into.traceback:
                    into.message, into.traceback = sample.message, sample.traceback
        return merged

    @property
    def passed(self) -> bool:
        """True when no SLA target was breached."""
        return not self.sla_breaches

    def evaluate_sla(self) -> list[Breach]:
        """Compute the breaches of this result's SLA (and the checks every run gets)."""
        breaches: list[Breach] = []
        if self.total == 0:
            breaches.append(
                Breach(
                    "calls",
                    None,
                    0.0,
                    1.0,
                    "no call of the target completed in the measured period",
                )
            )
        if self.hung:
            listed = ", ".join(f"{name} x{count}" for name, count in sorted(self.hung.items()))
            breaches.append(
                Breach(
                    "hung",
                    None,
                    float(sum(self.hung.values())),
                    0.0,
                    "calls still running after stop_timeout (left out of the statistics): "
                    + listed,
                )
            )
        if self.sla is not None:
            breaches.extend(self.sla.evaluate(self, self.operations))
        return breaches

    def low_sample_checks(self) -> list[Check]:
        """SLA percentile targets that rest on too few calls to mean much."""
        return [] if self.sla is None else self.sla.low_sample_checks(self, self.operations)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, histograms included (HDR encoded)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "test_id": self.test_id,
            "started_at": self.started_at,
            "duration": self.duration,
            "users": self.users,
            "peak_active": self.peak_active,
            "idle_users": self.idle_users,
            "total": self.total,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "throughput": self.throughput,
            "latency_ms": self.latency_summary(),
            "passed": self.passed,
            "sla": self.sla.to_dict() if self.sla is not None else None,
            "sla_breaches": [b.to_dict() for b in self.sla_breaches],
            "hung": dict(self.hung),
            "interrupted": self.interrupted,
            "cpu_utilisation": self.cpu_utilisation,
            "gil_contention": self.gil_contention,
            "late_calls": self.late_calls,
            "settings": self.settings,
            "histogram": self.histogram.to_dict(),
            "timeline": [row.to_dict() for row in self.timeline],
            "operations": {name: op.to_dict() for name, op in self.operations.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadResult:
        """Inverse of :meth:`to_dict`; ``ValueError`` for data of another schema version."""
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"unsupported load result schema version {version!r}")
        sla = data.get("sla")
        return cls(
            name=str(data["name"]),
            test_id=str(data.get("test_id", "")),
            histogram=LatencyHistogram.from_dict(data["histogram"]),
            errors=int(data["errors"]),
            duration=float(data["duration"]),
            operations={k: OperationStats.from_dict(v) for k, v in data["operations"].items()},
            timeline=[_row_from_dict(row) for row in data.get("timeline", [])],
            settings=dict(data.get("settings", {})),
            sla=parse_sla(sla) if sla else None,
            sla_breaches=[_breach_from_dict(b) for b in data.get("sla_breaches", [])],
            hung={str(k): int(v) for k, v in data.get("hung", {}).items()},
            interrupted=bool(data.get("interrupted", False)),
            started_at=float(data.get("started_at", 0.0)),
            users=int(data.get("users", 0)),
            peak_active=int(data.get("peak_active", 0)),
            idle_users=int(data.get("idle_users", 0)),
            cpu_utilisation=float(data.get("cpu_utilisation", 0.0)),
            gil_contention=bool(data.get("gil_contention", False)),
            late_calls=int(data.get("late_calls", 0)),
        )
