"""The "load test results" table and notes printed at the end of a session."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from pytest_loadtest._result import LoadResult, OperationStats
from pytest_loadtest._sla import min_calls_for_percentile
from pytest_loadtest._units import format_latency_ms, format_rate

__all__ = ["failure_message", "summary_lines"]

_COLUMNS: Final = ("users", "calls", "calls/s", "err%", "p50", "p95", "p99", "max", "SLA")


def _row(label: str, users: str, stats: LoadResult | OperationStats, verdict: str) -> list[str]:
    return [
        label,
        users,
        f"{stats.total:,}",
        format_rate(stats.throughput),
        f"{stats.error_rate * 100:.2f}",
        format_latency_ms(stats.p50),
        format_latency_ms(stats.p95),
        format_latency_ms(stats.p99),
        format_latency_ms(stats.max),
        verdict,
    ]


def _verdict(result: LoadResult, no_sla: bool) -> str:
    if result.passed:
        return "pass" if result.sla is not None else "-"
    return "BREACH" if no_sla else "FAIL"


def _title(result: LoadResult) -> str:
    return f"{result.test_id} [{result.name}]" if result.test_id else result.name


def _table(results: Sequence[LoadResult], no_sla: bool) -> list[list[str]]:
    rows = []
    for result in results:
        verdict = _verdict(result, no_sla)
        tasks = [op for op in result.operations.values() if op.kind == "task"]
        if len(result.operations) == 1 and tasks:
            rows.append(_row(_title(result), str(result.users), result, verdict))
            continue
        rows.append(_row(_title(result), str(result.users), result, verdict))
        for op in _ordered(result):
            indent = "    " if op.kind == "step" and op.parent in result.operations else "  "
            suffix = " (hook)" if op.kind == "hook" else ""
            rows.append(_row(f"{indent}{op.name}{suffix}", "", op, ""))
    return rows


def _ordered(result: LoadResult) -> list[OperationStats]:
    """Tasks, each followed by its steps; then hooks; then steps outside any task."""
    ops = list(result.operations.values())
    ordered = []
    for task in (op for op in ops if op.kind == "task"):
        ordered.append(task)
        ordered.extend(op for op in ops if op.kind == "step" and op.parent == task.name)
    ordered.extend(op for op in ops if op.kind == "hook")
    ordered.extend(op for op in ops if op not in ordered)
    return ordered


def summary_lines(results: Sequence[LoadResult], *, no_sla: bool = False) -> list[str]:
    """Lines of the summary: a table of every result and operation, then notes."""
    if not results:
        return []
    table = [["test / operation", *_COLUMNS], *_table(results, no_sla)]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = []
    for row in table:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(widths[i]) for i, cell in enumerate(row[1:], 1)]
        lines.append("  ".join(cells).rstrip())
    notes = [note for result in results for note in _notes(result, no_sla)]
    return lines + ([""] if notes else []) + notes


def _notes(result: LoadResult, no_sla: bool) -> list[str]:
    title = _title(result)
    notes = []
    if result.interrupted:
        notes.append(f"{title}: interrupted; figures cover what was measured before the stop")
    for breach in result.sla_breaches:
        word = "breach (not failing: --load-no-sla)" if no_sla else "SLA breach"
        notes.append(f"{title}: {word}: {breach.message}")
    for check in result.low_sample_checks():
        stats = result if check.operation is None else result.operations[check.operation]
        percentile = float(check.metric[1:])
        notes.append(
            f"{title}: low sample: {check.describe()} rests on {stats.total} calls "
            f"(at least {min_calls_for_percentile(percentile):,} give a meaningful {check.metric})"
        )
    for type_name, sample in sorted(result.errors_by_type.items(), key=lambda kv: -kv[1].count):
        message = sample.message.splitlines()[0] if sample.message else ""
        notes.append(f"{title}: error {type_name} x{sample.count}: {message[:200]}")
    if result.gil_contention:
        worst = result.users * 5
        idle = (
            f"; {result.idle_users} of {result.users} users never completed a call"
            if result.idle_users
            else ""
        )
        notes.append(
            f"{title}: GIL contention: {result.users} users kept the process at "
            f"{result.cpu_utilisation:.0%} CPU (at most {result.peak_active} active at once"
            f"{idle}); "
            f"with the interpreter's 5ms switch interval a call can wait up to ~{worst:,}ms for "
            "the GIL, and latencies above include that wait"
        )
    if result.late_calls:
        notes.append(
            f"{title}: {result.late_calls} calls reached the timeline after their window closed "
            "(counted, not in that window's percentiles)"
        )
    return notes


def failure_message(results: Sequence[LoadResult]) -> str:
    """The message that fails a test whose results breached their SLA."""
    lines = []
    for result in results:
        if result.passed:
            continue
        lines.append(
            f"load test {result.name!r} breached its SLA ({result.total:,} calls, "
            f"{result.users} user{'s' if result.users != 1 else ''}, {result.duration:.1f}s, "
            f"p95 {format_latency_ms(result.p95)}, "
            f"errors {result.error_rate:.2%}):"
        )
        lines.extend(f"  - {breach.message}" for breach in result.sla_breaches)
        for type_name, sample in result.errors_by_type.items():
            first = sample.message.splitlines()[0] if sample.message else ""
            lines.append(f"  error {type_name} x{sample.count}, first: {first[:200]}")
    return "\n".join(lines)


def user_property(result: LoadResult) -> tuple[str, str]:
    """A compact ``(name, value)`` pair for ``user_properties`` and junitxml."""

    def ms(value: float) -> str:
        return "" if math.isnan(value) else f"{value:.3f}"

    value = (
        f"calls={result.total} errors={result.errors} throughput={result.throughput:.2f}/s "
        f"p50={ms(result.p50)}ms p95={ms(result.p95)}ms p99={ms(result.p99)}ms "
        f"max={ms(result.max)}ms passed={result.passed}"
    )
    return f"loadtest[{result.name}]", value
