"""EXPLAIN the slowest statements after a run, and find full scans of filtered tables.

SQLite's ``EXPLAIN QUERY PLAN`` says ``SCAN <table or alias>`` for a full scan (``SEARCH ...
USING INDEX`` otherwise) but not on which column the table is filtered, so the columns come from
the statement's ``WHERE`` and ``ON`` clauses. PostgreSQL's ``EXPLAIN`` says ``Seq Scan on
<table>`` with a ``Filter:`` line naming them. Neither runs the statement (no ``ANALYZE``).

Only :func:`explain` touches a database (SQLAlchemy imported there); the parsers are pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from pytest_loadtest._monitor._statements import QueryPlan, Scan

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

__all__ = [
    "error_text",
    "explain",
    "explain_on",
    "filter_columns",
    "postgresql_scans",
    "sqlite_scans",
    "table_aliases",
    "unsupported",
]

# fmt: off
_KEYWORDS: Final = frozenset({
    "where", "join", "left", "right", "inner", "outer", "full", "cross", "natural", "on", "using",
    "group", "order", "limit", "offset", "having", "union", "except", "intersect", "returning",
    "window", "for", "set", "values", "and", "or", "not", "as", "select", "from", "is", "in",
    "like", "ilike", "between", "null", "exists", "any", "all", "case", "when", "then", "else",
    "end",
})
# fmt: on
#: What each understood dialect's EXPLAIN starts with (no ``ANALYZE``: nothing is run).
_PREFIX: Final = {"sqlite": "EXPLAIN QUERY PLAN ", "postgresql": "EXPLAIN "}
_IDENT: Final = r'"?(\w+)"?'
_NOT_KEYWORD: Final = rf"(?!(?:{'|'.join(sorted(_KEYWORDS))})\b)"
_TABLES: Final = re.compile(
    rf"\b(?:FROM|JOIN|UPDATE|INTO)\s+(?:{_IDENT}\.)?{_IDENT}"
    rf"(?:\s+(?:AS\s+)?{_NOT_KEYWORD}{_IDENT})?",
    re.IGNORECASE,
)
_SEGMENT: Final = re.compile(
    r"\b(WHERE|ON)\b(.*?)(?=\b(?:ORDER|GROUP|LIMIT|OFFSET|HAVING|RETURNING|WINDOW|UNION|"
    r"JOIN|LEFT|RIGHT|INNER|FULL|CROSS|FOR|WHERE|ON)\b|$)",
    re.IGNORECASE | re.DOTALL,
)
_OPERATOR: Final = r"(?:=|!=|<>|<=|>=|<|>|(?:NOT\s+)?(?:IN|LIKE|ILIKE|BETWEEN)\b|IS\b)"
_LEFT: Final = re.compile(rf"(?:{_IDENT}\.)?{_IDENT}\s*{_OPERATOR}", re.IGNORECASE)
_RIGHT: Final = re.compile(rf"{_OPERATOR}\s*{_IDENT}\.{_IDENT}", re.IGNORECASE)
_SQLITE_SCAN: Final = re.compile(r"^SCAN (?:TABLE )?(\w+)(?: AS (\w+))?(.*)$")
_PG_SCAN: Final = re.compile(r"(?:Parallel )?Seq Scan on (?:\w+\.)?(\w+)(?: (\w+))?")
_PG_FILTER: Final = re.compile(r"^\s*Filter: (.*)$")
# a column in a filter, maybe cast: "(client_id = 5)", "((name)::text = 'a'::text)"
_PG_COLUMN: Final = re.compile(
    rf"(?<![:\w])(?:\w+\.)?(\w+)\)?(?:::[\w\s]+?)?\)?\s*{_OPERATOR}", re.IGNORECASE
)


def table_aliases(sql: str) -> dict[str, str]:
    """Name or alias -> table, for the tables a statement reads or writes."""
    out: dict[str, str] = {}
    for match in _TABLES.finditer(sql):
        table, alias = match.group(2), match.group(3)
        if table.lower() in _KEYWORDS:
            continue
        out[table] = table
        if alias and alias.lower() not in _KEYWORDS:
            out[alias] = table
    return out


def filter_columns(sql: str) -> dict[str, list[str]]:
    """Table -> the columns an index on it would serve: those it is compared on in the
    ``WHERE`` clause, else (a table joined without a filter of its own) in the ``ON`` clauses.

    Qualified columns (``projects.client_id``, ``p.client_id``) go to their table through its
    alias; unqualified ones only when the statement names a single table.
    """
    aliases = table_aliases(sql)
    tables = set(aliases.values())
    found: dict[str, dict[str, list[str]]] = {"WHERE": {}, "ON": {}}

    def add(clause: str, qualifier: str | None, column: str) -> None:
        if column.lower() in _KEYWORDS or column.isdigit():
            return
        if qualifier is not None:
            table = aliases.get(qualifier)
        else:
            table = next(iter(tables)) if len(tables) == 1 else None
        if table is not None and column not in found[clause].setdefault(table, []):
            found[clause][table].append(column)

    for segment in _SEGMENT.finditer(sql):
        clause, text = segment.group(1).upper(), segment.group(2)
        for match in _LEFT.finditer(text):
            add(clause, match.group(1), match.group(2))
        for match in _RIGHT.finditer(text):
            add(clause, match.group(1), match.group(2))
    out = dict(found["ON"])
    out.update(found["WHERE"])
    return {table: columns for table, columns in out.items() if columns}


def sqlite_scans(sql: str, details: Iterable[str]) -> list[Scan]:
    """Full scans in SQLite's ``EXPLAIN QUERY PLAN`` details (``SCAN x`` without an index)
    of tables the statement filters, with those columns."""
    aliases = table_aliases(sql)
    columns = filter_columns(sql)
    scans = []
    for detail in details:
        match = _SQLITE_SCAN.match(detail.strip())
        if match is None or "USING" in match.group(3):  # SCAN ... USING (COVERING) INDEX
            continue
        name = match.group(2) or match.group(1)
        table = aliases.get(name, aliases.get(match.group(1), match.group(1)))
        if columns.get(table):
            scans.append(Scan(table, tuple(columns[table])))
    return scans


def postgresql_scans(sql: str, lines: Sequence[str]) -> list[Scan]:
    """``Seq Scan`` nodes with a ``Filter:`` in PostgreSQL's ``EXPLAIN``, with the filtered
    columns (from the filter, else from the statement's ``WHERE``)."""
    by_table = filter_columns(sql)
    scans = []
    for i, line in enumerate(lines):
        match = _PG_SCAN.search(line)
        if match is None:
            continue
        table = match.group(1)
        depth = len(line) - len(line.lstrip())
        found: list[str] = []
        for child in lines[i + 1 :]:
            if len(child) - len(child.lstrip()) <= depth or "->" in child:
                break  # the node's own properties end at the next node
            filtered = _PG_FILTER.match(child)
            if filtered is not None:
                for column in _PG_COLUMN.findall(filtered.group(1)):
                    if column.lower() not in _KEYWORDS and column not in found:
                        found.append(column)
                found = found or list(by_table.get(table, []))
                break
        if found:
            scans.append(Scan(table, tuple(found)))
    return scans


def _leading_columns(connection: Connection, table: str) -> tuple[str, ...]:
    """First column of each index, primary key and unique constraint of ``table``."""
    from sqlalchemy import inspect

    inspector = inspect(connection)
    leading: list[str] = []
    groups: list[Sequence[Any]] = [
        list(index.get("column_names") or []) for index in inspector.get_indexes(table)
    ]
    groups.append(list(inspector.get_pk_constraint(table).get("constrained_columns") or []))
    groups.extend(
        list(unique.get("column_names") or []) for unique in inspector.get_unique_constraints(table)
    )
    for columns in groups:
        if columns and columns[0] is not None and columns[0] not in leading:
            leading.append(str(columns[0]))
    return tuple(leading)


def _first_parameters(parameters: Any) -> Any:
    # executemany: the parameters of the first row
    if isinstance(parameters, list) and parameters and not isinstance(parameters[0], (str, int)):
        return parameters[0]
    return parameters


def error_text(exc: BaseException) -> str:
    """What a plan's ``error`` says of an exception: its type and first line."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def unsupported(dialect: str) -> QueryPlan | None:
    """The plan of a dialect EXPLAIN is not understood for (``None`` for SQLite and
    PostgreSQL)."""
    if dialect in _PREFIX:
        return None
    return QueryPlan(dialect, error=f"EXPLAIN is not supported for the {dialect} dialect")


def explain(engine: Engine, statement: str, parameters: Any) -> QueryPlan:
    """EXPLAIN ``statement`` with ``parameters`` on a connection of its own, rolled back.

    SQLite and PostgreSQL are understood; other dialects get a plan with an ``error``. Errors
    of the EXPLAIN itself (a temporary table gone, a statement EXPLAIN refuses) are kept in
    the plan's ``error`` rather than raised: a run's findings never fail on them.
    """
    plan = unsupported(engine.dialect.name)
    if plan is not None:
        return plan
    try:
        with engine.connect() as connection:
            return explain_on(connection, statement, parameters)
    except Exception as exc:  # could not connect: the plan says so instead
        return QueryPlan(engine.dialect.name, error=error_text(exc))


def explain_on(connection: Connection, statement: str, parameters: Any) -> QueryPlan:
    """EXPLAIN ``statement`` on ``connection`` (a sync one: an async engine's, inside
    ``AsyncConnection.run_sync``), rolled back; an error is kept in the plan, not raised."""
    dialect = connection.dialect.name
    plan = unsupported(dialect)
    if plan is not None:
        return plan
    try:
        rows = connection.exec_driver_sql(
            _PREFIX[dialect] + statement, _first_parameters(parameters)
        ).all()
        connection.rollback()
        lines = tuple(str(row[-1] if dialect == "sqlite" else row[0]) for row in rows)
        if dialect == "sqlite":
            scans = sqlite_scans(statement, lines)
        else:
            scans = postgresql_scans(statement, lines)
        scans = [
            Scan(scan.table, scan.columns, _leading_columns(connection, scan.table))
            for scan in scans
        ]
    except Exception as exc:  # any driver's error: the plan says so instead
        return QueryPlan(dialect, error=error_text(exc))
    return QueryPlan(dialect, lines, tuple(scans))
