"""The GitHub job summary: a Markdown table of results and breaches, user text escaped."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._report._markdown import append_step_summary, escape_markdown, markdown_summary

from helpers.report_samples import HOSTILE, hostile_result, synthetic_result


@pytest.fixture(scope="module")
def results() -> list[LoadResult]:
    return [synthetic_result(seconds=10), hostile_result()]


def _cells(line: str) -> list[str]:
    """Cells of a Markdown table row, split on unescaped pipes as GitHub does."""
    assert line.startswith("| "), line
    assert line.endswith(" |"), line
    return re.split(r"(?<!\\)\|", line[1:-1])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text 1.5", "plain text 1.5"),
        ("a|b", "a&#124;b"),
        ("`code`", "&#96;code&#96;"),
        ("<script>", "&#60;script&#62;"),
        ("**bold** _it_", "&#42;&#42;bold&#42;&#42; &#95;it&#95;"),
        ("[x](javascript:alert(1))", "&#91;x&#93;&#40;javascript:alert&#40;1&#41;&#41;"),
        ("line1\nline2\r\nline3", "line1<br>line2<br>line3"),
        ("a\\|b", "a&#92;&#124;b"),
        ("@team #12 $x$", "&#64;team &#35;12 &#36;x&#36;"),
        ("&lt;", "&#38;lt;"),
        ("tab\there", "tab here"),
        ("bell\x07", "bell&#7;"),
    ],
)
def test_escape_markdown(text: str, expected: str) -> None:
    assert escape_markdown(text) == expected


@pytest.mark.parametrize("text", [HOSTILE, "a|b`c`\n<b>x</b>", "[l](u) ![i](u) \\"])
def test_escaped_text_reads_back_as_the_original(text: str) -> None:
    """The escapes are character references: a renderer shows exactly the original text."""
    escaped = escape_markdown(text)
    assert not set("<>|`[]\n").intersection(escaped.replace("<br>", ""))
    assert html.unescape(escaped.replace("<br>", "\n")) == text


def test_escape_markdown_cuts_long_text() -> None:
    assert escape_markdown("x" * 500, limit=10) == "x" * 9 + "…"


def test_summary_table_has_one_row_per_result(results: list[LoadResult]) -> None:
    text = markdown_summary(results)
    lines = text.splitlines()
    assert lines[0] == "### Load test results"
    header = next(i for i, line in enumerate(lines) if line.startswith("| test | SLA"))
    rows = lines[header + 2 : header + 4]
    assert all(len(_cells(line)) == 10 for line in [lines[header], *rows])
    assert "❌ fail" in rows[0]
    assert "✅ pass" in rows[1]
    assert f"{results[0].total:,}" in rows[0]
    assert "2 load test runs, 1 with SLA breaches." in text


def test_breaches_and_errors_are_listed(results: list[LoadResult]) -> None:
    text = markdown_summary(results)
    assert "**SLA breaches**" in text
    for breach in results[0].sla_breaches:
        assert escape_markdown(breach.message) in text
    assert "**Errors**" in text
    assert "payment service did not answer within 2s" in text
    assert "RuntimeError" in text


def test_user_text_cannot_break_the_table_or_inject_markup(results: list[LoadResult]) -> None:
    text = markdown_summary(results)
    assert "<script" not in text
    assert "`" not in text
    tables: list[list[str]] = []
    previous = ""
    for line in text.splitlines():
        if line.startswith("| "):
            if not previous.startswith("| "):
                tables.append([])
            tables[-1].append(line)
        previous = line
    assert len(tables) == 3  # results, breaches, errors
    for table in tables:
        assert len({len(_cells(line)) for line in table}) == 1, table


def test_no_results() -> None:
    assert "No load test ran." in markdown_summary([])


def test_append_step_summary_appends(tmp_path: Path, results: list[LoadResult]) -> None:
    path = tmp_path / "step_summary.md"
    path.write_text("# from an earlier step\n", encoding="utf-8")
    assert append_step_summary(path, results[:1]) == path
    append_step_summary(str(path), results[1:], title="Second <b>run</b>")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# from an earlier step\n")
    assert text.count("### ") == 2
    assert "### Second &#60;b&#62;run&#60;/b&#62;" in text


def test_append_step_summary_creates_the_file(tmp_path: Path) -> None:
    path = tmp_path / "new.md"
    append_step_summary(path, [])
    assert "No load test ran." in path.read_text(encoding="utf-8")
