"""Database detectors: slow statements, missing indexes, N+1 queries, pool saturation.

Each rule is a frozen dataclass whose fields are its thresholds (tunable by name) and whose
``check(facts)`` returns findings; all read the :class:`DatabaseStats` of the watched engines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, final

from pytest_loadtest._model._finding import Finding, Severity
from pytest_loadtest._model._metrics import none_if_nan
from pytest_loadtest._model._units import format_latency_ms
from pytest_loadtest._monitor._explain import table_aliases
from pytest_loadtest._monitor._facts import RunFacts, busiest_cpu, short_sql
from pytest_loadtest._monitor._statements import NO_OPERATION, DatabaseStats, StatementStats

__all__ = ["MissingIndex", "NPlusOne", "PoolSaturation", "SlowStatement"]


def _where(statement: StatementStats) -> str:
    op = statement.top_operation
    return f" in {op}" if op else ""


def _index_advice(statement: StatementStats) -> list[tuple[str, tuple[str, ...]]]:
    """``(table, columns)`` of the unindexed full scans in the statement's plan."""
    if statement.plan is None:
        return []
    return [(s.table, s.unindexed_columns) for s in statement.plan.scans if s.unindexed_columns]


def _index_text(table: str, columns: tuple[str, ...]) -> str:
    return f"{table}({', '.join(columns)})"


@final
@dataclass(frozen=True)
class SlowStatement:
    """Statements whose p95 reaches ``p95_ms``, the largest total time first (``top`` of them).

    Only statements run at least ``min_calls`` times count: one slow migration is not a load
    problem. A statement's time is the wall time of ``cursor.execute()``, which includes
    getting the GIL back once the driver returns: when the process was CPU-bound (at least
    ``busy_cores`` of CPU in the busiest windows), each of ``U`` users may wait about a switch
    interval, so the threshold grows by ``U * gil_wait_ms`` (``gil_wait_ms = 0`` turns this off).
    With users spread over several worker processes (merged samples), ``U`` is the users of one
    process, as each GIL is contended only by its own process's threads.
    """

    name: ClassVar[str] = "slow_statement"
    p95_ms: float = 100.0
    min_calls: int = 3
    top: int = 3
    busy_cores: float = 0.8
    gil_wait_ms: float = 5.0  # sys.getswitchinterval()'s default

    def threshold_ms(self, facts: RunFacts) -> float:
        """``p95_ms``, plus the GIL allowance when the run was CPU-bound."""
        busiest = busiest_cpu(facts)
        if busiest is not None and facts.resources is not None and busiest[0] >= self.busy_cores:
            users = math.ceil(busiest[1] / facts.resources.processes)  # of one process
            return self.p95_ms + users * self.gil_wait_ms
        return self.p95_ms

    def check(self, facts: RunFacts) -> list[Finding]:
        """One finding per slow statement."""
        findings = []
        threshold = self.threshold_ms(facts)
        for db in facts.databases:
            db_total = db.total_ms
            slow = [
                s
                for s in db.statements.values()
                if s.calls >= self.min_calls and s.histogram.percentile_ms(95) >= threshold
            ]
            slow.sort(key=lambda s: s.total_ms, reverse=True)
            for statement in slow[: self.top]:
                p95 = statement.histogram.percentile_ms(95)
                share = statement.total_ms / db_total if db_total > 0 else 0.0
                advice = _index_advice(statement)
                if advice:
                    recommendation = "Add an index on " + ", ".join(
                        _index_text(table, columns) for table, columns in advice
                    )
                else:
                    recommendation = (
                        f"Speed up or avoid `{short_sql(statement.sql, 50)}`: read its plan "
                        "(EXPLAIN ANALYZE), fetch fewer rows or columns, or cache the result"
                    )
                findings.append(
                    Finding(
                        kind=self.name,
                        title=f"Slow query{_where(statement)}: {short_sql(statement.sql)}",
                        evidence=(
                            f"{format_latency_ms(statement.histogram.mean_ms)} avg, p95 "
                            f"{format_latency_ms(p95)}, {statement.calls:,} calls, "
                            f"{share:.0%} of database time"
                        ),
                        recommendation=recommendation,
                        severity="high" if p95 >= 5 * threshold else "medium",
                        data={
                            "database": db.name,
                            "sql": statement.sql,
                            "operation": statement.top_operation,
                            "calls": statement.calls,
                            "mean_ms": statement.histogram.mean_ms,
                            "p95_ms": p95,
                            "total_ms": statement.total_ms,
                            "share": share,
                            "indexes": [list((t, *c)) for t, c in advice],
                            "threshold_ms": threshold,
                        },
                    )
                )
        return findings


@final
@dataclass(frozen=True)
class MissingIndex:
    """Full scans of a filtered table in the plans of the slowest statements.

    Only statements taking at least ``min_share`` of the database time count (a scan of a
    ten-row lookup table is not a bottleneck). A scan of a table whose filter column already
    leads an index is the planner's choice (small table, poor selectivity), not a missing index.
    """

    name: ClassVar[str] = "missing_index"
    min_share: float = 0.01

    def check(self, facts: RunFacts) -> list[Finding]:
        """One finding per table and column list."""
        findings: list[Finding] = []
        seen: set[tuple[str, str, tuple[str, ...]]] = set()
        for db in facts.databases:
            db_total = db.total_ms
            for statement in sorted(db.statements.values(), key=lambda s: -s.total_ms):
                share = statement.total_ms / db_total if db_total > 0 else 0.0
                if share < self.min_share or statement.plan is None:
                    continue
                for table, columns in _index_advice(statement):
                    if (db.name, table, columns) in seen:
                        continue
                    seen.add((db.name, table, columns))
                    scan = next(
                        (line.strip() for line in statement.plan.lines if table in line), ""
                    )
                    findings.append(
                        Finding(
                            kind=self.name,
                            title=(
                                f"Full scan of {table}{_where(statement)}: "
                                f"{short_sql(statement.sql)}"
                            ),
                            evidence=(
                                f"plan: {scan or 'full scan'}; "
                                f"{format_latency_ms(statement.histogram.mean_ms)} avg over "
                                f"{statement.calls:,} calls, {share:.0%} of database time"
                            ),
                            recommendation=f"Add an index on {_index_text(table, columns)}",
                            severity="high",
                            data={
                                "database": db.name,
                                "sql": statement.sql,
                                "operation": statement.top_operation,
                                "table": table,
                                "columns": list(columns),
                                "plan": list(statement.plan.lines),
                                "share": share,
                            },
                        )
                    )
        return findings


def _table_of(sql: str) -> str:
    tables = list(dict.fromkeys(table_aliases(sql).values()))
    return tables[0] if tables else "the related"


@final
@dataclass(frozen=True)
class NPlusOne:
    """An operation running the same normalised SELECT ``per_call`` times or more per call
    (over at least ``min_calls`` calls of the operation)."""

    name: ClassVar[str] = "n_plus_one"
    per_call: float = 5.0
    min_calls: int = 2

    def check(self, facts: RunFacts) -> list[Finding]:
        """At most one finding per operation: its most repeated SELECT."""
        worst: dict[str, tuple[float, int, StatementStats, DatabaseStats]] = {}
        for db in facts.databases:
            for statement in db.statements.values():
                if statement.verb != "SELECT":
                    continue
                for op, count in statement.by_operation.items():
                    calls = facts.operation_calls.get(op, 0)
                    if op == NO_OPERATION or calls < self.min_calls:
                        continue
                    per_call = count / calls
                    if per_call >= self.per_call and per_call > worst.get(op, (0.0,))[0]:
                        worst[op] = (per_call, count, statement, db)
        findings = []
        for op, (per_call, count, statement, db) in sorted(worst.items()):
            table = _table_of(statement.sql)
            calls = facts.operation_calls[op]
            findings.append(
                Finding(
                    kind=self.name,
                    title=f"N+1 queries in {op}: {short_sql(statement.sql)}",
                    evidence=(
                        f"{per_call:.1f} times per call ({count:,} executions in {calls:,} "
                        f"calls of {op})"
                    ),
                    recommendation=(
                        f"Load the {table} rows of {op} in one query: eager loading "
                        "(selectinload() or joinedload() on the relationship) or one "
                        "SELECT ... WHERE ... IN (...)"
                    ),
                    severity="high" if per_call >= 4 * self.per_call else "medium",
                    data={
                        "database": db.name,
                        "operation": op,
                        "sql": statement.sql,
                        "table": table,
                        "per_call": per_call,
                        "executions": count,
                        "calls": calls,
                    },
                )
            )
        return findings


@final
@dataclass(frozen=True)
class PoolSaturation:
    """The pool as the bottleneck: any checkout timeout; or the checked-out peak at
    ``peak_ratio`` of the capacity while checkouts waited ``wait_ms`` or more; or checkouts
    waiting ``10 * wait_ms`` whatever the capacity (an unbounded pool opening connections
    slowly). The wait compared is the larger of the mean and the p95: under the GIL a thread
    that returns a connection often takes it again at once, so most checkouts are instant while
    a few threads wait seconds, which the p95 alone hides.

    The suggested size is the peak demand (checked out plus waiting) times ``headroom``.
    """

    name: ClassVar[str] = "pool_saturation"
    peak_ratio: float = 1.0
    wait_ms: float = 5.0
    headroom: float = 1.25

    def check(self, facts: RunFacts) -> list[Finding]:
        """At most one finding per engine."""
        findings = []
        for db in facts.databases:
            pool = db.pool
            capacity = pool.capacity
            if pool.wait.count:
                wait_mean, wait_p95, wait_max = (
                    pool.wait.mean_ms,
                    pool.wait.percentile_ms(95),
                    pool.wait.max_ms,
                )
            else:
                wait_mean = wait_p95 = wait_max = 0.0
            wait = max(wait_mean, wait_p95)
            hold_p95 = pool.hold.percentile_ms(95) if pool.hold.count else math.nan
            full = capacity is not None and pool.peak_checked_out >= self.peak_ratio * capacity
            if not (pool.timeouts or (full and wait >= self.wait_ms) or wait >= 10 * self.wait_ms):
                continue
            demand = pool.peak_checked_out + max(pool.peak_waiting - 1, 0)
            suggested = max(math.ceil(demand * self.headroom), (capacity or 0) + 1)
            limit = f"{pool.peak_checked_out}/{capacity}" if capacity else "no fixed limit"
            timeouts = ""
            if pool.timeouts:
                after = f" after {pool.timeout_s:g}s" if pool.timeout_s is not None else ""
                timeouts = f", {pool.timeouts:,} timeouts{after}"
            sizes = (
                f"pool_size + max_overflow, now {pool.size} + {pool.max_overflow}"
                if capacity is not None
                else "the pool's limit"
            )
            severe: Severity = "high" if pool.timeouts or wait >= 10 * self.wait_ms else "medium"
            findings.append(
                Finding(
                    kind=self.name,
                    title="Connection pool at its limit" if full else "Slow connection checkout",
                    evidence=(
                        f"checked out {limit} at peak, up to {pool.peak_waiting} callers waiting; "
                        f"checkout wait mean {format_latency_ms(wait_mean)}, p95 "
                        f"{format_latency_ms(wait_p95)}, max {format_latency_ms(wait_max)}"
                        f"{timeouts}"
                    ),
                    recommendation=(
                        f"Increase the connection pool to {suggested} ({sizes}; check the "
                        "server's max_connections), or hold connections shorter (hold p95 "
                        f"{format_latency_ms(hold_p95)}): no slow work inside a transaction"
                    ),
                    severity=severe,
                    data={
                        "database": db.name,
                        "capacity": capacity,
                        "peak_checked_out": pool.peak_checked_out,
                        "peak_waiting": pool.peak_waiting,
                        "wait_mean_ms": wait_mean,
                        "wait_p95_ms": wait_p95,
                        "wait_max_ms": wait_max,
                        "hold_p95_ms": none_if_nan(hold_p95),
                        "timeouts": pool.timeouts,
                        "suggested_size": suggested,
                    },
                )
            )
        return findings
