"""Results of a load run: :class:`LoadResult` and per-operation :class:`OperationStats`.

Latencies are milliseconds as floats. ``to_dict()`` is JSON-serialisable and carries each
histogram in HDR's encoded form, so ``from_dict()`` rebuilds every statistic exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final

from pytest_loadtest._model._abort import Abort
from pytest_loadtest._model._finding import Finding
from pytest_loadtest._model._latency import CallStatsMixin, LatencyStats
from pytest_loadtest._model._metrics import none_if_nan
from pytest_loadtest._model._recovery import recovery_record, recovery_time
from pytest_loadtest._model._run_checks import run_breaches
from pytest_loadtest._model._sla import SLA, Breach, Check, parse_sla
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._model._timeline import ErrorSample, TimelineRow

__all__ = ["SCHEMA_VERSION", "LatencyStats", "LoadResult", "OperationStats"]

#: Version of the ``to_dict()`` layout; bumped on incompatible change.
SCHEMA_VERSION: Final = 1
#: Fitted RSS growth below which the ``memory_growth`` SLA sees none (allocator noise).
MIN_GROWTH_MB: Final = 5.0


@final
@dataclass(eq=False)
class OperationStats(CallStatsMixin):
    """Statistics of one operation: a task, a callable of a mapping, or a step."""

    name: str
    kind: str  # "task", "step" or "hook"
    histogram: LatencyHistogram
    errors: int
    duration: float
    errors_by_type: dict[str, ErrorSample] = field(default_factory=dict)
    timeline: list[TimelineRow] = field(default_factory=list)
    parent: str | None = None
    service_time: LatencyStats | None = None  # open model: from the actual start

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
            "service_time": self.service_time.to_dict() if self.service_time else None,
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
                k: ErrorSample.from_dict(v) for k, v in data.get("errors_by_type", {}).items()
            },
            timeline=[TimelineRow.from_dict(row) for row in data.get("timeline", [])],
            service_time=LatencyStats.from_dict(data.get("service_time")),
        )


@final
@dataclass(eq=False)
class LoadResult(CallStatsMixin):
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
    model: str = "closed"  # "closed" (users) or "open" (arrival rate)
    dropped: int = 0  # open model: iterations due when every user was busy
    scheduled: int = 0  # open model: iterations due in the run, dropped ones included
    service_time: LatencyStats | None = None  # open model: latency from the actual start
    start_lag: LatencyStats | None = None  # open model: actual minus intended start
    aborted: Abort | None = None  # abort_on_breach stopped the run
    #: what else stopped the run early, figures kept: ``sys.exit()`` in a target, or a bug
    stopped_by: str | None = None
    spike_end: float | None = None  # seconds: end of the descent after the profile's peak
    window: float = 1.0  # seconds per timeline row
    # a find_capacity step ({"search", "by", "load", "held"}): breaches are findings, not failures
    probe: dict[str, Any] | None = None
    resources: dict[str, Any] | None = None  # the resource monitor's samples and summary
    databases: list[dict[str, Any]] = field(default_factory=list)  # each watched engine's stats
    findings: list[Finding] = field(default_factory=list)  # bottlenecks and recommendations
    memory: dict[str, Any] | None = None  # the RSS trend after warm-up (MB/hour, with its CI)
    loop: dict[str, Any] | None = None  # async users: event-loop health (LoopHealth.to_dict)
    #: the last recovery_time() a test asked for (see recovery_record): shown in the reports
    recovery: dict[str, Any] | None = None
    #: this run in the earlier runs of its test, when the test breached and was run again
    #: (``confirm``), oldest first: ``{"calls", "p95", "error_rate", "breaches"}`` each
    #: (breaches as messages; none when that earlier run of it held its SLA)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    regressed: bool = False  # its test failed on a regression against the baseline
    reference_ms: float | None = None  # how fast the machine ran: a reference loop's median time
    reference_cpu_ms: float | None = None  # its least CPU time: the CPU at its best
    #: processes=N: each worker process's part (host, pid, users, calls, CPU, RSS, start skew;
    #: ``lost``: why and when a worker was lost, or None)
    workers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def memory_growth(self) -> float:
        """The RSS growth rate the ``memory_growth`` SLA holds against its limit, MB/hour: the
        lower end of the trend's confidence interval (0 with under 5 MB of fitted growth);
        ``nan`` without a trend (no resource monitor, or too few samples)."""
        if not self.memory:
            return math.nan
        if float(self.memory.get("growth_mb", 0.0)) < MIN_GROWTH_MB:
            return 0.0
        return float(self.memory["low_mb_per_hour"])

    @property
    def memory_trend(self) -> str:
        """The RSS trend in words (for messages)."""
        return str(self.memory.get("text", "")) if self.memory else ""

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
        """Compute the breaches of this result's SLA (and the checks every run gets: see
        :func:`~pytest_loadtest._model._run_checks.run_breaches`)."""
        breaches = run_breaches(self)
        if self.sla is not None:
            min_samples = int(self.settings.get("min_samples") or 0)
            breaches.extend(self.sla.evaluate(self, self.operations, min_samples))
        return breaches

    def recovery_time(
        self,
        sla: object = None,
        *,
        after: float | None = None,
        stable: object = "3s",
        operation: str | None = None,
    ) -> float | None:
        """Seconds from the end of the spike until the per-window figures were back within
        bounds (and stayed there for ``stable``); ``None`` if they never were.

        ``sla``: an SLA mapping (``{"p95": "200ms", "error_rate": "1%"}``), a number (a p95
        limit in ms) or ``None`` for this run's SLA. Windows are the timeline's (1 s); the checks
        available per window are p50, p95, p99, max, error_rate and throughput_min. ``after``:
        when the spike ended, seconds since the start; by default the end of the descent after
        the stage profile's peak (:attr:`spike_end`).
        """
        timelines: dict[str | None, list[TimelineRow]] = {None: self.timeline}
        timelines.update((name, op.timeline) for name, op in self.operations.items())
        seconds = recovery_time(
            timelines,
            window=self.window,
            spike_end=self.spike_end,
            own_sla=self.sla,
            sla=sla,
            after=after,
            stable=stable,
            operation=operation,
        )
        start = self.spike_end if after is None else float(after)
        self.recovery = recovery_record(
            seconds, own_sla=self.sla, sla=sla, start=start, stable=stable
        )
        return seconds

    @property
    def achieved_rate(self) -> float:
        """Open model: iterations started per second over the whole run (0.0 closed)."""
        duration = float(self.settings.get("duration", 0.0) or 0.0)
        started = self.scheduled - self.dropped
        return started / duration if duration > 0 and self.model == "open" else 0.0

    def attempt(self) -> dict[str, Any]:
        """This run in brief, as :attr:`attempts` keeps it when its test is run again."""
        return {
            "calls": self.total,
            "p95": none_if_nan(self.p95),
            "error_rate": self.error_rate,
            "breaches": [breach.message for breach in self.sla_breaches],
        }

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
            "model": self.model,
            "dropped": self.dropped,
            "scheduled": self.scheduled,
            "service_time": self.service_time.to_dict() if self.service_time else None,
            "start_lag": self.start_lag.to_dict() if self.start_lag else None,
            "aborted": self.aborted.to_dict() if self.aborted else None,
            "stopped_by": self.stopped_by,
            "spike_end": self.spike_end,
            "window": self.window,
            "probe": self.probe,
            "resources": self.resources,
            "databases": self.databases,
            "findings": [f.to_dict() for f in self.findings],
            "memory": self.memory,
            "loop": self.loop,
            "recovery": self.recovery,
            "attempts": self.attempts,
            "regressed": self.regressed,
            "reference_ms": self.reference_ms,
            "reference_cpu_ms": self.reference_cpu_ms,
            "workers": self.workers,
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
            timeline=[TimelineRow.from_dict(row) for row in data.get("timeline", [])],
            settings=dict(data.get("settings", {})),
            sla=parse_sla(sla) if sla else None,
            sla_breaches=[Breach.from_dict(b) for b in data.get("sla_breaches", [])],
            hung={str(k): int(v) for k, v in data.get("hung", {}).items()},
            interrupted=bool(data.get("interrupted", False)),
            started_at=float(data.get("started_at", 0.0)),
            users=int(data.get("users", 0)),
            peak_active=int(data.get("peak_active", 0)),
            idle_users=int(data.get("idle_users", 0)),
            cpu_utilisation=float(data.get("cpu_utilisation", 0.0)),
            gil_contention=bool(data.get("gil_contention", False)),
            late_calls=int(data.get("late_calls", 0)),
            model=str(data.get("model", "closed")),
            dropped=int(data.get("dropped", 0)),
            scheduled=int(data.get("scheduled", 0)),
            service_time=LatencyStats.from_dict(data.get("service_time")),
            start_lag=LatencyStats.from_dict(data.get("start_lag")),
            aborted=Abort.from_dict(data["aborted"]) if data.get("aborted") else None,
            stopped_by=str(data["stopped_by"]) if data.get("stopped_by") else None,
            spike_end=None if data.get("spike_end") is None else float(data["spike_end"]),
            window=float(data.get("window", 1.0)),
            probe=dict(data["probe"]) if data.get("probe") else None,
            resources=data.get("resources"),
            databases=list(data.get("databases", [])),
            findings=[Finding.from_dict(f) for f in data.get("findings", [])],
            memory=data.get("memory"),
            loop=data.get("loop"),
            recovery=dict(data["recovery"]) if data.get("recovery") else None,
            attempts=list(data.get("attempts", [])),
            regressed=bool(data.get("regressed", False)),
            reference_ms=float(data["reference_ms"]) if data.get("reference_ms") else None,
            reference_cpu_ms=(
                float(data["reference_cpu_ms"]) if data.get("reference_cpu_ms") else None
            ),
            workers=[dict(w) for w in data.get("workers") or []],
        )
