"""A Markdown summary of load results for GitHub Actions' job summary (``GITHUB_STEP_SUMMARY``).

The caller passes the path (``os.environ["GITHUB_STEP_SUMMARY"]``); nothing here reads the
environment. Every user-provided string goes through :func:`escape_markdown`, which turns
Markdown and HTML punctuation into numeric character references: they render as the characters
themselves and can neither close a table cell nor start markup, a link, a mention or a script.
Names are cut and control characters shown as escapes as in the terminal (``_escape``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pytest_loadtest._model._text import safe_str
from pytest_loadtest._report._escape import LINE_LIMIT, name_text, one_line
from pytest_loadtest._report._view import (
    ResultView,
    Verdict,
    figure_text,
    percent_text,
    rate_text,
    sample_verdict,
    views,
)

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult

__all__ = ["append_step_summary", "escape_markdown", "markdown_summary"]

#: Characters that mean something to GitHub-flavoured Markdown or HTML in a table cell:
#: emphasis, code, links and images, autolinks and tags, table pipes, headings, math, mentions.
_SPECIAL: Final = frozenset("\\`*_{}[]()<>#+!|~&$@")
#: Also written as references: DEL, C1 controls, bidirectional overrides, separators.
_INVISIBLE: Final = frozenset(
    [
        *map(chr, range(0x7F, 0xA0)),
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
        *"\u061c\u200e\u200f\u2028\u2029",
    ]
)
_MESSAGE_LIMIT: Final = 200
_VERDICT: Final = {
    Verdict.PASS: "✅ pass",
    Verdict.FAIL: "❌ fail",
    Verdict.NO_SLA: "no SLA",
    Verdict.BROKE: "capacity step broke",
}


def escape_markdown(text: object, *, limit: int | None = None) -> str:
    """``text`` as literal inline Markdown, safe inside a table cell; one line.

    Line breaks become ``<br>``; with ``limit``, text longer than ``limit`` characters is cut
    and ends with an ellipsis.
    """
    raw = safe_str(text, None)  # lone surrogates: no UTF-8 writer takes them
    if limit is not None and len(raw) > limit:
        raw = raw[: max(limit - 1, 0)] + "…"
    raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    out = []
    for char in raw:
        if char == "\n":
            out.append("<br>")
        elif char in _SPECIAL or ord(char) < 32 or char in _INVISIBLE:
            out.append(f"&#{ord(char)};")
        else:
            out.append(char)
    return "".join(out)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _results_table(items: Sequence[ResultView]) -> list[str]:
    lines = [
        _row(["test", "SLA", "users", "calls", "calls/s", "errors", "p50", "p95", "p99", "max"]),
        _row(["---", "---", *["---:"] * 8]),
    ]
    for view in items:
        result = view.result
        verdict = _VERDICT[view.verdict]
        if view.verdict is Verdict.FAIL and sample_verdict(result):
            verdict += f" ({sample_verdict(result)})"
        if view.stopped_early:
            verdict += " (stopped early)"
        lines.append(
            _row(
                [
                    escape_markdown(view.title),  # already one line, name cut
                    verdict,
                    escape_markdown(result.users),
                    f"{result.total:,}",
                    rate_text(result.throughput),
                    percent_text(result.error_rate),
                    *(figure_text(result, metric) for metric in ("p50", "p95", "p99", "max")),
                ]
            )
        )
    return lines


def _breaches_table(items: Sequence[ResultView]) -> list[str]:
    rows = [
        _row([escape_markdown(view.title), escape_markdown(one_line(breach.message, LINE_LIMIT))])
        for view in items
        for breach in view.result.sla_breaches
    ]
    if not rows:
        return []
    return ["", "**SLA breaches**", "", _row(["test", "breach"]), _row(["---", "---"]), *rows]


def _errors_table(items: Sequence[ResultView]) -> list[str]:
    rows = []
    for view in items:
        for op in view.result.operations.values():
            if op.kind == "step":
                continue  # a failing step fails its task too: count it once
            for sample in op.errors_by_type.values():
                first = sample.message.strip().splitlines()
                rows.append(
                    _row(
                        [
                            escape_markdown(view.title),
                            escape_markdown(name_text(op.name)),
                            escape_markdown(name_text(sample.type_name)),
                            f"{sample.count:,}",
                            escape_markdown(
                                one_line(first[0] if first else ""), limit=_MESSAGE_LIMIT
                            ),
                        ]
                    )
                )
    if not rows:
        return []
    header = _row(["test", "operation", "error", "count", "first message"])
    return ["", "**Errors**", "", header, _row(["---", "---", "---", "---:", "---"]), *rows]


def markdown_summary(results: Sequence[LoadResult], *, title: str = "Load test results") -> str:
    """A Markdown section: a table of every result, then SLA breaches and errors, if any."""
    items = views(results)
    lines = [f"### {escape_markdown(title)}", ""]
    if not items:
        lines.append("No load test ran.")
    else:
        failed = sum(1 for view in items if view.verdict is Verdict.FAIL)
        lines.append(
            f"{len(items)} load test run{'s' if len(items) != 1 else ''}, "
            f"{failed} with SLA breaches."
        )
        lines += ["", *_results_table(items), *_breaches_table(items), *_errors_table(items)]
    return "\n".join(lines) + "\n"


def append_step_summary(
    path: Path | str, results: Sequence[LoadResult], *, title: str = "Load test results"
) -> Path:
    """Append :func:`markdown_summary` to the file at ``path`` (created if missing).

    Other steps append to the same file, so it is appended to in one write rather than replaced.
    """
    target = Path(path)
    text = markdown_summary(results, title=title)
    with target.open("a", encoding="utf-8") as handle:
        handle.write("\n" + text)
    return target
