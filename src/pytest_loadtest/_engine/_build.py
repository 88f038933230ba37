"""Turning what an engine recorded into a :class:`~pytest_loadtest._model._result.LoadResult`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from pytest_loadtest._engine._open import SERVICE, START_LAG, OpenDriver
from pytest_loadtest._model._result import LatencyStats, LoadResult, OperationStats
from pytest_loadtest._model._stats import LatencyHistogram

if TYPE_CHECKING:
    from pytest_loadtest._engine._engine import Engine

__all__ = ["build_result", "run_facts"]

NS: Final = 1_000_000_000
#: Users at or above which a busy process is flagged for GIL contention.
GIL_USERS: Final = 32
#: Seconds at the start of a run that leak detection always leaves out.
LEAK_WARMUP_S: Final = 5.0


def build_result(
    engine: Engine, end: int, hung: dict[str, int], idle: int, wall_start: float, cpu: float
) -> LoadResult:
    """The result of a finished run of ``engine``."""
    recorder, settings = engine.recorder, engine.settings
    measured = max(0.0, (end - max(engine.start_ns, engine.warmup_end)) / NS)
    operations: dict[str, OperationStats] = {}
    shadows: dict[tuple[str, str], LatencyHistogram] = {}
    for record in recorder.operations:
        if record.kind in (SERVICE, START_LAG):
            assert record.parent is not None
            shadows[(record.parent, record.kind)] = record.histogram
            continue
        operations[record.name] = OperationStats(
            name=record.name,
            kind=record.kind,
            parent=record.parent,
            histogram=record.histogram,
            errors=record.errors,
            duration=measured,
            errors_by_type=record.errors_by_type,
            timeline=record.timeline,
        )
    service_time = start_lag = None
    dropped = scheduled = 0
    driver = engine.driver
    if isinstance(driver, OpenDriver):
        service, lag = LatencyHistogram(), LatencyHistogram()
        for (parent, kind), hist in shadows.items():
            (service if kind == SERVICE else lag).add(hist)
            if kind == SERVICE:
                operations[parent].service_time = LatencyStats(hist)
        service_time, start_lag = LatencyStats(service), LatencyStats(lag)
        driver.finish()
        dropped, scheduled = driver.dropped, driver.scheduled
        for row in recorder.timeline:
            row.dropped = driver.dropped_by_window.get(round(row.t * NS) // engine.window_ns, 0)
    users = settings.max_users if settings.model == "open" else settings.peak_users
    crowd = users if settings.model == "closed" else engine.peak_active
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    profile = settings.profile()
    staged = settings.stages is not None or settings.rate_stages is not None
    result = LoadResult(
        name=engine.name,
        histogram=recorder.overall_histogram(),
        errors=sum(r.errors for r in recorder.operations if r.kind == "task"),
        duration=measured,
        operations=operations,
        timeline=recorder.timeline,
        settings=settings.to_dict(),
        sla=settings.sla,
        hung=hung,
        interrupted=engine.interrupted,
        started_at=wall_start,
        users=users,
        peak_active=engine.peak_active,
        idle_users=idle if settings.model == "closed" else 0,
        cpu_utilisation=cpu,
        gil_contention=bool(gil_enabled and crowd >= GIL_USERS and cpu >= 0.85),
        late_calls=recorder.late_calls,
        model=settings.model,
        dropped=dropped,
        scheduled=scheduled,
        service_time=service_time,
        start_lag=start_lag,
        aborted=engine.abort.result if engine.abort is not None else None,
        spike_end=profile.spike_end() if staged else None,
        window=engine.window_ns / NS,
    )
    _monitoring(engine, result)
    result.sla_breaches = result.evaluate_sla()
    return result


def _leak_warmup(engine: Engine) -> float:
    """Seconds at the start that the RSS trend ignores: the warm-up, and at least the first
    :data:`LEAK_WARMUP_S` (caches, imports and pools fill then; that is growth, not a leak)."""
    return max(engine.settings.warmup, LEAK_WARMUP_S)


def _monitoring(engine: Engine, result: LoadResult) -> None:
    """Join resource samples to the timeline; the RSS trend; database stats; findings."""
    from pytest_loadtest import _monitor

    settings = engine.settings
    resources = engine.watched.get("resources")
    databases = engine.watched.get("database", [])
    allocations = engine.watched.get("allocations", [])
    if resources is not None:
        result.resources = resources.to_dict()
        by_window = resources.by_window(result.window)
        for row in result.timeline:
            sample = by_window.get(row.t)
            if sample is not None:
                row.cpu = sample.cpu_percent
                row.rss_mb = sample.rss_bytes / 1e6
        trend = _monitor.soak_trend(
            resources, duration=result.duration + settings.warmup, warmup_s=_leak_warmup(engine)
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
    if resources is None and not databases and not allocations:
        return
    facts = run_facts(
        result,
        resources=resources,
        databases=databases,
        allocations=allocations,
        soak=engine.soak,
        warmup_s=_leak_warmup(engine),
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
) -> Any:
    """The detectors' view (a ``RunFacts``) of a result and what its watchers saw."""
    from pytest_loadtest._monitor import RunFacts

    return RunFacts(
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
    )
