"""Statement normalisation, filter-column extraction, plan parsing and the stats' JSON form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._monitor._explain import (
    filter_columns,
    postgresql_scans,
    sqlite_scans,
    table_aliases,
)
from pytest_loadtest._monitor._facts import short_sql
from pytest_loadtest._monitor._statements import (
    NO_OPERATION,
    DatabaseStats,
    PoolStats,
    QueryPlan,
    Scan,
    StatementStats,
    normalise_sql,
)


@pytest.mark.parametrize(
    ("sql", "normalised"),
    [
        (
            "SELECT p.id \nFROM projects AS p \nWHERE p.client_id = ?",
            "SELECT p.id FROM projects AS p WHERE p.client_id = ?",
        ),
        ("SELECT * FROM t WHERE a = %(a_1)s::INTEGER", "SELECT * FROM t WHERE a = ?::INTEGER"),
        ("SELECT * FROM t WHERE a = :a AND b = $2", "SELECT * FROM t WHERE a = ? AND b = ?"),
        (
            "SELECT * FROM t WHERE name = 'it''s' AND n = -1.5e3",
            "SELECT * FROM t WHERE name = ? AND n = ?",
        ),
        ("SELECT * FROM t WHERE id IN (?, ?, ?)", "SELECT * FROM t WHERE id IN (?)"),
        ("SELECT * FROM t WHERE id IN (1, 2)", "SELECT * FROM t WHERE id IN (?)"),
        ("INSERT INTO t (a, b) VALUES (?, ?), (?, ?)", "INSERT INTO t (a, b) VALUES (?)"),
        (
            "SELECT t2.x FROM t2 -- why\nWHERE /* hint */ t2.y = 3",
            "SELECT t2.x FROM t2 WHERE t2.y = ?",
        ),
        (
            "SELECT projects_1.id FROM projects AS projects_1 LIMIT 10 OFFSET 20",
            "SELECT projects_1.id FROM projects AS projects_1 LIMIT ? OFFSET ?",
        ),
    ],
)
def test_normalise_sql(sql: str, normalised: str) -> None:
    assert normalise_sql(sql) == normalised


def test_parameters_do_not_split_statements() -> None:
    one = "SELECT * FROM t WHERE id IN (?, ?) AND name = 'a'"
    other = "SELECT * FROM t WHERE id IN (?, ?, ?, ?) AND name = 'bb'"
    assert normalise_sql(one) == normalise_sql(other)


def test_table_aliases() -> None:
    sql = (
        "SELECT c.id FROM clients AS c LEFT OUTER JOIN projects p ON c.id = p.client_id "
        'JOIN "public"."tasks" ON tasks.project_id = p.id WHERE c.name = ?'
    )
    assert table_aliases(sql) == {
        "clients": "clients",
        "c": "clients",
        "projects": "projects",
        "p": "projects",
        "tasks": "tasks",
    }
    assert table_aliases("UPDATE projects SET name = ? WHERE projects.id = ?") == {
        "projects": "projects"
    }


@pytest.mark.parametrize(
    ("sql", "columns"),
    [
        ("SELECT * FROM projects WHERE projects.client_id = ?", {"projects": ["client_id"]}),
        ("SELECT * FROM projects WHERE ? = projects.client_id", {"projects": ["client_id"]}),
        (
            "DELETE FROM projects WHERE client_id = ? AND status NOT IN (?)",
            {"projects": ["client_id", "status"]},
        ),
        # an unqualified column of a join (flag) belongs to no table we can name
        (
            "SELECT * FROM a JOIN b ON a.id = b.a_id WHERE flag = ?",
            {"a": ["id"], "b": ["a_id"]},
        ),
        # WHERE columns win over ON columns of the same table
        (
            "SELECT * FROM clients AS c JOIN projects AS p ON c.id = p.client_id WHERE c.name = ?",
            {"clients": ["name"], "projects": ["client_id"]},
        ),
        ("SELECT * FROM t ORDER BY t.created", {}),
        ("INSERT INTO t (a) VALUES (?)", {}),
    ],
)
def test_filter_columns(sql: str, columns: dict[str, list[str]]) -> None:
    assert filter_columns(sql) == columns


def test_sqlite_scans_flag_full_scans_of_filtered_tables_only() -> None:
    sql = "SELECT * FROM clients AS c JOIN projects AS p ON c.id = p.client_id WHERE c.id = ?"
    details = ["SEARCH c USING INTEGER PRIMARY KEY (rowid=?)", "SCAN p"]
    assert sqlite_scans(sql, details) == [Scan("projects", ("client_id",))]
    indexed = ["SEARCH c USING INTEGER PRIMARY KEY (rowid=?)", "SEARCH p USING INDEX ix (x=?)"]
    assert sqlite_scans(sql, indexed) == []
    assert sqlite_scans("SELECT * FROM t", ["SCAN t"]) == []  # no filter: reading it all
    assert sqlite_scans("SELECT * FROM t WHERE t.a = ?", ["SCAN t USING COVERING INDEX i"]) == []
    assert sqlite_scans("SELECT * FROM t WHERE t.a = ?", ["SCAN TABLE t"]) == [Scan("t", ("a",))]


def test_postgresql_scans_read_the_filter_of_each_seq_scan() -> None:
    sql = "SELECT * FROM projects WHERE projects.client_id = %(c)s AND projects.name = %(n)s"
    lines = [
        "Hash Join  (cost=1.00..30.00 rows=5 width=40)",
        "  Hash Cond: (p.client_id = c.id)",
        "  ->  Seq Scan on projects p  (cost=0.00..28.00 rows=1 width=40)",
        "        Filter: ((client_id = 5) AND ((name)::text = 'a'::text))",
        "  ->  Hash  (cost=1.00..1.00 rows=1 width=4)",
        "        ->  Seq Scan on clients c  (cost=0.00..1.00 rows=100 width=4)",
        "  ->  Index Scan using ix on tasks  (cost=0.1..8 rows=1 width=4)",
        "        Index Cond: (project_id = 5)",
    ]
    # clients is scanned whole for the hash: no filter, not a missing index
    assert postgresql_scans(sql, lines) == [Scan("projects", ("client_id", "name"))]


def test_scan_with_an_indexed_filter_column_is_the_planners_choice() -> None:
    assert Scan("t", ("a", "b"), indexed=("id",)).unindexed_columns == ("a", "b")
    assert Scan("t", ("a", "b"), indexed=("b",)).unindexed_columns == ()


def test_short_sql_drops_a_long_select_list_first() -> None:
    sql = "SELECT projects.id, projects.client_id, projects.name FROM projects WHERE x = ?"
    assert short_sql(sql, 60) == "SELECT ... FROM projects WHERE x = ?"
    assert short_sql(sql, 200) == sql
    assert short_sql("UPDATE " + "x" * 100, 20) == "UPDATE xxxxxxxxxx..."


def _statement(sql: str, durations_ms: list[float], ops: dict[str, int]) -> StatementStats:
    histogram = LatencyHistogram()
    histogram.fold_ns(np.array([round(ms * 1e6) for ms in durations_ms], dtype=np.int64))
    return StatementStats(sql, histogram, ops)


def test_statement_stats_properties() -> None:
    stats = _statement("select * from t", [1.0, 2.0, 3.0], {"a": 1, "b": 2, NO_OPERATION: 5})
    assert stats.verb == "SELECT"
    assert stats.calls == 3
    assert stats.total_ms == pytest.approx(6.0)
    assert stats.top_operation == "b"
    assert StatementStats("(SELECT 1) UNION (SELECT 2)").verb == "SELECT"
    assert _statement("x", [1.0], {NO_OPERATION: 1}).top_operation is None


def test_database_stats_round_trip_through_json() -> None:
    pool = PoolStats("QueuePool", size=5, max_overflow=10, timeout_s=30.0, checkouts=7)
    pool.wait.fold_ns(np.array([1_000_000, 3_000_000], dtype=np.int64))
    pool.peak_by_window = {0.0: 3, 1.0: 5}
    plan = QueryPlan("sqlite", ("SCAN t",), (Scan("t", ("a",), ("id",)),))
    slow = _statement("SELECT * FROM t WHERE a = ?", [5.0, 7.0], {"get": 2})
    slow.plan = plan
    db = DatabaseStats(
        "sqlite:///x.db",
        "sqlite",
        {slow.sql: slow, "UPDATE t SET a = ?": _statement("UPDATE t SET a = ?", [1.0], {})},
        pool,
        errors=2,
    )
    data = json.loads(json.dumps(db.to_dict()))
    assert next(s["sql"] for s in data["statements"]) == slow.sql  # largest total first
    assert data["pool"]["capacity"] == 15
    again = DatabaseStats.from_dict(data)
    assert again.to_dict() == db.to_dict()
    assert again.statements[slow.sql].plan == plan
    assert again.statements_by_operation() == {"get": 2}


@pytest.mark.parametrize(
    ("size", "overflow", "capacity"), [(5, 10, 15), (5, -1, None), (None, None, None)]
)
def test_pool_capacity(size: int | None, overflow: int | None, capacity: int | None) -> None:
    assert PoolStats("QueuePool", size=size, max_overflow=overflow).capacity == capacity
