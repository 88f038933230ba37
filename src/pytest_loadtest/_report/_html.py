"""``index.html``: one self-contained page with a table of every load test and, per test, charts,
SLA targets, operations and errors.

Charts are drawn by uPlot (120 kB), its script and stylesheet read at report time from the
optional ``uplot-python`` package that ships them (``pytest-loadtest[report]``) and inlined once
in the page, so the file works opened from disk with no network. Without the extra the page is still
written, with its tables and a notice instead of the charts. Every user-provided string is
HTML-escaped; figure data sits in ``<script type="application/json">`` blocks whose ``<``, ``>``
and ``&`` are ``\\u`` escapes, and a Content-Security-Policy allows only the page's own scripts (by
hash), so markup that slipped into the data could not run anyway. Before that, text goes through
``_escape`` as everywhere: control characters and lone surrogates as visible escapes (line breaks
kept in messages and tracebacks), names cut to a bound.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import html
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from pytest_loadtest._model._recovery import recovery_text
from pytest_loadtest._model._text import MAX_MESSAGE
from pytest_loadtest._report._assets import CAPTURE_SCRIPT, RENDER_SCRIPT, STYLE
from pytest_loadtest._report._charts import figures
from pytest_loadtest._report._escape import LINE_LIMIT, block_text, name_text, one_line
from pytest_loadtest._report._json import jsonable
from pytest_loadtest._report._library import (
    CHART_PACKAGE,
    ChartLibrary,
    ReportError,
    load_chart_library,
)
from pytest_loadtest._report._loop import loop_text
from pytest_loadtest._report._view import (
    ResultView,
    Verdict,
    figure_text,
    latency_text,
    percent_text,
    rate_text,
)

if TYPE_CHECKING:
    from pytest_loadtest._model._metrics import MetricSource

__all__ = [
    "CHART_PACKAGE",
    "MISSING_EXTRA",
    "ChartLibrary",
    "ReportError",
    "load_chart_library",
    "render_html",
    "script_json",
]

#: Said wherever charts are left out because the optional extra is not installed.
MISSING_EXTRA: Final = (
    "charts need the optional uplot-python package (uPlot): pip install 'pytest-loadtest[report]'"
)
_MESSAGE_LIMIT: Final = 2_000


def _e(value: object) -> str:
    return html.escape(block_text(value), quote=True)


def script_json(value: object) -> str:
    """JSON for a ``<script type="application/json">`` block: ``<``, ``>``, ``&`` and the
    JavaScript line separators escaped, so no ``</script>`` or ``<!--`` can appear in it."""
    text = json.dumps(jsonable(value), allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


_LATENCIES: Final = ("p50", "p95", "p99", "max")


_BADGES: Final = {
    Verdict.PASS: ("pass", "PASS", "every SLA target met"),
    Verdict.FAIL: ("fail", "FAIL", "an SLA target was missed: the test failed"),
    Verdict.NO_SLA: ("none", "no SLA", "no SLA targets to check"),
    Verdict.BROKE: (
        "broke",
        "BROKE",
        "a step of a capacity search that did not hold: a finding of the search, not a failure",
    ),
}


def _badge(verdict: Verdict) -> str:
    css, text, hint = _BADGES[verdict]
    return f'<span class="badge {css}" title="{_e(hint)}">{_e(text)}</span>'


def _title(view: ResultView) -> str:
    """The escaped title, with ``<wbr>`` where a long test id may break: after each ``/`` of
    its path, after ``::`` and before a ``[`` (never inside a word, never inside the
    parameters)."""
    if not view.test_id:
        return _e(view.title)
    path, sep, rest = one_line(view.test_id).partition("::")
    shown = "/<wbr>".join(_e(part) for part in path.split("/"))
    if sep:
        rest_html = "::<wbr>".join(_e(part) for part in rest.split("::"))
        shown += "::<wbr>" + rest_html.replace("[", "<wbr>[", 1)
    return f"{shown} [{_e(name_text(view.name))}]"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    """A table; ``head`` is escaped here, ``rows`` cells must be escaped by the caller."""
    cls = f' class="{css}"' if css else ""
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table{cls}><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _summary_table(items: Sequence[ResultView]) -> str:
    rows = []
    for view in items:
        result = view.result
        rows.append(
            [
                f'<a href="#{view.anchor}">{_title(view)}</a>',
                _badge(view.verdict),
                _e(result.users),
                f"{result.duration:.1f}s",
                f"{result.total:,}",
                rate_text(result.throughput),
                percent_text(result.error_rate),
                *(figure_text(result, metric) for metric in _LATENCIES),
            ]
        )
    head = ["test", "SLA", "users", "duration", "calls", "calls/s", "errors"]
    return _table([*head, *_LATENCIES], rows, "summary")


def _measured(stats: MetricSource | None, metric: str) -> str:
    if metric == "throughput_min":
        return figure_text(stats, metric) + "/s"
    return figure_text(stats, metric)


def _target(metric: str, threshold: float) -> str:
    if metric == "error_rate":
        return "≤ " + percent_text(threshold)
    if metric == "throughput_min":
        return "≥ " + rate_text(threshold) + "/s"
    return "≤ " + latency_text(threshold)


def _sla_section(view: ResultView) -> str:
    result = view.result
    breaches = result.sla_breaches
    parts = []
    # a target a capacity step missed is what broke it, not a failure of the test
    missed = Verdict.BROKE if view.capacity_step == "broke" else Verdict.FAIL
    if result.sla is not None:
        rows = []
        for operation, checks in view.targets.items():
            stats = result if operation is None else result.operations.get(operation)
            for metric, threshold in checks.items():
                failed = any(b.metric == metric and b.operation == operation for b in breaches)
                rows.append(
                    [
                        _e(name_text(operation) if operation is not None else "all calls"),
                        _e(metric),
                        _e(_target(metric, threshold)),
                        _e(_measured(stats, metric)),
                        _badge(missed if failed else Verdict.PASS),
                    ]
                )
        parts.append(_table(["scope", "metric", "target", "measured", ""], rows, "sla"))
    if breaches:
        items = "".join(f"<li>{_e(one_line(b.message, LINE_LIMIT))}</li>" for b in breaches)
        parts.append(f'<ul class="breaches">{items}</ul>')
    if not parts:
        return ""
    return "<h3>SLA</h3>" + "".join(parts)


def _notes(view: ResultView) -> str:
    result = view.result
    notes = []
    if result.interrupted:
        notes.append("interrupted: figures cover what was measured before the stop")
    # an abort is told once, in prose, among the SLA breaches (LoadResult.sla_breaches)
    if result.hung:
        listed = ", ".join(f"{name_text(k)} x{v}" for k, v in sorted(result.hung.items()))
        notes.append(f"calls still running after stop_timeout: {listed}")
    if result.gil_contention:
        notes.append(
            f"GIL contention: CPU at {result.cpu_utilisation:.0%}, at most "
            f"{result.peak_active} users active at once; latencies include GIL waits"
        )
    if result.idle_users > 0:
        notes.append(f"{result.idle_users} users never completed a call")
    if result.late_calls > 0:
        notes.append(f"{result.late_calls} calls reached the timeline after their window")
    if loop := loop_text(result):
        notes.append(loop[:1].upper() + loop[1:])
    if result.recovery:
        told = recovery_text(result.recovery)
        notes.append(told[:1].upper() + told[1:])
    notes.extend(line[:1].upper() + line[1:] for line in view.plans_not_taken)
    notes.extend(
        f"Bottleneck: {finding.title} ({finding.evidence}). "
        f"Recommendation: {finding.recommendation}"
        for finding in result.findings
    )
    if not notes:
        return ""
    return '<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"


_OPERATION_FIGURES: Final = ("p50", "p95", "p99", "p99.9", "max", "mean")


def _operations_table(view: ResultView) -> str:
    rows = []
    for op in view.operations:
        indent = ' class="step"' if op.kind == "step" else ""
        rows.append(
            [
                f"<span{indent}>{_e(name_text(op.name))}</span>",
                _e(op.kind),
                f"{op.total:,}",
                rate_text(op.throughput),
                percent_text(op.error_rate),
                *(figure_text(op, metric) for metric in _OPERATION_FIGURES),
            ]
        )
    head = ["operation", "kind", "calls", "calls/s", "errors"]
    return "<h3>Operations</h3>" + _table([*head, *_OPERATION_FIGURES], rows, "operations")


def _errors_table(view: ResultView) -> str:
    rows = []
    for op in view.operations:
        for sample in op.errors_by_type.values():
            message = sample.message
            if len(message) > _MESSAGE_LIMIT:
                message = message[:_MESSAGE_LIMIT] + "…"
            trace = block_text(sample.traceback, MAX_MESSAGE)
            details = (
                f"<details><summary>traceback</summary><pre>{_e(trace)}</pre></details>"
                if trace
                else ""
            )
            rows.append(
                [
                    _e(name_text(op.name)),
                    f"<code>{_e(name_text(sample.type_name))}</code>",
                    f"{sample.count:,}",
                    f'<pre class="message">{_e(message)}</pre>{details}',
                ]
            )
    if not rows:
        return ""
    head = ["operation", "type", "count", "first message"]
    return "<h3>Errors</h3>" + _table(head, rows, "errors")


def _facts(view: ResultView) -> str:
    result = view.result
    started = result.started_at
    when = (
        datetime.datetime.fromtimestamp(started, datetime.timezone.utc).isoformat(
            timespec="seconds"
        )
        if started == started and started > 0
        else ""
    )
    facts = [
        ("started", when),
        ("model", result.settings.get("model", "")),
        ("users", result.users),
        ("duration", f"{result.duration:.2f}s"),
        ("calls", f"{result.total:,}"),
        ("errors", f"{result.errors:,}"),
    ]
    shown = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts if v not in ("", None))
    return f'<dl class="facts">{shown}</dl>'


def _section(view: ResultView, charts: bool) -> str:
    parts = [
        f'<section class="result" id="{view.anchor}">',
        f"<h2>{_title(view)} {_badge(view.verdict)}</h2>",
        _facts(view),
        _notes(view),
        _sla_section(view),
    ]
    if charts:
        parts.append('<div class="charts">')
        for kind, figure in figures(view).items():
            ident = f"figure-{view.index}-{kind}"
            note = figure.get("note")
            shown = f'<p class="chart-note">{_e(note)}</p>' if note else ""
            parts.append(
                f'<div class="chart" data-kind="{kind}" data-figure="{ident}">{shown}</div>'
                f'<script type="application/json" id="{ident}">{script_json(figure)}</script>'
            )
        parts.append("</div>")
    parts += [_operations_table(view), _errors_table(view)]
    settings = view.result.settings
    if settings:
        pretty = json.dumps(jsonable(settings), indent=1, ensure_ascii=False)
        parts.append(f"<details><summary>settings</summary><pre>{_e(pretty)}</pre></details>")
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def _metadata(metadata: Mapping[str, Any]) -> str:
    shown = []
    for key, value in metadata.items():
        text = value if isinstance(value, str) else json.dumps(jsonable(value), ensure_ascii=False)
        shown.append(f"<dt>{_e(key)}</dt><dd>{_e(text)}</dd>")
    return f'<details class="meta"><summary>run</summary><dl>{"".join(shown)}</dl></details>'


def _headline(metadata: Mapping[str, Any]) -> str:
    python = metadata.get("python")
    platform = metadata.get("platform")
    git = metadata.get("git")
    bits = [
        str(metadata.get("created_at", "")),
        f"pytest-loadtest {metadata.get('plugin_version', '')}",
        f"Python {python.get('version', '')}" if isinstance(python, Mapping) else "",
        str(platform.get("platform", "")) if isinstance(platform, Mapping) else "",
        f"commit {str(git.get('commit', ''))[:12]}" if isinstance(git, Mapping) else "",
    ]
    return " · ".join(_e(b) for b in bits if b)


def _script(code: str) -> tuple[str, str]:
    """The ``<script>`` element and its CSP source expression."""
    code = code.replace("\r\n", "\n").replace("\r", "\n")  # what the HTML parser hashes
    digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode("ascii")
    return f"<script>{code}</script>", f"'sha256-{digest}'"


def render_html(
    items: Sequence[ResultView], metadata: Mapping[str, Any], *, charts: ChartLibrary | None
) -> str:
    """The whole page; charts only when ``charts`` (uPlot's files) is given."""
    library = charts if items else None
    scripts = [_script(CAPTURE_SCRIPT)]
    if library is not None:
        scripts.append(_script(library.script))
    scripts.append(_script(RENDER_SCRIPT))
    csp = (
        "default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'; "
        f"script-src {' '.join(source for _, source in scripts)}"
    )
    head_scripts = "\n".join(element for element, _ in scripts[:-1])
    notice = (
        ""
        if library is not None or not items
        else f'<p class="notice">No charts: {_e(MISSING_EXTRA)}.</p>'
    )
    body = (
        [_summary_table(items), *(_section(view, library is not None) for view in items)]
        if items
        else ["<p>No load test ran.</p>"]
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>Load test report</title>",
            f"<style>{library.style if library else ''}{STYLE}</style>",
            head_scripts,
            "</head><body>",
            "<h1>Load test report</h1>",
            f'<p class="headline">{_headline(metadata)}</p>',
            _metadata(metadata),
            notice,
            *body,
            '<pre id="report-errors" hidden></pre>',
            scripts[-1][0],
            "</body></html>",
            "",
        ]
    )
