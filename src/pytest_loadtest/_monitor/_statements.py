"""What a :class:`~pytest_loadtest._monitor.DatabaseWatch` measured, as plain data.

Nothing here imports SQLAlchemy: statements are strings, plans and histograms plain objects, so
detectors and reports can be tested (and results reloaded from JSON) without a database. The
``merge`` class methods add what one engine did in several worker processes of a load test
(scale-out) into one, exactly: counts summed, histograms added.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, final

from pytest_loadtest._model._stats import LatencyHistogram

__all__ = [
    "NO_OPERATION",
    "DatabaseStats",
    "PoolStats",
    "QueryPlan",
    "Scan",
    "StatementStats",
    "normalise_sql",
]

#: The operation name of statements run outside any operation (fixtures, hooks of other code).
NO_OPERATION: Final = "<none>"

_COMMENTS: Final = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_STRINGS: Final = re.compile(r"'(?:[^']|'')*'")
_PLACEHOLDERS: Final = re.compile(
    r"%\(\w+\)s|%s|(?<![:\w]):\w+|\$\d+|\?|(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])"
)
_LISTS: Final = re.compile(r"\(\s*\?(?:\s*,\s*\?)*\s*\)")
_REPEATED_LISTS: Final = re.compile(r"\(\?\)(?:\s*,\s*\(\?\))+")
_SPACE: Final = re.compile(r"\s+")
_SPACE_IN_PARENS: Final = re.compile(r"\(\s+|\s+\)")


def normalise_sql(sql: str) -> str:
    """One key per statement shape: comments dropped, literals and bound parameters (``?``,
    ``%(name)s``, ``:name``, ``$1``, numbers, strings) replaced by ``?``, lists of them
    (``IN (?, ?, ?)``, multi-row ``VALUES``) folded to one, whitespace collapsed."""
    text = _COMMENTS.sub(" ", sql)
    text = _STRINGS.sub("?", text)
    text = _PLACEHOLDERS.sub("?", text)
    text = _SPACE.sub(" ", text)
    text = _LISTS.sub("(?)", text)
    text = _REPEATED_LISTS.sub("(?)", text)
    text = _SPACE_IN_PARENS.sub(lambda m: m.group(0).strip(), text)
    return text.strip()


@final
@dataclass(frozen=True)
class Scan:
    """A full scan of ``table`` in a plan, with the columns the statement filters it on and the
    leading columns of the indexes the table already has."""

    table: str
    columns: tuple[str, ...] = ()
    indexed: tuple[str, ...] = ()

    @property
    def unindexed_columns(self) -> tuple[str, ...]:
        """The filter columns no index starts with; empty when any filter column has one
        (then the planner chose the scan: small table, poor selectivity)."""
        if any(column in self.indexed for column in self.columns):
            return ()
        return self.columns

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"table": self.table, "columns": list(self.columns), "indexed": list(self.indexed)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scan:
        """Inverse of :meth:`to_dict`."""
        return cls(
            str(data["table"]),
            tuple(str(c) for c in data.get("columns", ())),
            tuple(str(c) for c in data.get("indexed", ())),
        )


@final
@dataclass(frozen=True)
class QueryPlan:
    """The EXPLAIN output of one statement (its first seen parameters) and its full scans."""

    dialect: str
    lines: tuple[str, ...] = ()
    scans: tuple[Scan, ...] = ()
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "dialect": self.dialect,
            "lines": list(self.lines),
            "scans": [scan.to_dict() for scan in self.scans],
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QueryPlan:
        """Inverse of :meth:`to_dict`."""
        return cls(
            str(data["dialect"]),
            tuple(str(line) for line in data.get("lines", ())),
            tuple(Scan.from_dict(s) for s in data.get("scans", ())),
            None if data.get("error") is None else str(data["error"]),
        )


@final
@dataclass
class StatementStats:
    """One normalised statement: its latency histogram and who ran it how often."""

    sql: str
    histogram: LatencyHistogram = field(default_factory=LatencyHistogram)
    by_operation: dict[str, int] = field(default_factory=dict)
    plan: QueryPlan | None = None

    @property
    def verb(self) -> str:
        """The statement's first keyword, upper case (``SELECT``, ``UPDATE``...)."""
        head = self.sql.lstrip("( ").split(" ", 1)[0]
        return head.upper()

    @property
    def calls(self) -> int:
        """Executions (an ``executemany`` counts once)."""
        return self.histogram.count

    @property
    def total_ms(self) -> float:
        """Time spent in the driver's cursor over all executions, in ms."""
        return self.histogram.mean_ms * self.calls if self.calls else 0.0

    @property
    def top_operation(self) -> str | None:
        """The operation that ran it most often (``None`` if none ran it)."""
        named = {op: n for op, n in self.by_operation.items() if op != NO_OPERATION}
        return max(named, key=lambda op: named[op]) if named else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the latency summary for readers that skip the histogram."""
        p50, p95, p99 = self.histogram.percentiles_ms([50, 95, 99]) if self.calls else (0, 0, 0)
        return {
            "sql": self.sql,
            "calls": self.calls,
            "total_ms": self.total_ms,
            "mean_ms": self.histogram.mean_ms if self.calls else None,
            "p50_ms": p50 if self.calls else None,
            "p95_ms": p95 if self.calls else None,
            "p99_ms": p99 if self.calls else None,
            "max_ms": self.histogram.max_ms if self.calls else None,
            "by_operation": dict(self.by_operation),
            "plan": self.plan.to_dict() if self.plan is not None else None,
            "histogram": self.histogram.to_dict(),
        }

    @classmethod
    def merge(cls, parts: Sequence[StatementStats]) -> StatementStats:
        """One statement as several processes ran it: histograms added, executions per
        operation summed, the plan of the first part that has one."""
        if not parts:
            raise ValueError("no statement to merge")
        histogram = LatencyHistogram()
        by_operation: dict[str, int] = {}
        for part in parts:
            histogram.add(part.histogram)
            for op, n in part.by_operation.items():
                by_operation[op] = by_operation.get(op, 0) + n
        plan = next((part.plan for part in parts if part.plan is not None), None)
        return cls(parts[0].sql, histogram, by_operation, plan)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StatementStats:
        """Inverse of :meth:`to_dict`."""
        plan = data.get("plan")
        return cls(
            sql=str(data["sql"]),
            histogram=LatencyHistogram.from_dict(data["histogram"]),
            by_operation={str(k): int(v) for k, v in data.get("by_operation", {}).items()},
            plan=QueryPlan.from_dict(plan) if plan else None,
        )


@final
@dataclass
class PoolStats:
    """The engine's connection pool during the run.

    ``wait`` is the time callers spent in ``Pool.connect()``: waiting for a free connection, or
    opening a new one when the pool may grow. ``hold`` is checkout to checkin.
    """

    kind: str  # pool class name
    size: int | None = None
    max_overflow: int | None = None
    timeout_s: float | None = None
    checkouts: int = 0
    connects: int = 0  # new DBAPI connections opened during the run
    timeouts: int = 0  # sqlalchemy.exc.TimeoutError raised by Pool.connect()
    peak_checked_out: int = 0
    peak_waiting: int = 0  # most callers inside Pool.connect() at once
    wait: LatencyHistogram = field(default_factory=LatencyHistogram)
    hold: LatencyHistogram = field(default_factory=LatencyHistogram)
    peak_by_window: dict[float, int] = field(default_factory=dict)

    @property
    def capacity(self) -> int | None:
        """``size + max_overflow`` for a bounded pool; ``None`` when it has no fixed limit."""
        if self.size is None or self.max_overflow is None or self.max_overflow < 0:
            return None
        return self.size + self.max_overflow

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        wait_p95 = self.wait.percentile_ms(95) if self.wait.count else None
        hold_p95 = self.hold.percentile_ms(95) if self.hold.count else None
        return {
            "kind": self.kind,
            "size": self.size,
            "max_overflow": self.max_overflow,
            "capacity": self.capacity,
            "timeout_s": self.timeout_s,
            "checkouts": self.checkouts,
            "connects": self.connects,
            "timeouts": self.timeouts,
            "peak_checked_out": self.peak_checked_out,
            "peak_waiting": self.peak_waiting,
            "wait_p95_ms": wait_p95,
            "hold_p95_ms": hold_p95,
            "wait": self.wait.to_dict(),
            "hold": self.hold.to_dict(),
            "peak_by_window": [[t, n] for t, n in sorted(self.peak_by_window.items())],
        }

    @classmethod
    def merge(cls, parts: Sequence[PoolStats]) -> PoolStats:
        """The pools of one engine in several processes, as one ``PoolStats``.

        Each process has a pool of its own, of the settings (``kind``, ``size``,
        ``max_overflow``, ``timeout_s``) of the first part: the figures compared with them
        stay those of one pool, the fullest: ``peak_checked_out``, ``peak_waiting`` and each
        window of ``peak_by_window`` are the highest of the parts' (so ``pool_saturation``
        reads "a pool was at its limit", never a sum of pools against one pool's size).
        What happened over time adds up: ``checkouts``, ``connects`` and ``timeouts`` are
        summed, the ``wait`` and ``hold`` histograms added exactly.
        """
        if not parts:
            raise ValueError("no pool to merge")
        first = parts[0]
        wait, hold = LatencyHistogram(), LatencyHistogram()
        peaks: dict[float, int] = {}
        for part in parts:
            wait.add(part.wait)
            hold.add(part.hold)
            for t, n in part.peak_by_window.items():
                peaks[t] = max(peaks.get(t, 0), n)
        return cls(
            kind=first.kind,
            size=first.size,
            max_overflow=first.max_overflow,
            timeout_s=first.timeout_s,
            checkouts=sum(part.checkouts for part in parts),
            connects=sum(part.connects for part in parts),
            timeouts=sum(part.timeouts for part in parts),
            peak_checked_out=max(part.peak_checked_out for part in parts),
            peak_waiting=max(part.peak_waiting for part in parts),
            wait=wait,
            hold=hold,
            peak_by_window=dict(sorted(peaks.items())),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PoolStats:
        """Inverse of :meth:`to_dict`."""

        def optional(key: str, kind: type[int] | type[float]) -> Any:
            value = data.get(key)
            return None if value is None else kind(value)

        return cls(
            kind=str(data["kind"]),
            size=optional("size", int),
            max_overflow=optional("max_overflow", int),
            timeout_s=optional("timeout_s", float),
            checkouts=int(data.get("checkouts", 0)),
            connects=int(data.get("connects", 0)),
            timeouts=int(data.get("timeouts", 0)),
            peak_checked_out=int(data.get("peak_checked_out", 0)),
            peak_waiting=int(data.get("peak_waiting", 0)),
            wait=LatencyHistogram.from_dict(data["wait"]),
            hold=LatencyHistogram.from_dict(data["hold"]),
            peak_by_window={float(t): int(n) for t, n in data.get("peak_by_window", [])},
        )


@final
@dataclass
class DatabaseStats:
    """Everything one watched engine did during a run."""

    name: str  # the engine's URL without password
    dialect: str
    statements: dict[str, StatementStats] = field(default_factory=dict)
    pool: PoolStats = field(default_factory=lambda: PoolStats("unknown"))
    errors: int = 0  # statements that raised (not in the histograms)

    def statements_by_operation(self) -> dict[str, int]:
        """Operation name -> statements it ran (``NO_OPERATION`` for the rest)."""
        out: dict[str, int] = {}
        for stats in self.statements.values():
            for op, n in stats.by_operation.items():
                out[op] = out.get(op, 0) + n
        return out

    @property
    def total_ms(self) -> float:
        """Time in the driver's cursor over all statements, in ms."""
        return sum(s.total_ms for s in self.statements.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; statements ordered by total time, largest first."""
        ordered = sorted(self.statements.values(), key=lambda s: s.total_ms, reverse=True)
        return {
            "name": self.name,
            "dialect": self.dialect,
            "statements": [s.to_dict() for s in ordered],
            "statements_by_operation": self.statements_by_operation(),
            "pool": self.pool.to_dict(),
            "errors": self.errors,
        }

    @classmethod
    def merge(cls, parts: Sequence[DatabaseStats]) -> DatabaseStats:
        """One engine as several processes watched it: statements merged by normalised text
        (:meth:`StatementStats.merge`), the pools by :meth:`PoolStats.merge`, errors summed;
        the name of the first part. ``ValueError`` for no part or parts of other dialects
        (not one engine)."""
        if not parts:
            raise ValueError("no database stats to merge")
        first = parts[0]
        dialects = sorted({part.dialect for part in parts})
        if len(dialects) > 1:
            raise ValueError(f"database stats of different dialects cannot merge: {dialects}")
        by_sql: dict[str, list[StatementStats]] = {}
        for part in parts:
            for sql, statement in part.statements.items():
                by_sql.setdefault(sql, []).append(statement)
        return cls(
            name=first.name,
            dialect=first.dialect,
            statements={sql: StatementStats.merge(same) for sql, same in by_sql.items()},
            pool=PoolStats.merge([part.pool for part in parts]),
            errors=sum(part.errors for part in parts),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatabaseStats:
        """Inverse of :meth:`to_dict`."""
        statements = [StatementStats.from_dict(s) for s in data.get("statements", [])]
        return cls(
            name=str(data["name"]),
            dialect=str(data["dialect"]),
            statements={s.sql: s for s in statements},
            pool=PoolStats.from_dict(data["pool"]),
            errors=int(data.get("errors", 0)),
        )
