"""``timeline.csv`` and ``summary.csv``: the numbers of a report, for spreadsheets and scripts.

``timeline.csv`` has one row per test run, scope and timeline window: scope ``all`` is every call
of the run's tasks, scope ``operation`` one task, step or hook. ``summary.csv`` has one row per
test run (scope ``all``) and one per operation. Latencies are milliseconds, rates per second,
empty cells mean "not measured". Column order is fixed: new columns are only ever appended.

Text cells (test ids, names, kinds) are one line each, control characters shown as escapes, and
a cell a spreadsheet would take for a formula (``=HYPERLINK(...)`` as an operation name) starts
with ``'``: see :func:`~pytest_loadtest._report._escape.csv_text`. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from pytest_loadtest._report._escape import csv_text
from pytest_loadtest._report._files import write_with
from pytest_loadtest._report._view import ResultView, Verdict, count, rows_of

if TYPE_CHECKING:
    from pytest_loadtest._model._result import OperationStats

__all__ = [
    "SUMMARY_COLUMNS",
    "TIMELINE_COLUMNS",
    "summary_rows",
    "timeline_rows",
    "write_summary_csv",
    "write_timeline_csv",
]

TIMELINE_COLUMNS: Final = (
    "test_id",
    "run",
    "scope",
    "operation",
    "kind",
    "t_s",
    "window_s",
    "calls",
    "errors",
    "calls_per_s",
    "error_rate",
    "users",
    "dropped",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "warmup",
    "cpu_percent",
    "rss_mb",
    "loop_lag_ms",
)

SUMMARY_COLUMNS: Final = (
    "test_id",
    "run",
    "scope",
    "operation",
    "kind",
    "parent",
    "passed",
    "breaches",
    "users",
    "duration_s",
    "calls",
    "errors",
    "error_rate",
    "calls_per_s",
    "dropped",
    "min_ms",
    "p50_ms",
    "p75_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "mean_ms",
    "stdev_ms",
)

_LATENCY_KEYS: Final = ("min", "p50", "p75", "p90", "p95", "p99", "p999", "max", "mean", "stdev")


def _cell(value: object) -> object:
    """A CSV cell: ``""`` for missing or non-finite numbers, ``true``/``false`` for booleans,
    text made safe for a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, (int, float)):
        return value
    return csv_text(value)  # text, or whatever a hand-edited results file held


def _timeline(view: ResultView, op: OperationStats | None) -> Iterator[dict[str, object]]:
    rows = rows_of(view.data if op is None else view.operation_data(op))
    window = view.window  # of the overall timeline: an operation's may have gaps
    for row in rows:
        calls = count(row.get("calls"))
        errors = count(row.get("errors"))
        yield {
            "test_id": view.test_id,
            "run": view.name,
            "scope": "all" if op is None else "operation",
            "operation": "" if op is None else op.name,
            "kind": "" if op is None else op.kind,
            "t_s": row.get("t"),
            "window_s": window,
            "calls": calls,
            "errors": errors,
            "calls_per_s": calls / window,
            "error_rate": errors / calls if calls else None,
            "users": row.get("users"),
            "dropped": row.get("dropped"),
            "p50_ms": row.get("p50"),
            "p95_ms": row.get("p95"),
            "p99_ms": row.get("p99"),
            "max_ms": row.get("max"),
            "warmup": bool(row.get("warmup", False)),
            "cpu_percent": row.get("cpu"),
            "rss_mb": row.get("rss_mb"),
            "loop_lag_ms": row.get("loop_lag"),
        }


def timeline_rows(views: Sequence[ResultView]) -> Iterator[dict[str, object]]:
    """Rows of ``timeline.csv``, keyed by :data:`TIMELINE_COLUMNS`."""
    for view in views:
        yield from _timeline(view, None)
        for op in view.operations:
            yield from _timeline(view, op)


def _dropped(stats: Mapping[str, Any]) -> object:
    if "dropped" in stats:
        return stats["dropped"]
    known = [row["dropped"] for row in rows_of(stats) if "dropped" in row]
    return sum(count(d) for d in known) if known else None


def _summary(view: ResultView, op: OperationStats | None) -> dict[str, object]:
    stats = view.data if op is None else view.operation_data(op)
    latency = stats.get("latency_ms") or {}
    breaches = [b for b in view.result.sla_breaches if op is None or b.operation == op.name]
    row: dict[str, object] = {
        "test_id": view.test_id,
        "run": view.name,
        "scope": "all" if op is None else "operation",
        "operation": "" if op is None else op.name,
        "kind": "" if op is None else op.kind,
        "parent": None if op is None else op.parent,
        "passed": view.verdict is not Verdict.FAIL,
        "breaches": len(breaches),
        "users": view.result.users if op is None else None,
        "duration_s": stats.get("duration"),
        "calls": stats.get("total"),
        "errors": stats.get("errors"),
        "error_rate": stats.get("error_rate"),
        "calls_per_s": stats.get("throughput"),
        "dropped": _dropped(stats),
    }
    row.update({f"{key}_ms": _to_ns(latency.get(key)) for key in _LATENCY_KEYS})
    return row


def _to_ns(value: object) -> object:
    """Milliseconds rounded to the nanosecond: a mean or a standard deviation carries no more, and
    its last binary digits differ between numpy releases."""
    return round(value, 6) if isinstance(value, float) and math.isfinite(value) else value


def summary_rows(views: Sequence[ResultView]) -> Iterator[dict[str, object]]:
    """Rows of ``summary.csv``, keyed by :data:`SUMMARY_COLUMNS`."""
    for view in views:
        yield _summary(view, None)
        for op in view.operations:
            yield _summary(view, op)


def _write_rows(handle: IO[str], columns: Sequence[str], rows: Iterator[dict[str, object]]) -> None:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])


def write_timeline_csv(path: Path, views: Sequence[ResultView]) -> Path:
    """Write ``timeline.csv`` atomically; returns ``path``."""
    return write_with(
        path,
        lambda handle: _write_rows(handle, TIMELINE_COLUMNS, timeline_rows(views)),
        newline="",
    )


def write_summary_csv(path: Path, views: Sequence[ResultView]) -> Path:
    """Write ``summary.csv`` atomically; returns ``path``."""
    return write_with(
        path,
        lambda handle: _write_rows(handle, SUMMARY_COLUMNS, summary_rows(views)),
        newline="",
    )
