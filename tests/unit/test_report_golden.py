"""Every presentation of a fixed set of results, byte for byte as it was printed before the
presentations were made to read one view of a result (issue 11).

The expected texts in ``golden/report/`` were rendered by the code before that change; the page is
compared with its whitespace collapsed (its layout may change, its text may not). To look at a
difference: ``python -m tests.unit.test_report_golden <directory>`` writes the current texts.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from pathlib import Path

import pytest

from pytest_loadtest._model._abort import Abort
from pytest_loadtest._model._finding import Finding
from pytest_loadtest._model._latency import LatencyStats
from pytest_loadtest._model._result import LoadResult, OperationStats
from pytest_loadtest._model._sla import parse_sla
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._report._csv import write_summary_csv, write_timeline_csv
from pytest_loadtest._report._html import render_html
from pytest_loadtest._report._json import jsonable
from pytest_loadtest._report._markdown import markdown_summary
from pytest_loadtest._report._terminal import failure_message, summary_lines, user_property
from pytest_loadtest._report._view import views

from helpers.report_samples import synthetic_result

GOLDEN = Path(__file__).parent / "golden" / "report"
SECONDS = 3
METADATA = {
    "created_at": "2025-01-01T00:00:00+00:00",
    "plugin_version": "1.0",
    "python": {"version": "3.12.0", "implementation": "CPython"},
    "platform": {"platform": "Linux-x86_64"},
    "git": {"commit": "a" * 40},
}


def _shop(**fields: object) -> LoadResult:
    result = synthetic_result(seconds=SECONDS)
    for name, value in fields.items():
        setattr(result, name, value)
    result.sla_breaches = result.evaluate_sla()
    return result


def golden_results() -> list[LoadResult]:
    """One result of every kind the presentations tell apart."""
    latencies = synthetic_result(seconds=SECONDS).histogram
    checkout = synthetic_result(seconds=SECONDS).operations["checkout"]
    single = OperationStats(
        "single",
        "task",
        checkout.histogram,
        checkout.errors,
        float(SECONDS),
        checkout.errors_by_type,
        checkout.timeline,
    )
    orphan = _shop(name="orphan")
    orphan.operations["stray"] = OperationStats(
        "stray", "step", checkout.histogram, 0, 3.0, parent="gone"
    )
    orphan.operations["other"] = OperationStats("other", "custom", checkout.histogram, 0, 3.0)
    empty = LoadResult("empty", LatencyHistogram(), 0, 1.0, {}, sla=parse_sla({"p95": 10}), users=1)
    empty.sla_breaches = empty.evaluate_sla()
    one = LoadResult(
        "single",
        checkout.histogram,
        checkout.errors,
        float(SECONDS),
        {"single": single},
        timeline=checkout.timeline,
        sla=parse_sla({"p50": 1000}),
        users=1,
    )
    one.sla_breaches = one.evaluate_sla()
    stored = _shop(name="stored").to_dict()
    return [
        _shop(),
        _shop(
            name="passing",
            sla=parse_sla(
                {"p95": 1000, "error_rate": "50%", "operations": {"browse": {"p99": 900}}}
            ),
        ),
        _shop(name="no sla", sla=None, test_id=""),
        _shop(
            name="cap @ 10 users",
            sla=parse_sla({"p95": 1000}),
            probe={"search": "cap", "by": "users", "load": 10, "held": True},
        ),
        _shop(
            name="cap @ 20 users",
            probe={"search": "cap", "by": "users", "load": 20, "held": False},
        ),
        _shop(
            name="open",
            model="open",
            dropped=7,
            scheduled=250,
            users=1,
            settings={"model": "open", "rate": 75.0, "duration": float(SECONDS)},
            service_time=LatencyStats(latencies),
            start_lag=LatencyStats(latencies),
        ),
        _shop(
            name="open stages",
            model="open",
            users=8,
            settings={"model": "open", "stages": [[1, 2]], "duration": float(SECONDS)},
        ),
        _shop(
            name="stopped",
            interrupted=True,
            hung={"checkout": 2, "browse": 1},
            aborted=Abort(2.0, 1.0, 1.0, 2.0, ("p95 above 40ms",)),
            gil_contention=True,
            cpu_utilisation=0.98,
            peak_active=12,
            idle_users=3,
            late_calls=4,
        ),
        _shop(
            name="findings",
            findings=[
                Finding("n_plus_one", "N+1 <q>", "50 queries", "use joinedload", "high"),
                Finding("pool", "Pool", "", "bigger pool", "low"),
            ],
            resources={"cpu_peak_percent": 67.4, "rss_peak_bytes": 1.2e9},
            databases=[{"pool": {"capacity": 10, "peak_checked_out": 8}}],
        ),
        _shop(
            name="memory",
            sla=parse_sla(
                {"memory_growth": "50MB/h", "mean": 5, "p99.9": 100, "max": 3, "p75": 9, "p90": 9}
            ),
            memory={"growth_mb": 20.0, "low_mb_per_hour": 80.0, "text": "grows"},
        ),
        empty,
        LoadResult.from_dict(json.loads(json.dumps(jsonable(stored)))),
        one,
        orphan,
    ]


def render(directory: Path) -> dict[str, str]:
    """Every text the presentations make of :func:`golden_results`, by file name."""
    results = golden_results()
    items = views(results)
    texts = {
        "terminal.txt": "\n".join(summary_lines(results)) + "\n",
        "terminal_no_sla.txt": "\n".join(summary_lines(results, no_sla=True)) + "\n",
        "failure.txt": failure_message(results) + "\n",
        "user_properties.txt": "".join(f"{n}\t{v}\n" for n, v in map(user_property, results)),
        "summary.md": markdown_summary(results),
        "page.html": render_html(items, METADATA, charts=None),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for name, write in (("summary.csv", write_summary_csv), ("timeline.csv", write_timeline_csv)):
        texts[name] = write(directory / name, items).read_text(encoding="utf-8")
    return texts


def _collapsed(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("> <", "><")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return render(tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize(
    "name",
    [
        "terminal.txt",
        "terminal_no_sla.txt",
        "failure.txt",
        "user_properties.txt",
        "summary.md",
        "summary.csv",
        "timeline.csv",
    ],
)
def test_text_is_unchanged(rendered: dict[str, str], name: str) -> None:
    expected = (GOLDEN / name).read_text(encoding="utf-8")
    if name.endswith(".csv"):  # full-precision figures: equal to the last digit or two
        assert _cells(rendered[name]) == _cells(expected)
    else:
        assert rendered[name] == expected


class _Close(float):
    """A CSV cell's number, equal to another within 1e-12 relative: numpy's summation order
    (the standard deviation's dot product) differs in the last bit between numpy releases, and
    numpy 2.5 (Python 3.12+) is not numpy 2.4 (Python 3.11)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, float) and math.isclose(self, other, rel_tol=1e-12)

    __hash__ = float.__hash__


def _cells(text: str) -> list[list[object]]:
    rows: list[list[object]] = []
    for row in csv.reader(io.StringIO(text)):
        cells: list[object] = []
        for cell in row:
            try:
                cells.append(_Close(cell) if "." in cell else cell)
            except ValueError:
                cells.append(cell)
        rows.append(cells)
    return rows


def test_page_is_unchanged_but_for_whitespace(rendered: dict[str, str]) -> None:
    expected = (GOLDEN / "page.html").read_text(encoding="utf-8")
    assert _collapsed(rendered["page.html"]) == _collapsed(expected)


def test_an_sla_without_targets_is_no_sla_everywhere() -> None:
    """One verdict: ``sla={}`` checks nothing, in the terminal as on the page (it is stored as
    no SLA, so the summary of a session always showed it so)."""
    result = _shop(name="empty sla", sla=parse_sla({}))
    assert result.passed
    row = summary_lines([result])[1]  # under the header
    assert row.startswith("tests/test_shop.py::test_shop [empty sla] ")
    assert row.split()[-1] == "-"
    page = render_html(views([result]), METADATA, charts=None)
    assert '<span class="badge none" title="no SLA targets to check">no SLA</span>' in page
    assert "| no SLA |" in markdown_summary([result])


if __name__ == "__main__":
    for file_name, text in render(Path(sys.argv[1])).items():
        (Path(sys.argv[1]) / file_name).write_text(text, encoding="utf-8")
