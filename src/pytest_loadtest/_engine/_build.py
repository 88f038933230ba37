"""Turning a :class:`~pytest_loadtest._engine._record.RunRecord` into a
:class:`~pytest_loadtest._model._result.LoadResult`: statistics per operation, the open model's
service times and start lags, the SLA verdict, and what the watchers saw joined to the timeline
with the detectors' findings."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from pytest_loadtest import _monitor
from pytest_loadtest._engine._open import SERVICE, START_LAG
from pytest_loadtest._model._latency import LatencyStats
from pytest_loadtest._model._metrics import NS
from pytest_loadtest._model._result import LoadResult, OperationStats
from pytest_loadtest._model._stats import LatencyHistogram

if TYPE_CHECKING:
    from pytest_loadtest._engine._record import RunRecord
    from pytest_loadtest._model._loop import LoopHealth
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["build_result", "run_facts"]

#: Users at or above which a busy process is flagged for GIL contention.
GIL_USERS: Final = 32
#: Seconds at the start of a run that leak detection always leaves out.
LEAK_WARMUP_S: Final = 5.0


def build_result(
    record: RunRecord,
    settings: LoadSettings,
    *,
    watched: Mapping[str, Any] | None = None,
    soak: bool = False,
) -> LoadResult:
    """The result of a finished run's ``record`` under its ``settings``; ``watched``: what the
    resource sampler, database watches and allocation tracker saw, by kind."""
    operations: dict[str, OperationStats] = {}
    shadows: dict[tuple[str, str], LatencyHistogram] = {}
    overall = LatencyHistogram()
    errors = 0
    for op in record.operations:
        if op.kind in (SERVICE, START_LAG):
            assert op.parent is not None
            shadows[(op.parent, op.kind)] = op.histogram
            continue
        if op.kind == "task":
            overall.add(op.histogram)
            errors += op.errors
        operations[op.name] = OperationStats(
            name=op.name,
            kind=op.kind,
            parent=op.parent,
            histogram=op.histogram,
            errors=op.errors,
            duration=record.duration,
            errors_by_type=op.errors_by_type,
            timeline=op.timeline,
        )
    service_time = start_lag = None
    figures = record.figures
    if figures.corrected:
        service, lag = LatencyHistogram(), LatencyHistogram()
        for (parent, kind), hist in shadows.items():
            (service if kind == SERVICE else lag).add(hist)
            if kind == SERVICE:
                operations[parent].service_time = LatencyStats(hist)
        service_time, start_lag = LatencyStats(service), LatencyStats(lag)
        window_ns = round(record.window * NS)
        for row in record.timeline:
            row.dropped = figures.dropped_by_window.get(round(row.t * NS) // window_ns, 0)
    users = settings.most_users
    # threads contending for the GIL: a thread per user, or the event loops of async users
    crowd = figures.threads or (users if settings.model == "closed" else figures.peak_active)
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    cpu = record.cpu_utilisation
    profile = settings.profile()
    staged = settings.stages is not None or settings.rate_stages is not None
    result = LoadResult(
        name=record.name,
        histogram=overall,
        errors=errors,
        duration=record.duration,
        operations=operations,
        timeline=record.timeline,
        settings=settings.to_dict(),
        sla=settings.sla,
        hung=record.hung,
        interrupted=record.interrupted,
        started_at=record.started_at,
        users=users,
        peak_active=figures.peak_active,
        idle_users=record.idle_users if settings.model == "closed" else 0,
        cpu_utilisation=cpu,
        gil_contention=bool(gil_enabled and crowd >= GIL_USERS and cpu >= 0.85),
        late_calls=record.late_calls,
        model=settings.model,
        dropped=figures.dropped,
        scheduled=figures.scheduled,
        service_time=service_time,
        start_lag=start_lag,
        aborted=record.aborted,
        stopped_by=record.stopped_by or None,
        spike_end=profile.spike_end() if staged else None,
        window=record.window,
    )
    _monitoring(result, settings, watched or {}, soak, figures.loop)
    result.sla_breaches = result.evaluate_sla()
    return result


def _leak_warmup(settings: LoadSettings) -> float:
    """Seconds at the start that the RSS trend ignores: the warm-up, and at least the first
    :data:`LEAK_WARMUP_S` (caches, imports and pools fill then; that is growth, not a leak)."""
    return max(settings.warmup, LEAK_WARMUP_S)


def _monitoring(
    result: LoadResult,
    settings: LoadSettings,
    watched: Mapping[str, Any],
    soak: bool,
    loop: LoopHealth | None = None,
) -> None:
    """Join resource samples and the event loop's lag to the timeline; the RSS trend; database
    stats; findings."""
    if loop is not None:
        result.loop = loop.to_dict()
        for row in result.timeline:
            row.loop_lag = loop.lag_at(row.t, result.window)
    resources = watched.get("resources")
    databases = watched.get("database", [])
    allocations = watched.get("allocations", [])
    speed = watched.get("speed")
    if speed is not None:
        result.reference_ms, result.reference_cpu_ms = speed.median_ms, speed.cpu_ms
    if resources is not None:
        result.resources = resources.to_dict()
        by_window = resources.by_window(result.window)
        for row in result.timeline:
            sample = by_window.get(row.t)
            if sample is not None:
                row.cpu = sample.cpu_percent
                row.rss_mb = sample.rss_bytes / 1e6
        trend = _monitor.soak_trend(
            resources, duration=result.duration + settings.warmup, warmup_s=_leak_warmup(settings)
        )
        if trend is not None:
            result.memory = {
                "slope_mb_per_hour": trend.slope_mb_per_hour,
                "low_mb_per_hour": trend.low_mb_per_hour,
                "high_mb_per_hour": trend.high_mb_per_hour,
                "confidence": trend.confidence,
                "samples": trend.samples,
                "growth_mb": trend.growth_mb,
                "text": trend.describe(),
            }
    result.databases = [database.to_dict() for database in databases]
    if resources is None and not databases and not allocations and loop is None:
        return
    facts = run_facts(
        result,
        resources=resources,
        databases=databases,
        allocations=allocations,
        soak=soak,
        warmup_s=_leak_warmup(settings),
        loop=loop,
    )
    rules = _monitor.build_rules(settings.detectors) if settings.detectors else None
    result.findings = _monitor.detect(facts, rules)


def run_facts(
    result: LoadResult,
    *,
    resources: Any = None,
    databases: Sequence[Any] = (),
    allocations: Sequence[Any] = (),
    soak: bool = False,
    warmup_s: float = 0.0,
    loop: LoopHealth | None = None,
) -> Any:
    """The detectors' view (a ``RunFacts``) of a result and what its watchers saw."""
    return _monitor.RunFacts(
        duration=result.duration,
        window=result.window,
        timeline=result.timeline,
        operation_calls={name: op.total for name, op in result.operations.items()},
        operation_timelines={name: op.timeline for name, op in result.operations.items()},
        resources=resources,
        databases=databases,
        allocations=allocations,
        soak=soak,
        warmup_s=warmup_s,
        loop=loop,
    )
