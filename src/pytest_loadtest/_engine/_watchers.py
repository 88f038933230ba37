"""What watches a run beside its users: the resource sampler, database watches, the allocation
tracker and the speed probe, as the engine's settings ask."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_loadtest import _monitor
from pytest_loadtest._model._metrics import NS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_loadtest._model._clock import Clock
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["watchers"]


def watchers(
    settings: LoadSettings, watch: Sequence[Any], clock: Clock, window_ns: int, *, real: bool
) -> list[tuple[str, Any]]:
    """``(kind, watcher)`` of each watcher a run under ``settings`` asks for, ``watch`` its
    SQLAlchemy engines, ``real``: on the system clock (resources are sampled only then); each
    has ``start(start_ns)`` and ``stop(end_ns)``."""
    found: list[tuple[str, Any]] = []
    if settings.monitor_interval > 0 and real:
        try:
            sampler = _monitor.ResourceSampler(settings.monitor_interval)
        except _monitor.NoProcessReader:
            pass  # not Linux and no psutil: README "Monitoring"
        else:
            found.append(("resources", sampler))
    for database in watch:  # SQLAlchemy engines
        window = window_ns / NS
        found.append(
            ("database", _monitor.DatabaseWatch(database, window=window, clock=clock.now_ns))
        )
    if settings.tracemalloc:
        found.append(("allocations", _monitor.AllocationTracker(warmup_s=settings.warmup)))
    if real:  # how fast the machine runs, for baseline comparisons
        found.append(("speed", _monitor.SpeedProbe()))
    return found
