"""Soak tests: steady traffic for a while, then nothing may have drifted, leaked or been lost.

Short by default; a real soak sets the length on the command line:

    pytest -m soak tests/load_testing
    pytest -m soak tests/load_testing --load-duration 2h --load-users 40
"""

from __future__ import annotations

import statistics
import uuid

import pytest

from pytest_loadtest import LoadResult, LoadRunner, VirtualUser, assert_no_findings

from .actions import Workload, scenario
from .app import NewProject
from .checks import check_integrity, successes

MIXED_TRAFFIC = {
    "browse": 6,
    "search": 3,
    "filter": 2,
    "paginate": 2,
    "create": 1,
    "update": 1,
    "status": 1,
    "health_check": 1,
}


def _p95_drift(result: LoadResult) -> tuple[float, float]:
    """Median of the per-second p95s in the first and in the last third of the run."""
    rows = [row for row in result.timeline if not row.warmup and row.calls]
    third = max(1, len(rows) // 3)
    first = statistics.median(row.p95 for row in rows[:third])
    last = statistics.median(row.p95 for row in rows[-third:])
    return first, last


@pytest.mark.soak(
    users=10,
    duration="6s",
    think_time="20ms..60ms",
    sla={
        "p95": "500ms",
        "p99": "2s",
        "error_rate": "1%",
        "operations": {"create": {"error_rate": 0}, "update": {"error_rate": 0}},
    },
)
def test_steady_mixed_traffic(load_runner: LoadRunner, workload: Workload) -> None:
    """Logged-in users browse, search, filter, create and update at a steady rate."""
    traffic = scenario(
        workload, "steady traffic", MIXED_TRAFFIC, on_start=["login"], on_stop=["logout"]
    )

    result = load_runner.run(traffic)

    check_integrity(workload, result)  # nothing lost, every session closed
    assert len(workload.ledger.created_clients) == successes(result, "create")
    # no connection leaked: every request gave its connection back
    assert workload.app.database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    # latency does not creep up as the run goes on (a leak, a growing table scan, a lock queue)
    first, last = _p95_drift(result)
    assert last <= 3 * first + 50, f"p95 drifted from {first:.1f}ms to {last:.1f}ms"
    # a leak-free service: the soak leak detector (RSS slope after warm-up) stays quiet
    assert_no_findings(result, "soak_leak")


@pytest.mark.soak(
    users=4,
    duration="4s",
    think_time="1ms..5ms",
    sla={"p95": "250ms", "p99": "1s", "error_rate": 0},
)
def test_churn_leaves_nothing_behind(load_runner: LoadRunner, workload: Workload) -> None:
    """Create, read and delete clients with projects for a while: the tables end as they began."""
    app = workload.app
    before = app.status()

    def churn(vu: VirtualUser) -> None:
        with vu.step("create"):
            client = app.clients.create("Temporary", f"temp.{uuid.uuid4().hex}@example.com")
        with vu.step("add projects"):
            for n in range(3):
                app.projects.add(client.id, NewProject(f"Short-lived {n}", 1_000 * n))
        with vu.step("delete"):
            app.clients.delete(client.id)

    result = load_runner.run(churn)

    assert result.total > 0
    assert app.status() == before  # every client and every project created was deleted
    assert app.audit.orphan_projects() == 0
    assert workload.app.database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
