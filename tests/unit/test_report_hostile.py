"""Hostile names and messages through every output (issue 12, point 9).

A hostile user names operations and raises exceptions with text that a spreadsheet would run
(``=HYPERLINK``), that a terminal would act on (ESC, BEL), that splits a row (a newline), that no
UTF-8 writer takes (a lone surrogate) or that is simply huge (100 KB). The result is measured by
the engine and then rebuilt from its dict form, as reports read it from xdist workers and files,
so the writers are tested without any help from where text enters.
"""

from __future__ import annotations

import csv
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from pytest_loadtest._model._progress import ProgressSnapshot
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._model._text import safe_text
from pytest_loadtest._report._escape import LINE_LIMIT, NAME_LIMIT
from pytest_loadtest._report._markdown import markdown_summary
from pytest_loadtest._report._progress import format_progress
from pytest_loadtest._report._terminal import failure_message, summary_lines, user_property
from pytest_loadtest._report._write import write_report
from pytest_loadtest._scenario._target import MAX_NAME

from helpers.report_samples import measured_result

FORMULA = '=HYPERLINK("http://evil.example/x","click")'
ESCAPES = "\x1b[31mred\x1b[0m\x07"
NEWLINE = "first\nsecond"
SURROGATE = os.fsdecode(b"conf-\xff.toml")  # "conf-\udcff.toml"
LONG = "L" * 100_000
MARKUP = "<script>alert(1)</script>"
NAMES = (FORMULA, ESCAPES, NEWLINE, SURROGATE, LONG, MARKUP, "-1+2", "@sum")
MESSAGE = f"{FORMULA} {ESCAPES} {SURROGATE} {MARKUP}\nsecond line"
TEST_ID = f"tests/test_hostile.py::test_hostile[{ESCAPES}]"

#: What must never reach a terminal, a one-line field or an XML attribute.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Evil = type(f"Evil{ESCAPES}\n", (Exception,), {})


def _formula() -> None:
    raise ValueError(MESSAGE)


def _escapes() -> None:
    raise Evil(MESSAGE)


def _surrogate() -> None:
    raise OSError(SURROGATE)


def _ok() -> None:
    pass


@pytest.fixture(scope="module")
def result() -> LoadResult:
    targets: dict[str, Callable[..., object]] = dict.fromkeys(NAMES, _ok)
    targets.update({FORMULA: _formula, ESCAPES: _escapes, SURROGATE: _surrogate})
    measured = measured_result(
        targets,
        test_id=TEST_ID,
        sla={"error_rate": "0%", "operations": {FORMULA: {"p95": "1us"}, LONG: {"p95": "1us"}}},
    )
    # the engine makes names safe where they enter (lone surrogates escaped, cut to MAX_NAME)
    assert {safe_text(name, MAX_NAME) for name in NAMES} <= set(measured.operations)
    assert measured.sla_breaches
    # as a report reads it from an xdist worker or a file: nothing was made safe on the way
    return LoadResult.from_dict(measured.to_dict())


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, result: LoadResult) -> Path:
    directory = tmp_path_factory.mktemp("hostile")
    write_report(directory, [result], metadata={"args": [SURROGATE, ESCAPES]})
    return directory


def _table(lines: list[str]) -> list[str]:
    return lines[: lines.index("")] if "" in lines else lines


def test_terminal_lines_hold_no_raw_control_characters(result: LoadResult) -> None:
    lines = summary_lines([result])
    assert not [line for line in lines if RAW.search(line) or "\n" in line or "\t" in line]
    text = "\n".join(lines)
    assert "\\x1b[31mred\\x1b[0m\\x07" in text
    assert "conf-\\udcff.toml" in text
    assert "first\\nsecond" in text
    text.encode("utf-8")


def test_terminal_table_has_one_row_per_operation_and_a_bounded_width(result: LoadResult) -> None:
    table = _table(summary_lines([result]))
    assert len(table) == 2 + len(result.operations)  # header, the run, its operations
    assert max(map(len, table)) < len(TEST_ID) + 3 * NAME_LIMIT
    assert any(("L" * (NAME_LIMIT - 3) + "…") in line for line in table)
    assert sum(map(len, summary_lines([result]))) < 30_000


def test_failure_message_is_escaped_and_bounded(result: LoadResult) -> None:
    message = failure_message([result])
    lines = message.split("\n")
    assert not [line for line in lines if RAW.search(line) or "\t" in line]
    assert len(lines) == 1 + len(result.sla_breaches) + len(result.errors_by_type)
    assert len(message) < 10_000
    assert "\\x1b[31mred" in message


def test_junit_property_name_is_well_formed_xml(result: LoadResult) -> None:
    name, value = user_property(result)
    element = ET.fromstring(f"<property name={quoteattr(name)} value={quoteattr(value)}/>")
    assert element.get("name") == name
    assert len(name) <= NAME_LIMIT + len("loadtest[]")
    name.encode("utf-8")


def test_every_report_file_is_written(report: Path) -> None:
    for file in ("results.json", "summary.csv", "timeline.csv", "index.html"):
        (report / file).read_text(encoding="utf-8")  # strict UTF-8: no lone surrogate


def test_results_json_keeps_the_names_as_safe_text(report: Path) -> None:
    document = json.loads((report / "results.json").read_text(encoding="utf-8"))
    (entry,) = document["results"]
    assert safe_text(LONG, MAX_NAME) in entry["operations"]  # data, not display: kept as entered
    assert "conf-\\udcff.toml" in entry["operations"]
    assert document["metadata"]["args"] == ["conf-\\udcff.toml", ESCAPES]


@pytest.mark.parametrize("file", ["summary.csv", "timeline.csv"])
def test_csv_cells_are_guarded_one_line_and_bounded(report: Path, file: str) -> None:
    raw = (report / file).read_text(encoding="utf-8")
    assert not RAW.search(raw)
    with (report / file).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(raw.splitlines()) == len(rows)  # one line per record: no quoted line break
    cells = [cell for row in rows[1:] for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_START)]
    assert f"'{FORMULA}" in cells
    assert "'-1+2" in cells
    assert "'@sum" in cells
    assert max(map(len, cells)) <= LINE_LIMIT + 1


def test_summary_csv_has_one_row_per_operation(report: Path, result: LoadResult) -> None:
    with (report / "summary.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1 + len(result.operations)
    assert all(row["calls"].isdigit() for row in rows)  # numbers stay numbers
    assert {float(row["p50_ms"]) > 0 for row in rows} == {True}
    assert os.path.getsize(report / "summary.csv") < 50_000


def test_html_stays_escaped_and_bounded(report: Path) -> None:
    page = (report / "index.html").read_text(encoding="utf-8")
    assert MARKUP not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page
    assert "\\x1b[31mred" in page
    assert page.count(LONG) == 1  # in the settings as written, once; cut everywhere else
    page_without_bundle = re.sub(r"<script>.*?</script>", "", page, flags=re.DOTALL)
    assert len(page_without_bundle) < 400_000


def test_markdown_summary_is_escaped_and_bounded(result: LoadResult) -> None:
    text = markdown_summary([result])
    assert not RAW.search(text)
    text.encode("utf-8")
    assert LONG not in text
    assert len(text) < 20_000
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert all(line.endswith(" |") for line in rows)  # no row split by a newline


def test_progress_line_is_escaped(result: LoadResult) -> None:
    snapshot = ProgressSnapshot(
        elapsed=1.0,
        total=2.0,
        active_users=1,
        calls_per_s=10.0,
        error_rate=0.0,
        p95_ms=1.0,
        name=f"{TEST_ID} [{result.name}]",
        users=2,
    )
    for width in (None, 80):
        line = format_progress(snapshot, width=width)
        assert not RAW.search(line)
        assert len(line) < 2 * LINE_LIMIT
