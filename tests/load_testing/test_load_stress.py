"""Past the comfortable: a saturated connection pool, heavy queries, deadlocks, bulk imports.

pytest -m load tests/load_testing/test_load_stress.py
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from pytest_loadtest import LoadRunner, VirtualUser

from .actions import Workload
from .app import NewProject, PoolSettings
from .app.models import Client
from .checks import check_integrity, check_settled, successes
from .conftest import MakeWorkload, requires_row_locks

POOL_TIMEOUT = 0.1  # seconds a request waits for a connection before giving up
HOLD = 0.02  # seconds each request keeps its connection


@pytest.mark.load(
    users=6,
    duration="3s",
    # Three times the pool's capacity: the service must shed the excess fast, with pool
    # timeouts and nothing else, and keep serving at the pool's capacity meanwhile.
    sla={"error_rate": "45%", "p99": "300ms"},
)
def test_connection_pool_saturation(load_runner: LoadRunner, make_workload: MakeWorkload) -> None:
    """6 users, 2 connections, each request holding one for 20ms: timeouts, counted by type."""
    workload = make_workload(pool=PoolSettings(size=2, max_overflow=0, timeout=POOL_TIMEOUT))
    tx = workload.app.transactions

    def export(vu: VirtualUser) -> None:
        with tx.read() as session:
            session.scalars(select(Client.id).order_by(Client.id).limit(50)).all()
            time.sleep(HOLD)  # calls a partner API while holding the connection

    load_runner.watch(workload.app.database.engine)
    result = load_runner.run(export)

    # the watch names the bottleneck: the pool, with its numbers, and a size to grow it to
    found = [f for f in result.findings if f.kind == "pool_saturation"]
    assert len(found) == 1, f"one pool finding, not: {[f.title for f in result.findings]}"
    (finding,) = found
    assert "2/2" in finding.evidence
    assert "timeouts" in finding.evidence

    assert set(result.errors_by_type) == {"TimeoutError"}, result.errors_by_type
    timeouts = result.errors_by_type["TimeoutError"]
    assert timeouts.count == result.errors > 0, "the pool was never saturated"
    assert "QueuePool limit of size 2 overflow 0 reached" in timeouts.message
    capacity = 2 / HOLD
    assert successes(result) / result.duration >= 0.5 * capacity, "the pool stopped serving"
    assert workload.app.database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


@pytest.mark.load(
    users=10,
    duration="3s",
    sla={
        "p95": "500ms",
        "p99": "1s",
        "error_rate": 0,
        "throughput_min": 50,
        "operations": {"top_clients": {"p95": "250ms"}},
    },
)
def test_complex_queries_under_load(load_runner: LoadRunner, make_workload: MakeWorkload) -> None:
    """Joins, GROUP BY, HAVING over a subquery, outer joins: each answer checked, under load."""
    workload = make_workload(clients=2_000, projects_per_client=5, users=0)
    reports = workload.app.reports
    top, tiers, above = reports.top_clients(10), reports.tier_breakdown(), reports.above_average()
    assert sum(row.budget for row in tiers) == workload.seeded.budget_total

    def top_clients() -> None:
        assert reports.top_clients(10) == top

    def tier_breakdown() -> None:
        assert reports.tier_breakdown() == tiers

    def above_average() -> None:
        assert reports.above_average() == above

    result = load_runner.run({f.__name__: f for f in (top_clients, tier_breakdown, above_average)})
    check_settled(result)  # before anything reads the ledger

    assert result.errors == 0
    check_integrity(workload, result)


@requires_row_locks
@pytest.mark.parametrize("lock_order", ["opposite", "sorted"])
@pytest.mark.load(
    users=8,
    duration="3s",
    sla={"p95": "2s", "p99": "5s", "error_rate": "1%"},
)
def test_deadlocks_are_detected_and_retried(
    load_runner: LoadRunner, make_workload: MakeWorkload, lock_order: str
) -> None:
    """Transfers lock two rows in opposite orders: PostgreSQL breaks each deadlock, the service
    retries the victim, and no budget is created or lost. Locking in id order avoids them."""
    workload = make_workload(
        clients=4,
        projects_per_client=5,  # 20 rows for 8 users: a few deadlocks a second
        users=0,
        # detect deadlocks after 50ms instead of 1s; applied only where the server allows it
        server_settings={"deadlock_timeout": "50ms"},
    )
    projects, ledger = workload.app.projects, workload.ledger
    ids = list(range(1, workload.seeded.projects + 1))

    def transfer(vu: VirtualUser) -> None:
        source, target = vu.random.sample(ids, 2)
        done = projects.transfer(
            source, target, 1, pause=0.005, sorted_locks=lock_order == "sorted"
        )
        ledger.deadlocks.append(done.deadlocks)

    result = load_runner.run(transfer)
    check_settled(result)  # before anything reads the ledger

    assert workload.app.audit.budget_total() == workload.seeded.budget_total, "budget lost"
    if lock_order == "opposite":
        assert sum(ledger.deadlocks) > 0, "no deadlock happened: the scenario proves nothing"
    else:
        assert sum(ledger.deadlocks) == 0
    assert len(ledger.deadlocks) == successes(result)
    check_integrity(workload, result)


@pytest.mark.load(
    users=4,
    iterations=8,
    duration="60s",
    # An import is no page view: 5s at p95 even with four at once (on SQLite they take turns
    # for the one write lock, so the last in line waits for the other three).
    sla={"p95": "5s", "max": "10s", "error_rate": 0},
)
def test_bulk_insert_10000_rows(load_runner: LoadRunner, workload: Workload) -> None:
    """4 users import files of 10,000 projects at once (one executemany per file)."""
    app, ledger = workload.app, workload.ledger
    rows = 10_000

    def import_file(vu: VirtualUser) -> None:
        batch = [NewProject(f"Imported {vu.id}-{vu.iteration}-{n}", n) for n in range(rows)]
        ledger.bulk_projects.append(app.projects.bulk_insert(vu.random.randint(1, 200), batch))

    result = load_runner.run(import_file)
    check_settled(result)  # before anything reads the ledger

    assert sum(ledger.bulk_projects) == rows * successes(result)
    rows_per_second = sum(ledger.bulk_projects) / result.duration
    assert rows_per_second >= 10_000, f"imports ran at {rows_per_second:,.0f} rows/s"
    check_integrity(workload, result)  # every imported row is there, and no other
