"""Monitoring and bottleneck detection: resources, SQLAlchemy, leaks, findings.

Plain code (no pytest, SQLAlchemy imported only by a watch that starts). The engine drives the
watchers, each with ``start(start_ns)`` before a run and ``stop(end_ns)`` after it:

- :class:`ResourceSampler` -> :class:`ResourceSamples` (process CPU, RSS, threads, fds, IO);
- :class:`DatabaseWatch` -> :class:`DatabaseStats` (statements, per operation, pool);
- :class:`AllocationTracker` -> a list of :class:`AllocationSite` (``--load-tracemalloc``);

then :func:`detect` turns a :class:`RunFacts` into :class:`Finding` objects and
:func:`format_findings` into the "BOTTLENECKS IDENTIFIED / RECOMMENDATIONS" block.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from pytest_loadtest._monitor._db_rules import MissingIndex, NPlusOne, PoolSaturation, SlowStatement
from pytest_loadtest._monitor._detectors import DEFAULT_RULES, Rule, build_rules, detect
from pytest_loadtest._monitor._facts import RunFacts, Window, WindowRow
from pytest_loadtest._monitor._findings import (
    Finding,
    format_bytes,
    format_findings,
    format_resources,
)
from pytest_loadtest._monitor._leaks import (
    AllocationSite,
    AllocationTracker,
    LeakEstimate,
    parse_growth_rate,
    rss_trend,
    soak_trend,
)
from pytest_loadtest._monitor._process_rules import CpuBound, MemorySpike, SoakLeak
from pytest_loadtest._monitor._resources import ResourceSample, ResourceSampler, ResourceSamples
from pytest_loadtest._monitor._sqlalchemy import (
    CURRENT_OPERATION,
    DatabaseWatch,
    operation,
    reset_operation,
    set_operation,
)
from pytest_loadtest._monitor._statements import (
    NO_OPERATION,
    DatabaseStats,
    Plan,
    PoolStats,
    Scan,
    StatementStats,
    normalise_sql,
)

__all__ = [
    "CURRENT_OPERATION",
    "DEFAULT_RULES",
    "NO_OPERATION",
    "AllocationSite",
    "AllocationTracker",
    "CpuBound",
    "DatabaseStats",
    "DatabaseWatch",
    "Finding",
    "LeakEstimate",
    "MemorySpike",
    "MissingIndex",
    "NPlusOne",
    "Plan",
    "PoolSaturation",
    "PoolStats",
    "ResourceSample",
    "ResourceSampler",
    "ResourceSamples",
    "Rule",
    "RunFacts",
    "Scan",
    "SlowStatement",
    "SoakLeak",
    "StatementStats",
    "Watcher",
    "Window",
    "WindowRow",
    "build_rules",
    "detect",
    "format_bytes",
    "format_findings",
    "format_resources",
    "normalise_sql",
    "operation",
    "parse_growth_rate",
    "reset_operation",
    "rss_trend",
    "set_operation",
    "soak_trend",
]

T_co = TypeVar("T_co", covariant=True)


class Watcher(Protocol[T_co]):
    """What the engine drives around a run: ``start`` before the first user, ``stop`` after
    the last one has finished, both with the engine clock's nanoseconds."""

    def start(self, start_ns: int | None = None) -> None:
        """Begin watching; ``start_ns`` is t = 0 of the run's timeline."""
        ...

    def stop(self, end_ns: int | None = None) -> T_co:
        """Stop watching and return what was seen."""
        ...
