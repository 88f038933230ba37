"""The "load test results" table and notes printed at the end of a session."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from pytest_loadtest._model._result import LoadResult, OperationStats
from pytest_loadtest._model._sla import min_calls_for_percentile
from pytest_loadtest._model._units import format_latency_ms, format_rate

__all__ = ["failure_message", "summary_lines"]

_COLUMNS: Final = ("load", "calls", "calls/s", "err%", "p50", "p95", "p99", "max", "SLA")


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
    if result.probe is not None:
        return "held" if result.probe.get("held") else "broke"
    if result.passed:
        return "pass" if result.sla is not None else "-"
    return "BREACH" if no_sla else "FAIL"


def _title(result: LoadResult) -> str:
    return f"{result.test_id} [{result.name}]" if result.test_id else result.name


def _load(result: LoadResult) -> str:
    """Users (closed model) or the configured rate (open model)."""
    if result.model != "open":
        return str(result.users)
    rate = result.settings.get("rate")
    if isinstance(rate, (int, float)):
        return f"{format_rate(rate)}/s"
    return "stages/s"


def _table(results: Sequence[LoadResult], no_sla: bool) -> list[list[str]]:
    rows = []
    for result in results:
        verdict = _verdict(result, no_sla)
        tasks = [op for op in result.operations.values() if op.kind == "task"]
        rows.append(_row(_title(result), _load(result), result, verdict))
        if len(result.operations) == 1 and tasks:
            continue
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
    notes += _capacity_notes(results)
    blocks = [line for result in results for line in bottleneck_lines(result)]
    return lines + ([""] if notes else []) + notes + blocks


def bottleneck_lines(result: LoadResult) -> list[str]:
    """The "RESOURCES / BOTTLENECKS IDENTIFIED / RECOMMENDATIONS" block of a run with findings."""
    if not result.findings:
        return []
    from pytest_loadtest._report._findings import format_findings, format_resources

    summary = result.resources or {}
    pools = [db.get("pool") or {} for db in result.databases]
    connections = None
    if pools:
        pool = pools[0]
        capacity = pool.get("capacity")
        connections = (int(pool.get("peak_checked_out", 0)), capacity)
    resources = format_resources(
        cpu_peak_percent=summary.get("cpu_peak_percent"),
        rss_peak_bytes=summary.get("rss_peak_bytes"),
        connections=connections,
    )
    return ["", f"{_title(result)}:", *format_findings(result.findings, resources=resources)]


def _capacity_notes(results: Sequence[LoadResult]) -> list[str]:
    """One line per capacity search, from its steps' results: what held, what broke and why."""
    from pytest_loadtest._model._capacity import Capacity, CapacityStep, step_verdict

    searches: dict[tuple[str, str], Capacity] = {}
    for result in results:
        probe = result.probe
        if probe is None:
            continue
        key = (result.test_id, str(probe.get("search", "")))
        search = searches.setdefault(key, Capacity(str(probe.get("by", "users"))))
        reason = "" if probe.get("held") else step_verdict(result) or "dropped iterations"
        search.steps.append(CapacityStep(float(probe["load"]), result, reason))
    return [
        f"{f'{test_id} [{name}]' if test_id else name}: {search.summary('capacity search')}"
        for (test_id, name), search in searches.items()
    ]


def _notes(result: LoadResult, no_sla: bool) -> list[str]:
    title = _title(result)
    notes = []
    if result.interrupted:
        notes.append(f"{title}: interrupted; figures cover what was measured before the stop")
    if result.model == "open":
        notes.append(_open_note(result, title))
    for breach in result.sla_breaches:
        if result.probe is not None:
            word = "capacity step broke (not a failure)"
        else:
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


def _open_note(result: LoadResult, title: str) -> str:
    share = result.dropped / result.scheduled if result.scheduled else 0.0
    text = (
        f"{title}: open model: {format_rate(result.achieved_rate)} iterations/s started, "
        f"{result.dropped:,} dropped ({share:.1%}: due while all max_users={result.users} "
        "were busy)"
    )
    if result.service_time is not None and result.start_lag is not None:
        text += (
            f"; latency from the intended start (coordinated omission corrected) p99 "
            f"{format_latency_ms(result.p99)}, service time p99 "
            f"{format_latency_ms(result.service_time.p99)}, start lag p50/p99 "
            f"{format_latency_ms(result.start_lag.p50)}/{format_latency_ms(result.start_lag.p99)}"
        )
    return text


def failure_message(results: Sequence[LoadResult]) -> str:
    """The message that fails a test whose results breached their SLA."""
    lines = []
    for result in results:
        if result.passed or result.probe is not None:
            continue
        if result.model == "open":
            load = f"{_load(result)} with at most {result.users} users"
        else:
            load = f"{result.users} user{'s' if result.users != 1 else ''}"
        lines.append(
            f"load test {result.name!r} breached its SLA ({result.total:,} calls, "
            f"{load}, {result.duration:.1f}s, "
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
