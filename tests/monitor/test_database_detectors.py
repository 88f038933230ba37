"""Database detectors against real engines under load: the broken service trips each one, the
healthy twin trips none (SQLite always; PostgreSQL when ``LOADTEST_DATABASE_URL`` is set)."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_loadtest._model._finding import Finding
from pytest_loadtest._monitor._db_rules import MissingIndex, NPlusOne, PoolSaturation, SlowStatement
from pytest_loadtest._monitor._detectors import detect
from pytest_loadtest._report._findings import format_findings

from helpers.monitor import MakeEngine, facts_from, run_watched
from helpers.monitor_service import (
    IndexedProject,
    Project,
    client_list,
    client_projects,
    slow_report,
    slow_transaction,
)


def _show(findings: Sequence[Finding]) -> str:
    return "\n".join(format_findings(findings))


def test_unindexed_filter_is_a_missing_index(make_engine: MakeEngine) -> None:
    engine = make_engine()
    result, database = run_watched(client_projects(engine, Project), engine, users=4)
    findings = MissingIndex().check(facts_from(result, databases=[database]))
    assert [f.recommendation for f in findings] == [
        "Add an index on monitor_projects(client_id)"
    ], _show(findings)
    assert findings[0].data["operation"] == "get_client_projects"


def test_indexed_filter_is_no_missing_index(make_engine: MakeEngine) -> None:
    engine = make_engine()
    result, database = run_watched(client_projects(engine, IndexedProject), engine, users=4)
    [statement] = [s for s in database.statements.values() if "client_id" in s.sql]
    assert statement.plan is not None
    assert statement.plan.error is None, statement.plan.error
    assert MissingIndex().check(facts_from(result, databases=[database])) == []


def test_a_slow_report_is_a_slow_statement(make_engine: MakeEngine) -> None:
    engine = make_engine()
    result, database = run_watched(slow_report(engine, 0.12), engine, users=4)
    [finding] = SlowStatement().check(facts_from(result, databases=[database]))
    assert finding.title.startswith("Slow query in monthly_report: SELECT "), _show([finding])
    assert finding.data["p95_ms"] >= 120
    assert finding.data["calls"] >= 3


def test_an_indexed_lookup_is_no_slow_statement(make_engine: MakeEngine) -> None:
    engine = make_engine()
    result, database = run_watched(client_projects(engine, IndexedProject), engine, users=4)
    findings = SlowStatement().check(facts_from(result, databases=[database]))
    assert findings == [], _show(findings)


def test_lazy_loading_in_a_loop_is_n_plus_one(make_engine: MakeEngine) -> None:
    engine = make_engine()
    result, database = run_watched(client_list(engine, eager=False), engine, users=4)
    [finding] = NPlusOne().check(facts_from(result, databases=[database]))
    assert finding.data["operation"] == "list_clients"
    assert finding.data["table"] == "monitor_indexed_projects"
    assert finding.data["per_call"] == 10.0  # one SELECT per client, ten clients per call
    assert "selectinload()" in finding.recommendation


def test_eager_loading_is_no_n_plus_one_and_no_finding_at_all(make_engine: MakeEngine) -> None:
    engine = make_engine(pool_size=8, max_overflow=4)
    result, database = run_watched(client_list(engine, eager=True), engine, users=4)
    facts = facts_from(result, databases=[database])
    assert NPlusOne().check(facts) == []
    assert detect(facts) == [], _show(detect(facts))


def test_pool_of_two_for_twenty_users_is_saturated(make_engine: MakeEngine) -> None:
    engine = make_engine(pool_size=2, max_overflow=0)
    result, database = run_watched(slow_transaction(engine, 0.01), engine, users=20)
    [finding] = PoolSaturation().check(facts_from(result, databases=[database]))
    assert finding.title == "Connection pool at its limit", _show([finding])
    assert finding.data["peak_checked_out"] == 2
    assert finding.data["suggested_size"] >= 20
    assert "now 2 + 0" in finding.recommendation


def test_pool_sized_for_the_users_is_not_saturated(make_engine: MakeEngine) -> None:
    engine = make_engine(pool_size=20, max_overflow=10)
    result, database = run_watched(slow_transaction(engine, 0.01), engine, users=20)
    facts = facts_from(result, databases=[database])
    assert database.pool.peak_checked_out <= 20
    assert PoolSaturation().check(facts) == [], _show(PoolSaturation().check(facts))
