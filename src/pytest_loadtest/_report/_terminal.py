"""The "load test results" table and notes printed at the end of a session, the message that
fails a test on a breach, and the test's junit property: all read from a :class:`ResultView`.

User text (names, messages, SLA scopes) is shown through ``_escape``: one line each, control
characters as visible escapes, names cut to a bound, so that no name can colour, ring, split or
widen the table; every line is passed through :func:`one_line` once more before it is returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from pytest_loadtest._model._metrics import METRICS
from pytest_loadtest._model._recovery import recovery_text
from pytest_loadtest._model._sla import min_calls_for_percentile
from pytest_loadtest._model._text import operation_label
from pytest_loadtest._report._escape import (
    LINE_LIMIT,
    NAME_LIMIT,
    cut,
    name_text,
    one_line,
    xml_text,
)
from pytest_loadtest._report._loop import loop_text
from pytest_loadtest._report._view import (
    ResultView,
    Verdict,
    figure_text,
    latency_text,
    percent_text,
    property_ms,
    rate_text,
    sample_verdict,
    title,
    views,
)

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult, OperationStats

__all__ = ["attempts_text", "failure_message", "summary_lines", "user_property"]

_COLUMNS: Final = ("load", "calls", "calls/s", "err%", "p50", "p95", "p99", "max", "SLA")
_LATENCIES: Final = ("p50", "p95", "p99", "max")


def _row(label: str, users: str, stats: LoadResult | OperationStats, verdict: str) -> list[str]:
    return [
        label,
        users,
        f"{stats.total:,}",
        rate_text(stats.throughput),
        percent_text(stats.error_rate, sign=False),
        *(figure_text(stats, metric) for metric in _LATENCIES),
        verdict,
    ]


def _verdict(view: ResultView, no_sla: bool) -> str:
    """The SLA column: the step's outcome in a capacity search, else the verdict."""
    step = view.capacity_step
    if step is not None:
        return step
    if view.verdict is Verdict.FAIL:
        weak = sample_verdict(view.result)
        if weak == "inconclusive":
            return weak if no_sla else "INCONCLUSIVE"
        return ("BREACH" if no_sla else "FAIL") + (" low-n" if weak else "")
    return "pass" if view.verdict is Verdict.PASS else "-"


def _table(items: Sequence[ResultView], no_sla: bool) -> list[list[str]]:
    rows = []
    for view in items:
        result = view.result
        rows.append(_row(view.title, view.load, result, _verdict(view, no_sla)))
        if len(result.operations) == 1 and any(op.kind == "task" for op in view.operations):
            continue
        for op in view.operations:
            indent = "    " if op.kind == "step" and op.parent in result.operations else "  "
            label = operation_label(name_text(op.name), op.kind)
            rows.append(_row(f"{indent}{label}", "", op, ""))
    return rows


#: Columns left out, in this order, when the table is wider than the terminal.
_DROP_ORDER: Final = ("max", "p50", "p99", "load", "calls")
#: Columns that are always shown, and the shortest a label is cut to before a column goes.
_LABEL_MIN: Final = 48
_ELLIPSIS: Final = "..."  # what pytest ends a cut line with


def _shorten(label: str, width: int) -> str:
    """``label`` in ``width`` characters: a test id first loses the directories of its file
    (``test_crud.py::test_reads [reads]``), then its end is cut the way pytest cuts its summary
    lines, with ``...``."""
    if len(label) <= width:
        return label
    path, sep, rest = label.partition("::")
    if sep and "/" in path:
        label = path.rsplit("/", 1)[1] + sep + rest
        if len(label) <= width:
            return label
    return label[: max(width - len(_ELLIPSIS), 1)] + _ELLIPSIS


def fit_table(table: Sequence[Sequence[str]], width: int | None) -> tuple[list[str], list[str]]:
    """The lines of ``table`` (header first, labels in column 0) fitted to ``width`` characters,
    and the names of the columns left out. Columns go in :data:`_DROP_ORDER` while the labels
    would have to be cut shorter than :data:`_LABEL_MIN`; then labels are cut with ``...``. A
    row is never wider than ``width`` unless the kept columns alone are."""
    header = list(table[0])
    keep = list(range(len(header)))
    dropped: list[str] = []

    def widths(columns: Sequence[int]) -> list[int]:
        return [max(len(row[i]) for row in table) for i in columns]

    def numbers_width(columns: Sequence[int]) -> int:
        return sum(w + 2 for w in widths(columns)[1:])

    if width is not None:
        longest = max(len(row[0]) for row in table)
        for name in _DROP_ORDER:
            if numbers_width(keep) + min(longest, _LABEL_MIN) <= width:
                break
            if name in header:
                keep.remove(header.index(name))
                dropped.append(name)
    sizes = widths(keep)
    if width is not None:
        sizes[0] = min(sizes[0], max(width - numbers_width(keep), len(header[0]), 10))
    lines = []
    for row in table:
        cells = [_shorten(row[0], sizes[0]).ljust(sizes[0])]
        cells += [row[i].rjust(w) for i, w in zip(keep[1:], sizes[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return lines, dropped


def summary_lines(
    results: Sequence[LoadResult],
    *,
    no_sla: bool = False,
    width: int | None = None,
    verbose: int = 0,
) -> list[str]:
    """Lines of the summary: a table of every result and operation, fitted to ``width`` (the
    terminal's, ``None``: as wide as it needs), then notes (``verbose``: each low-sample target
    on a line of its own, else one line for all)."""
    if not results:
        return []
    items = views(results)
    table = [["test / operation", *_COLUMNS], *_table(items, no_sla)]
    lines, dropped = fit_table(table, width)
    if dropped:
        lines.append(f"(left out to fit {width} columns: {', '.join(dropped)})")
    notes = [note for view in items for note in _notes(view, no_sla, verbose)]
    if not verbose:
        notes += _low_sample_summary(items)
    notes += _capacity_notes(results)
    blocks = [line for view in items for line in _bottleneck_lines(view)]
    # every piece of user text was escaped where it was put in; this keeps it so for the rest
    return [one_line(line) for line in lines + ([""] if notes else []) + notes + blocks]


def _low_sample_summary(items: Sequence[ResultView]) -> list[str]:
    """One line for every SLA percentile target of the session that rests on too few calls."""
    found = [(view, check) for view in items for check in view.result.low_sample_checks()]
    if not found:
        return []
    runs = len({view.index for view, _ in found})
    metrics = sorted({c.metric for _, c in found}, key=lambda m: float(m[1:]))
    needs = ", ".join(f"{m} {min_calls_for_percentile(float(m[1:])):,}" for m in metrics)
    return [
        f"low sample: {len(found)} SLA percentile target{'s' if len(found) != 1 else ''} in "
        f"{runs} run{'s' if runs != 1 else ''} rest{'s' if len(found) == 1 else ''} on fewer "
        f"calls than {'it needs' if len(found) == 1 else 'they need'} to mean much ({needs}); "
        "-v lists them"
    ]


def _bottleneck_lines(view: ResultView) -> list[str]:
    """The "RESOURCES / BOTTLENECKS IDENTIFIED / RECOMMENDATIONS" block of a run with findings."""
    result = view.result
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
        missed=int(summary.get("samples_missed") or 0),
    )
    return ["", f"{view.title}:", *format_findings(result.findings, resources=resources)]


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
        f"{title(test_id, name)}: {one_line(search.summary('capacity search'), LINE_LIMIT)}"
        for (test_id, name), search in searches.items()
    ]


def _notes(view: ResultView, no_sla: bool, verbose: int = 1) -> list[str]:
    result = view.result
    name = view.title
    notes = []
    if result.interrupted:
        notes.append(f"{name}: interrupted; figures cover what was measured before the stop")
    if result.model == "open":
        notes.append(_open_note(result, name))
    if attempts_text(result):
        notes.append(f"{name}: {attempts_text(result)}")
    for breach in result.sla_breaches:
        if view.capacity_step is not None:
            word = "capacity step broke (not a failure)"
        else:
            word = "breach (not failing: --load-no-sla)" if no_sla else "SLA breach"
        notes.append(f"{name}: {word}: {one_line(breach.message, LINE_LIMIT)}")
    for check in result.low_sample_checks() if verbose else ():
        stats = result if check.operation is None else result.operations[check.operation]
        percentile = float(check.metric[1:])
        notes.append(
            f"{name}: low sample: {one_line(check.describe(), LINE_LIMIT)} rests on "
            f"{stats.total} calls "
            f"(at least {min_calls_for_percentile(percentile):,} give a meaningful {check.metric})"
        )
    for type_name, sample in sorted(result.errors_by_type.items(), key=lambda kv: -kv[1].count):
        message = sample.message.splitlines()[0] if sample.message else ""
        notes.append(
            f"{name}: error {name_text(type_name)} x{sample.count}: {one_line(message[:200])}"
        )
    if result.gil_contention:
        worst = result.users * 5
        idle = (
            f"; {result.idle_users} of {result.users} users never completed a call"
            if result.idle_users
            else ""
        )
        notes.append(
            f"{name}: GIL contention: {result.users} users kept the process at "
            f"{result.cpu_utilisation:.0%} CPU (at most {result.peak_active} active at once"
            f"{idle}); "
            f"with the interpreter's 5ms switch interval a call can wait up to ~{worst:,}ms for "
            "the GIL, and latencies above include that wait"
        )
    if loop := loop_text(result, always=verbose > 1):
        notes.append(f"{name}: {loop}")
    if result.recovery:
        notes.append(f"{name}: {recovery_text(result.recovery)}")
    notes.extend(f"{name}: {line}" for line in view.plans_not_taken)
    if result.late_calls:
        notes.append(
            f"{name}: {result.late_calls} calls reached the timeline after their window closed "
            "(counted, not in that window's percentiles)"
        )
    return notes


def attempts_text(result: LoadResult) -> str:
    """What the confirming runs of the test (``confirm``) found for this run: its earlier
    breaches were confirmed, or taken as noise. ``""`` when no earlier run of it breached."""
    breached = [a for a in result.attempts if a.get("breaches") or a.get("regressions")]
    if not breached:
        return ""
    runs = len(result.attempts) + 1
    confirm = result.settings.get("confirm", runs - 1)
    first = breached[0]
    breaches = [*first.get("breaches", ()), *first.get("regressions", ())]
    why = one_line(str(breaches[0]), LINE_LIMIT)
    more = f" and {len(breaches) - 1} more" if len(breaches) > 1 else ""
    what = "breached its SLA" if first.get("breaches") else "regressed against the baseline"
    failed = len(breached)
    if result.passed and not result.regressed:
        return (
            f"{what} on {failed} of {runs} runs of the test and passed on the last "
            f"(confirm={confirm}): not confirmed, taken as noise; first: {why}{more}"
        )
    count = "each of its" if failed == runs - 1 else f"{failed + 1} of"
    return (
        f"{what} on {count} {runs} runs of the test (confirm={confirm}: confirmed); "
        f"first: {why}{more}; last:"
    )


def _open_note(result: LoadResult, name: str) -> str:
    share = result.dropped / result.scheduled if result.scheduled else 0.0
    text = (
        f"{name}: open model: {rate_text(result.achieved_rate)} iterations/s started, "
        f"{result.dropped:,} dropped ({share:.1%}: due while all max_users={result.users} "
        "were busy)"
    )
    if result.service_time is not None and result.start_lag is not None:
        text += (
            f"; latency from the intended start (coordinated omission corrected) p99 "
            f"{latency_text(result.p99)}, service time p99 "
            f"{latency_text(result.service_time.p99)}, start lag p50/p99 "
            f"{latency_text(result.start_lag.p50)}/{latency_text(result.start_lag.p99)}"
        )
    return text


def failure_message(results: Sequence[LoadResult]) -> str:
    """The message that fails a test whose results breached their SLA (capacity steps never
    fail a test: their breaches are what the search looks for)."""
    lines = []
    for view in views(results):
        result = view.result
        if view.verdict is not Verdict.FAIL or view.capacity_step is not None:
            continue
        if result.model == "open":
            load = f"{view.load} with at most {result.users} users"
        else:
            load = f"{result.users} user{'s' if result.users != 1 else ''}"
        what = {
            "": "breached its SLA",
            "low sample": "breached its SLA on a low sample",
            "inconclusive": f"is inconclusive: an SLA percentile rests on fewer calls than "
            f"min_samples={result.settings.get('min_samples')} requires",
        }[sample_verdict(result)]
        lines.append(
            # repr escapes what a terminal would act on; the name is cut first
            f"load test {cut(result.name, NAME_LIMIT)!r} {what} ({result.total:,} calls, "
            f"{load}, {result.duration:.1f}s, "
            f"p95 {figure_text(result, 'p95')}, "
            f"errors {percent_text(result.error_rate)}):"
        )
        if attempts_text(result):
            lines.append(f"  {attempts_text(result)}")
        lines.extend(f"  - {one_line(b.message, LINE_LIMIT)}" for b in result.sla_breaches)
        for type_name, sample in result.errors_by_type.items():
            first = sample.message.splitlines()[0] if sample.message else ""
            lines.append(
                f"  error {name_text(type_name)} x{sample.count}, first: {one_line(first[:200])}"
            )
    return "\n".join(one_line(line) for line in lines)


def user_property(result: LoadResult) -> tuple[str, str]:
    """A compact ``(name, value)`` pair for ``user_properties`` and junitxml; the name is valid
    XML (pytest escapes property values, not names)."""
    view = ResultView(result)
    figures = " ".join(
        f"{metric}={property_ms(METRICS[metric].read(result))}ms" for metric in _LATENCIES
    )
    value = (
        f"calls={result.total} errors={result.errors} throughput={result.throughput:.2f}/s "
        f"{figures} passed={view.verdict is not Verdict.FAIL}"
    )
    return f"loadtest[{xml_text(view.name, NAME_LIMIT)}]", value
