"""Real watcher output for the scale-out tests: an in-memory SQLite engine and a database watch
around a few statements, resource samplers, an allocation tracker and a speed probe, and
hand-made resource samples."""

from __future__ import annotations

import contextlib
import itertools
import time
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import QueuePool

from pytest_loadtest._monitor._leaks import AllocationSite, AllocationTracker
from pytest_loadtest._monitor._resources import ResourceSampler
from pytest_loadtest._monitor._samples import ResourceSample, ResourceSamples
from pytest_loadtest._monitor._speed import ReferenceTimes, SpeedProbe
from pytest_loadtest._monitor._sqlalchemy import DatabaseWatch, operation
from pytest_loadtest._monitor._statements import DatabaseStats

GET = sa.text("SELECT v FROM items WHERE id = :id")
BY_TAG = sa.text("SELECT id FROM items WHERE tag = :tag")  # no index on tag: a full scan
TAG = sa.text("UPDATE items SET tag = :tag WHERE id = :id")
GET_SQL = "SELECT v FROM items WHERE id = ?"


@contextlib.contextmanager
def memory_engine() -> Iterator[sa.Engine]:
    """An in-memory SQLite database shared by the connections of a QueuePool."""
    url = f"sqlite:///file:merge_{uuid.uuid4().hex}?mode=memory&cache=shared&uri=true"
    engine = sa.create_engine(
        url,
        poolclass=QueuePool,
        pool_size=2,
        max_overflow=1,
        pool_timeout=5,
        connect_args={"check_same_thread": False},
    )
    keep = engine.connect()  # the memory database lives while a connection is open
    try:
        keep.exec_driver_sql("CREATE TABLE items (id INTEGER PRIMARY KEY, v INT, tag TEXT)")
        keep.exec_driver_sql(
            "INSERT INTO items (v, tag) VALUES " + ", ".join(f"({i}, 't{i}')" for i in range(50))
        )
        keep.commit()
        yield engine
    finally:
        keep.close()
        engine.dispose()


def watched_db(engine: sa.Engine, *, gets: int, tags: int = 2, explain: int = 5) -> DatabaseStats:
    """A real watch around a few statements, each on a connection of its own."""
    watch = DatabaseWatch(engine, explain=explain)
    watch.start()
    try:
        for i in range(gets):
            with engine.connect() as connection, operation("get"):
                connection.execute(GET, {"id": i}).scalar()
        for i in range(tags):
            with engine.begin() as connection, operation("tag"):
                connection.execute(TAG, {"tag": f"x{i}", "id": i})
        with engine.connect() as connection:  # outside any operation
            connection.execute(BY_TAG, {"tag": "t3"}).all()
    finally:
        stats = watch.stop()
    return stats


def sampled(*samplers: ResourceSampler, seconds: float = 0.3) -> list[ResourceSamples]:
    """Real samplers of this process around some allocation and arithmetic."""
    for sampler in samplers:
        sampler.start()
    kept: list[bytes] = []
    ends = time.perf_counter() + seconds
    while time.perf_counter() < ends:
        kept.append(bytes(50_000))
        sum(i * i for i in range(2_000))
    return [sampler.stop() for sampler in samplers]


def allocated() -> list[AllocationSite]:
    """A real tracker around 200 kB kept by one line of this module."""
    tracker = AllocationTracker(top=5, min_bytes=10_000)
    tracker.start()
    kept = [bytes(1000) for _ in range(200)]
    sites = tracker.stop()
    assert len(kept) == 200
    return sites


def speed() -> ReferenceTimes | None:
    """A real probe timing a workload that always says 2 ms."""
    cpu_clock = itertools.count(0, 2_000_000)  # 2 ms of CPU each, too
    probe = SpeedProbe(interval=0.01, workload=lambda: 2_000_000, cpu_clock=lambda: next(cpu_clock))
    probe.start()
    deadline = time.monotonic() + 5  # a busy machine may starve the probe's thread a while
    while not probe._samples and time.monotonic() < deadline:
        time.sleep(0.01)
    return probe.stop()


def watched_of(engine: sa.Engine) -> dict[str, Any]:
    """One process's ``Engine.watched``, every kind real."""
    [resources] = sampled(ResourceSampler(0.05))
    return {
        "resources": resources,
        "database": [watched_db(engine, gets=4)],
        "allocations": allocated(),
        "speed": speed(),
    }


NAN = float("nan")


def samples_of(
    interval: float, *rows: tuple[float, float, float, int, int | None]
) -> ResourceSamples:
    """Samples made by hand: ``(t, span, cpu %, rss, open fds)`` each; the machine's CPU a
    quarter of the process's, 5 threads, a byte read per ms since the start."""
    return ResourceSamples(
        interval=interval,
        cpu_count=2,
        samples=tuple(
            ResourceSample(t, span, cpu, cpu / 4, rss, 5, fds, int(t * 1000), None)
            for t, span, cpu, rss, fds in rows
        ),
        sample_cost_s=0.001,
        missed=1,
    )
