"""``timeline.csv`` and ``summary.csv``: one row per test, operation and window / operation."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._report._csv import SUMMARY_COLUMNS, TIMELINE_COLUMNS
from pytest_loadtest._report._write import write_report

from helpers.report_samples import (
    HOSTILE,
    HOSTILE_IMG,
    hostile_result,
    measured_result,
    synthetic_result,
)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def results() -> list[LoadResult]:
    return [synthetic_result(seconds=20), hostile_result()]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, results: list[LoadResult]) -> Path:
    directory = tmp_path_factory.mktemp("report")
    write_report(directory, results)
    return directory


def test_headers(report: Path) -> None:
    for name, columns in (("timeline.csv", TIMELINE_COLUMNS), ("summary.csv", SUMMARY_COLUMNS)):
        with (report / name).open(encoding="utf-8", newline="") as handle:
            assert tuple(next(csv.reader(handle))) == columns


def test_timeline_has_one_row_per_test_operation_and_window(
    report: Path, results: list[LoadResult]
) -> None:
    rows = _read(report / "timeline.csv")
    expected = sum(
        len(r.timeline) + sum(len(op.timeline) for op in r.operations.values()) for r in results
    )
    assert len(rows) == expected
    shop = [row for row in rows if row["run"] == "shop"]
    overall = [row for row in shop if row["scope"] == "all"]
    assert [float(row["t_s"]) for row in overall] == [float(t) for t in range(20)]
    assert {row["operation"] for row in shop if row["scope"] == "operation"} == {
        "browse",
        "list",
        "open",
        "checkout",
        "login",
    }
    first = results[0].timeline[7]
    row = overall[7]
    assert int(row["calls"]) == first.calls
    assert float(row["calls_per_s"]) == first.calls / 1.0
    assert float(row["p95_ms"]) == pytest.approx(first.p95)
    assert int(row["users"]) == first.users
    assert row["warmup"] == "false"
    assert overall[0]["warmup"] == "true"


def test_summary_has_one_row_per_test_and_operation(
    report: Path, results: list[LoadResult]
) -> None:
    rows = _read(report / "summary.csv")
    assert len(rows) == sum(1 + len(r.operations) for r in results)
    shop = results[0]
    overall = next(row for row in rows if row["run"] == "shop" and row["scope"] == "all")
    assert int(overall["calls"]) == shop.total
    assert float(overall["p99_ms"]) == pytest.approx(shop.p99)
    assert overall["passed"] == "false"
    assert int(overall["breaches"]) == len(shop.sla_breaches)
    checkout = next(row for row in rows if row["operation"] == "checkout")
    assert int(checkout["errors"]) == shop.operations["checkout"].errors
    named = [b for b in shop.sla_breaches if b.operation == "checkout"]
    assert named
    assert int(checkout["breaches"]) == len(named)
    step = next(row for row in rows if row["operation"] == "list")
    assert (step["kind"], step["parent"], step["users"]) == ("step", "browse", "")


def test_user_strings_survive_as_data(report: Path) -> None:
    """Quotes, pipes and markup in names are quoted by the CSV writer, not altered."""
    rows = _read(report / "summary.csv")
    hostile = [row for row in rows if row["operation"] == HOSTILE]
    assert len(hostile) == 1
    assert hostile[0]["test_id"].endswith(f"[{HOSTILE}|`code`{HOSTILE_IMG}]")


def test_an_operation_that_never_measured_has_empty_latency_cells(tmp_path: Path) -> None:
    def boom() -> None:
        raise ValueError("no")

    result = measured_result({"fine": lambda: None, "never": boom}, duration="0.2s")
    result.operations["never"].histogram = type(result.histogram)()  # as if no call completed
    write_report(tmp_path, [result])
    row = next(r for r in _read(tmp_path / "summary.csv") if r["operation"] == "never")
    assert row["p50_ms"] == ""
    assert row["max_ms"] == ""


def test_rates_use_the_timeline_window(tmp_path: Path) -> None:
    """Half-second windows: calls/s is twice the calls of a window."""
    result = synthetic_result(seconds=4)
    for row in [*result.timeline, *(r for op in result.operations.values() for r in op.timeline)]:
        row.t /= 2
    write_report(tmp_path, [result])
    rows = [r for r in _read(tmp_path / "timeline.csv") if r["scope"] == "all"]
    assert [float(r["window_s"]) for r in rows] == [0.5] * 4
    assert [float(r["calls_per_s"]) for r in rows] == [row.calls * 2 for row in result.timeline]


def test_the_process_samples_join_the_whole_run_rows(tmp_path: Path) -> None:
    result = measured_result(lambda: time.sleep(0.001), duration="1.2s", monitor_interval="0.2s")
    assert any(row.rss_mb > 0 for row in result.timeline)  # nan compares False
    write_report(tmp_path, [result])
    with (tmp_path / "timeline.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["scope"] == "all"]
    assert any(float(r["rss_mb"]) > 0 for r in rows if r["rss_mb"])
    assert any(r["cpu_percent"] for r in rows)
