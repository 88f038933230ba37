"""Monitoring and bottleneck detection: resources, SQLAlchemy, leaks, findings.

Plain code (no pytest, SQLAlchemy imported only by a watch that starts). The engine drives the
watchers, each with ``start(start_ns)`` before a run and ``stop(end_ns)`` after it:

- :class:`ResourceSampler` -> :class:`ResourceSamples` (process CPU, RSS, threads, fds, IO);
- :class:`DatabaseWatch` -> :class:`DatabaseStats` (statements, per operation, pool);
- :class:`AllocationTracker` -> a list of :class:`AllocationSite` (``--load-tracemalloc``);
- :class:`SpeedProbe` -> the run's reference time in ms (how fast the interpreter ran);

then :func:`detect` turns a :class:`RunFacts` into findings
(:mod:`pytest_loadtest._model._finding`),
which the report package prints. :func:`set_operation` names the operation running in this context
for the database watch. With several worker processes (scale-out), :func:`watched_to_dict` /
:func:`watched_from_dict` carry what each process's watchers saw (``Engine.watched``) and
:func:`merge_watched` adds the processes' into one.

This facade holds what the engine uses; tests and tools import the submodules.
"""

from __future__ import annotations

from pytest_loadtest._monitor._detectors import build_rules, detect
from pytest_loadtest._monitor._facts import RunFacts
from pytest_loadtest._monitor._leaks import AllocationTracker, soak_trend
from pytest_loadtest._monitor._merge import merge_watched, watched_from_dict, watched_to_dict
from pytest_loadtest._monitor._process import NoProcessReader
from pytest_loadtest._monitor._resources import ResourceSampler
from pytest_loadtest._monitor._speed import ReferenceTimes, SpeedProbe
from pytest_loadtest._monitor._sqlalchemy import DatabaseWatch, reset_operation, set_operation

__all__ = [
    "AllocationTracker",
    "DatabaseWatch",
    "NoProcessReader",
    "ReferenceTimes",
    "ResourceSampler",
    "RunFacts",
    "SpeedProbe",
    "build_rules",
    "detect",
    "merge_watched",
    "reset_operation",
    "set_operation",
    "soak_trend",
    "watched_from_dict",
    "watched_to_dict",
]
