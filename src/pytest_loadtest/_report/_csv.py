"""``timeline.csv`` and ``summary.csv``: the numbers of a report, for spreadsheets and scripts.

``timeline.csv`` has one row per test run, scope and timeline window: scope ``all`` is every call
of the run's tasks, scope ``operation`` one task, step or hook. ``summary.csv`` has one row per
test run (scope ``all``) and one per operation. Latencies are milliseconds, rates per second,
empty cells mean "not measured". Column order is fixed: new columns are only ever appended.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final

from pytest_loadtest._report._files import write_with
from pytest_loadtest._report._view import ResultView, count, ordered_operations

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
    """A CSV cell: ``""`` for missing or non-finite numbers, ``true``/``false`` for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return value


def _timeline(
    view: ResultView, scope: str, op: Mapping[str, Any] | None
) -> Iterator[dict[str, object]]:
    rows = [r for r in ((op or view.data).get("timeline") or []) if isinstance(r, dict)]
    window = view.window  # of the overall timeline: an operation's may have gaps
    for row in rows:
        calls = count(row.get("calls"))
        errors = count(row.get("errors"))
        yield {
            "test_id": view.test_id,
            "run": view.name,
            "scope": scope,
            "operation": "" if op is None else str(op.get("name", "")),
            "kind": "" if op is None else str(op.get("kind", "")),
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
        }


def timeline_rows(views: Sequence[ResultView]) -> Iterator[dict[str, object]]:
    """Rows of ``timeline.csv``, keyed by :data:`TIMELINE_COLUMNS`."""
    for view in views:
        yield from _timeline(view, "all", None)
        for op in ordered_operations(view.data):
            yield from _timeline(view, "operation", op)


def _dropped(stats: Mapping[str, Any]) -> object:
    if "dropped" in stats:
        return stats["dropped"]
    rows = stats.get("timeline") or []
    known = [row["dropped"] for row in rows if isinstance(row, dict) and "dropped" in row]
    return sum(count(d) for d in known) if known else None


def _summary(view: ResultView, scope: str, stats: Mapping[str, Any]) -> dict[str, object]:
    latency = stats.get("latency_ms") or {}
    operation = None if scope == "all" else stats.get("name")
    breaches = [
        b
        for b in view.data.get("sla_breaches") or []
        if isinstance(b, dict) and (scope == "all" or b.get("operation") == operation)
    ]
    row: dict[str, object] = {
        "test_id": view.test_id,
        "run": view.name,
        "scope": scope,
        "operation": "" if operation is None else str(operation),
        "kind": "" if scope == "all" else str(stats.get("kind", "")),
        "parent": stats.get("parent") if scope != "all" else None,
        "passed": bool(view.data.get("passed", not view.data.get("sla_breaches"))),
        "breaches": len(breaches),
        "users": view.data.get("users") if scope == "all" else None,
        "duration_s": stats.get("duration"),
        "calls": stats.get("total"),
        "errors": stats.get("errors"),
        "error_rate": stats.get("error_rate"),
        "calls_per_s": stats.get("throughput"),
        "dropped": _dropped(stats),
    }
    row.update({f"{key}_ms": latency.get(key) for key in _LATENCY_KEYS})
    return row


def summary_rows(views: Sequence[ResultView]) -> Iterator[dict[str, object]]:
    """Rows of ``summary.csv``, keyed by :data:`SUMMARY_COLUMNS`."""
    for view in views:
        yield _summary(view, "all", view.data)
        for op in ordered_operations(view.data):
            yield _summary(view, "operation", op)


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
