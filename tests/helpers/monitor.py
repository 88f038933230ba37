"""Running a target under load with watchers around it, and the run as detector input.

:func:`facts_from` is what the engine will do after a watched run: a ``LoadResult`` plus what
the watchers returned become :class:`~pytest_loadtest._monitor.RunFacts`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa

from pytest_loadtest._engine._build import run_facts
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._monitor._facts import RunFacts, Window
from pytest_loadtest._monitor._leaks import AllocationSite
from pytest_loadtest._monitor._resources import ResourceSampler, ResourceSamples
from pytest_loadtest._monitor._sqlalchemy import DatabaseWatch
from pytest_loadtest._monitor._statements import DatabaseStats
from pytest_loadtest._runner import LoadRunner


class MakeEngine(Protocol):
    """The ``make_engine`` fixture's signature."""

    def __call__(
        self, *, pool_size: int = ..., max_overflow: int = ..., timeout: float = ...
    ) -> sa.Engine: ...


def facts_from(
    result: LoadResult,
    *,
    databases: Sequence[DatabaseStats] = (),
    resources: ResourceSamples | None = None,
    allocations: Sequence[AllocationSite] = (),
    soak: bool = False,
) -> RunFacts:
    """The detectors' view of an engine run (as the plugin builds it)."""
    facts: RunFacts = run_facts(
        result, resources=resources, databases=databases, allocations=allocations, soak=soak
    )
    return facts


def run_watched(
    target: object, engine: sa.Engine, *, users: int, duration: str = "0.8s"
) -> tuple[LoadResult, DatabaseStats]:
    """Run ``target`` with the engine, a :class:`DatabaseWatch` on ``engine`` around it."""
    watch = DatabaseWatch(engine)
    watch.start(time.perf_counter_ns())
    try:
        result = LoadRunner().run(target, users=users, duration=duration)
    finally:
        database = watch.stop(time.perf_counter_ns())
    return result, database


@dataclass
class Phase:
    """``users`` threads calling ``call`` for ``seconds``."""

    users: int
    seconds: float
    call: Callable[[], object]


@dataclass
class ThreadRun:
    """What :func:`run_phases` measured: calls per window, and the resource samples."""

    window: float
    timeline: list[Window] = field(default_factory=list)
    op_timelines: dict[str, list[Window]] = field(default_factory=dict)
    resources: ResourceSamples | None = None

    def facts(self, *, soak: bool = False, allocations: Sequence[AllocationSite] = ()) -> RunFacts:
        """Detector input for this run."""
        return RunFacts(
            duration=len(self.timeline) * self.window,
            window=self.window,
            timeline=self.timeline,
            operation_calls={
                op: sum(w.calls for w in rows) for op, rows in self.op_timelines.items()
            },
            operation_timelines=self.op_timelines,
            resources=self.resources,
            soak=soak,
            allocations=allocations,
        )


def run_phases(
    phases: Sequence[Phase],
    *,
    window: float = 0.25,
    interval: float = 0.1,
    names: Sequence[str] = (),
) -> ThreadRun:
    """Plain threads, phase after phase, with a :class:`ResourceSampler` around them.

    Calls are counted per ``window`` (a finer timeline than the engine's 1 s, so each test stays
    short); a phase's calls are counted under ``names[i]`` (default ``"op"``).
    """
    sampler = ResourceSampler(interval)
    start = time.perf_counter()
    counts: dict[tuple[str, int], int] = {}
    users_at: dict[int, int] = {}
    lock = threading.Lock()
    sampler.start(time.perf_counter_ns())
    try:
        for index, phase in enumerate(phases):
            name = names[index] if index < len(names) else "op"
            ends = time.perf_counter() + phase.seconds

            def user(phase: Phase = phase, name: str = name, ends: float = ends) -> None:
                while time.perf_counter() < ends:
                    phase.call()
                    slot = int((time.perf_counter() - start) / window)
                    with lock:
                        counts[(name, slot)] = counts.get((name, slot), 0) + 1
                        users_at[slot] = max(users_at.get(slot, 0), phase.users)

            threads = [threading.Thread(target=user) for _ in range(phase.users)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        resources = sampler.stop()
    slots = range(max(users_at, default=-1) + 1)
    run = ThreadRun(window, resources=resources)
    run.timeline = [
        Window(s * window, sum(n for (_, t), n in counts.items() if t == s), users_at.get(s, 0))
        for s in slots
    ]
    for name in {name for name, _ in counts}:
        run.op_timelines[name] = [Window(s * window, counts.get((name, s), 0)) for s in slots]
    return run
