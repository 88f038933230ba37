"""Hostile operation names and messages, as a user's suite would produce them, through every
output of a session: the terminal, the failure message, junit.xml, the report files and the
GitHub job summary (issue 12, points 3 and 9)."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SUITE = """
import os
import pytest

FORMULA = '=HYPERLINK("http://evil.example/x","click")'
ESCAPES = "\\x1b[31mred\\x1b[0m\\x07"
SURROGATE = os.fsdecode(b"conf-\\xff.toml")
LONG = "L" * 100_000
MESSAGE = f"{FORMULA} {ESCAPES} {SURROGATE} <script>alert(1)</script>\\nsecond line"


def fail():
    raise ValueError(MESSAGE)


def missing():
    raise OSError(SURROGATE)


def ok():
    pass


@pytest.mark.load(
    users=2,
    duration="0.3s",
    sla={"error_rate": "0%", "operations": {FORMULA: {"p95": "1us"}, LONG: {"p95": "1us"}}},
)
def test_hostile(load_runner):
    load_runner.run(
        {FORMULA: fail, ESCAPES: ok, "first\\nsecond": ok, SURROGATE: missing, LONG: ok}
    )
"""

#: What must never reach a terminal or an XML attribute.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
OPERATIONS = 5


def test_every_output_of_a_hostile_suite(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a subprocess: its standard output is a real UTF-8 stream, which refuses lone surrogates
    # (pytester's in-process capture takes anything)
    step_summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    pytester.makepyfile(test_hostile=SUITE)
    result = pytester.runpytest_subprocess(
        "-m", "load", "--junitxml=junit.xml", "--load-report=report", timeout=120
    )
    result.assert_outcomes(failed=1)
    assert "INTERNALERROR" not in result.stdout.str()

    out = result.stdout.lines
    assert not [line for line in out if RAW.search(line)]
    assert "L" * 1_000 not in result.stdout.str()
    section = out.index(next(line for line in out if "load test results" in line))
    table = out[section + 1 : out.index("", section)]
    assert len(table) == 2 + OPERATIONS  # header, the run, one row per operation
    assert any(line.lstrip().startswith("\\x1b[31mred\\x1b[0m\\x07") for line in table)
    assert any(line.lstrip().startswith("first\\nsecond") for line in table)
    assert any(line.lstrip().startswith("conf-\\udcff.toml") for line in table)
    assert max(map(len, table)) < 400
    result.stdout.fnmatch_lines(["*load test '=HYPERLINK(*' breached its SLA*"])

    root = ET.parse(pytester.path / "junit.xml").getroot()
    names = [p.get("name") or "" for p in root.iter("property")]
    assert len(names) == 1
    assert names[0].startswith("loadtest[=HYPERLINK(")
    assert names[0].endswith("…]")
    assert not RAW.search(names[0])

    report = pytester.path / "report"
    assert sorted(p.name for p in report.iterdir()) == [
        "index.html",
        "results.json",
        "summary.csv",
        "timeline.csv",
    ]
    document = json.loads((report / "results.json").read_text(encoding="utf-8"))
    assert "conf-\\udcff.toml" in document["results"][0]["operations"]
    with (report / "summary.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1 + OPERATIONS
    operations = {row["operation"] for row in rows}
    assert '\'=HYPERLINK("http://evil.example/x","click")' in operations
    assert not [row for row in rows for cell in row.values() if cell.startswith(("=", "+", "@"))]
    page = (report / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page

    summary = Path(step_summary).read_text(encoding="utf-8")
    assert not RAW.search(summary)
    assert "L" * 1_000 not in summary


def test_a_hostile_suite_under_xdist_fails_cleanly(pytester: pytest.Pytester) -> None:
    """A lone surrogate once broke xdist's channel (``DumpError: strings must be utf-8
    encodable``): an INTERNALERROR, "no tests ran" and exit status 0. Text is made safe where it
    enters, so the worker's report crosses and the test fails as it should."""
    pytest.importorskip("xdist")
    pytester.makepyfile(test_hostile=SUITE)
    result = pytester.runpytest_subprocess("-m", "load", "-n", "2")
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output, output
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    result.assert_outcomes(failed=1)
    assert "load test results" in output
