"""What monitoring costs: one resource sample, a watched statement and checkout, tracemalloc.

Run ``python benchmarks/monitor_overhead.py``. Costs
are thread CPU time, so that other processes on the machine disturb them less; watched and
unwatched runs alternate, and the first quartile of each is compared.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.pool import QueuePool

from pytest_loadtest._monitor._leaks import AllocationTracker
from pytest_loadtest._monitor._process import PsutilReader
from pytest_loadtest._monitor._sqlalchemy import DatabaseWatch

ROUNDS = 25


def cpu_ns(fn: Callable[[int], object], n: int) -> float:
    """Thread CPU nanoseconds per unit of ``fn(n)``."""
    began = time.thread_time_ns()
    fn(n)
    return (time.thread_time_ns() - began) / n


def first_quartile(values: list[float]) -> float:
    """The first quartile: the runs least disturbed by the rest of the machine."""
    return sorted(values)[len(values) // 4]


def sampler() -> None:
    """One reading of the resource sampler's reader."""
    reader = PsutilReader()
    cpu, wall = [], []
    for _ in range(20):
        began_cpu, began_wall = time.process_time_ns(), time.perf_counter_ns()
        for _ in range(200):
            reader.read()
        cpu.append((time.process_time_ns() - began_cpu) / 200)
        wall.append((time.perf_counter_ns() - began_wall) / 200)
    per_read = min(cpu)
    print(
        f"resource sample: {per_read / 1e3:.0f} us CPU ({statistics.median(wall) / 1e3:.0f} us "
        f"wall); at 1 Hz {per_read / 1e9 * 100:.3f}% of one core"
    )


def database() -> None:
    """A trivial SQLite statement and a checkout, with and without a watch."""
    engine = sa.create_engine(
        "sqlite:///file:overhead?mode=memory&cache=shared&uri=true", poolclass=QueuePool
    )
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v INT)")
        connection.exec_driver_sql("INSERT INTO t (v) VALUES (1)")
    query = sa.text("SELECT v FROM t WHERE id = :id")

    def statements(n: int) -> None:
        with engine.connect() as connection:
            for _ in range(n):
                connection.execute(query, {"id": 1}).scalar()

    def checkouts(n: int) -> None:
        for _ in range(n):
            with engine.connect():
                pass

    runs: dict[str, list[float]] = {
        "statement": [],
        "watched statement": [],
        "checkout": [],
        "watched checkout": [],
    }
    for _ in range(ROUNDS):
        runs["statement"].append(cpu_ns(statements, 5000))
        runs["checkout"].append(cpu_ns(checkouts, 2000))
        watch = DatabaseWatch(engine, explain=0)
        watch.start()
        runs["watched statement"].append(cpu_ns(statements, 5000))
        runs["watched checkout"].append(cpu_ns(checkouts, 2000))
        watch.stop()
    engine.dispose()
    for what in ("statement", "checkout"):
        plain, watched = first_quartile(runs[what]), first_quartile(runs[f"watched {what}"])
        print(
            f"{what}: {plain / 1e3:.1f} us -> {watched / 1e3:.1f} us watched "
            f"(+{(watched - plain) / 1e3:.1f} us)"
        )


def tracemalloc_cost() -> None:
    """An allocation-heavy loop with and without ``--load-tracemalloc``'s tracing."""

    def allocate(n: int) -> None:
        for _ in range(n):
            [{"a": i} for i in range(20)]

    plain = min(cpu_ns(allocate, 20_000) for _ in range(5))
    tracker = AllocationTracker()
    tracker.start()
    traced = min(cpu_ns(allocate, 20_000) for _ in range(5))
    tracker.stop()
    print(f"tracemalloc: {plain / 1e3:.1f} us -> {traced / 1e3:.1f} us ({traced / plain:.1f}x)")


if __name__ == "__main__":
    sampler()
    database()
    tracemalloc_cost()
