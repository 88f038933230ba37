"""Between-run noise from the history of saved runs (issue 16, point 7): the median and spread,
which runs make a history, and checks judged against it."""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_loadtest._baseline._checks import parse_checks
from pytest_loadtest._baseline._compare import CheckResult, Comparison, compare
from pytest_loadtest._baseline._entry import EntryKey, entries_from_results
from pytest_loadtest._baseline._history import (
    History,
    HistoryRuns,
    allowed_spreads,
    read_history,
)
from pytest_loadtest._baseline._metadata import RunMetadata
from pytest_loadtest._baseline._storage import Baseline, load_run, save_run
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._settings._parsers import MAX_HISTORY, parse_history

from helpers.baseline_samples import TEST_ID, result

MACHINE = "Linux-CPython-3.11-64bit"
P50 = parse_checks("p50:10%")[0]
THROUGHPUT = parse_checks("throughput:-5%")[0]
TOTAL = EntryKey(TEST_ID, "shop")

# p50 of result(): 2 ms x slower. The calm run gives 1.5 ms, the stormy ones about 20 ms: the
# bimodal runs of 50 threads contending for the GIL on a busy machine.
CALM, STORMY = 0.75, 10.0


def _meta(**changes: Any) -> RunMetadata:
    info = {"system": "Linux", "release": "6.1", "cpu": {"brand_raw": "Xeon", "count": 2}}
    base = RunMetadata.collect(MACHINE, machine_info=info, commit_info={"id": "abc"})
    return dataclasses.replace(base, **changes)


def _save(storage: Path, *results: LoadResult, passed: bool = True) -> Path:
    path = save_run(
        storage,
        MACHINE,
        "main",
        results,
        _meta(passed=passed),
        failed=not passed,
        save_failed=True,
    )
    assert path is not None
    return path


def _history(*values: float, baseline: str = "0004_main") -> History:
    labels = tuple(f"{n:04d}_main" for n in range(len(values), 0, -1))
    return History(values, labels, baseline)


def _total_p50(comparison: Comparison) -> CheckResult:
    (check,) = [c for c in comparison.checks if c.key == TOTAL and c.check.metric == "p50"]
    return check


# -- the median and the spread ------------------------------------------------------------------
def test_reference_is_the_median_and_spread_the_scaled_mad() -> None:
    history = _history(4.0, 100.0, 1.0, 3.0, 2.0)
    assert history.reference == 3.0
    # deviations 1, 97, 2, 0, 1: their median is 1
    assert history.spread == pytest.approx(1.4826)


def test_identical_figures_have_a_spread_of_one_percent_of_the_median() -> None:
    history = _history(20.0, 20.0, 20.0, 20.0, 20.0)
    assert history.spread == pytest.approx(0.2)
    assert not history.regressed(P50, 20.5)  # inside the threshold
    assert history.regressed(P50, 22.1)  # +10.5%: past it, and 10.5 spreads beyond (7.3 allowed)


def test_a_calm_or_stormy_run_moves_neither_median_nor_spread_much() -> None:
    """One calm baseline among stormy runs: the unchanged figure is inside the spread, 25%
    slower is far beyond it."""
    history = _history(1.49, 20.0, 20.6, 19.4, 21.0, 19.8)
    assert history.reference == pytest.approx(19.9)
    assert history.spread < 1.0
    assert not history.past(P50, 20.4)
    assert not history.regressed(P50, 20.4)
    assert history.regressed(P50, 20.4 * 1.25)


def test_past_the_threshold_but_within_the_spread_is_not_a_regression() -> None:
    history = _history(10.0, 14.0, 18.0, 22.0, 26.0)  # median 18, spread 1.4826 x 4
    assert history.past(P50, 21.0)  # +16.7%
    assert history.spreads(P50, 21.0) == pytest.approx(3 / (1.4826 * 4))
    assert not history.regressed(P50, 21.0)
    bound = 18 + history.allowed * 1.4826 * 4
    assert not history.regressed(P50, bound - 0.1)
    assert history.regressed(P50, bound + 0.1)


@pytest.mark.parametrize(
    ("runs", "allowed"), [(3, 22.18), (4, 10.31), (5, 7.25), (10, 4.29), (30, 3.33), (1000, 3.0)]
)
def test_a_short_history_allows_more_spreads(runs: int, allowed: float) -> None:
    """Student's t bound for one new figure at the coverage of 3 sigma: a short history's
    spread is a rough guess, a long one's tends to the 3 spreads of a normal figure."""
    assert allowed_spreads(runs) == pytest.approx(allowed, abs=0.01)


@pytest.mark.parametrize(("runs", "flat_above"), [(5, 0.05), (10, 0.02)])
def test_unchanged_runs_seldom_lie_beyond_a_history(runs: int, flat_above: float) -> None:
    """``runs`` runs of normal noise (20% of the mean: the 1% floor plays no part), then one
    more of the same: with a flat 3 spreads it lies beyond in 7.7% of draws for 5 runs and 2.6%
    for 10; the t bound lets through 0.4-2% (the median and MAD scatter more than the mean and
    standard deviation it is exact for), and is not so wide as to let through nothing."""
    rng = random.Random(7)
    beyond = flat = 0
    draws = 10_000
    for _ in range(draws):
        history = _history(*(rng.gauss(100.0, 20.0) for _ in range(runs)))
        spreads = history.spreads(P50, rng.gauss(100.0, 20.0))
        flat += spreads > 3
        beyond += spreads > history.allowed
    assert flat / draws > flat_above
    assert 0.004 < beyond / draws < 0.02


def test_throughput_regresses_downwards() -> None:
    history = _history(1000.0, 1010.0, 990.0)  # spread 14.8/s; 22.2 spreads allowed of 3 runs
    assert history.regressed(THROUGHPUT, 600.0)
    assert not history.regressed(THROUGHPUT, 900.0)
    assert not history.regressed(THROUGHPUT, 1100.0)
    assert history.spreads(THROUGHPUT, 1100.0) < 0


def test_verdicts_name_the_history() -> None:
    history = _history(20.0, 20.0, 20.0, 1.5)
    assert history.against(P50, 1.5) == (
        "median of the last 4 runs 20.0ms (between-run spread 200µs; baseline 0004_main 1.50ms)"
    )
    assert history.verdict(P50, 25.0, 1.5).startswith(
        "past the threshold +10% and more than 10.3 spreads beyond the history (+25.0 spreads)"
    )
    assert history.verdict(P50, 20.1, 1.5).startswith(
        "within the threshold +10% of the history's median, though past it against baseline "
        "0004_main alone (+1240.0%)"
    )
    assert history.verdict(P50, 19.0, 19.0) == "within the threshold +10%"
    wide = _history(10.0, 14.0, 18.0, 22.0, 26.0)
    assert wide.verdict(P50, 21.0, 18.0) == (
        "past the threshold +10% but within the history's between-run noise (+0.5 spreads, "
        "noise within 7.3 for 5 runs: only a change beyond +239% of the median stands out "
        "from it)"
    )


def test_a_noisy_history_says_what_change_it_can_see() -> None:
    """median 18, spread 1.4826 x 4 = 5.93, 7.25 spreads allowed for 5 runs: 43.0 = 239%."""
    wide = _history(10.0, 14.0, 18.0, 22.0, 26.0)
    assert wide.visible(P50) == ": only a change beyond +239% of the median stands out from it"
    assert wide.regressed(P50, 18.0 * (1 + 2.40))  # the +239% is the bound, rounded
    assert not wide.regressed(P50, 18.0 * (1 + 2.38))
    calm = _history(1000.0, 1010.0, 990.0, 1005.0, 995.0)  # spread: the 1% floor; 7.25 of it
    assert calm.visible(THROUGHPUT) == ": only a fall beyond -7% of the median stands out from it"
    assert _history(100.0, 20.0, 180.0).visible(THROUGHPUT) == ": no fall stands out from it"
    assert _history(0.0, 0.0, 0.0).visible(P50) == ""


@pytest.mark.parametrize(
    ("value", "count"), [("0", 0), (0, 0), ("3", 3), (" 10 ", 10), (1000, 1000), ("1_0", 10)]
)
def test_history_count_parses(value: object, count: int) -> None:
    assert parse_history(value) == count


@pytest.mark.parametrize("bad", ["-1", -1, "ten", "2.5", True, "", MAX_HISTORY + 1])
def test_bad_history_count_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match=r"whole number|at least 1|above the limit"):
        parse_history(bad)


# -- which runs make a history ------------------------------------------------------------------
def test_fewer_than_three_figures_make_no_history() -> None:
    entries = entries_from_results([result(1), result(2)])
    runs = [
        Baseline(Path(f"000{number}_main.json"), number, "main", _meta(), {entry.key: entry})
        for number, entry in zip((2, 1), entries, strict=True)
    ]
    current = entries_from_results([result(3)])[0]
    assert HistoryRuns(runs).of("p50", current, "0002_main") is None
    three = HistoryRuns([*runs, runs[0]])
    history = three.of("p50", current, "0002_main")
    assert history is not None
    assert history.labels == ("0002_main", "0001_main", "0002_main")
    assert HistoryRuns([*runs, runs[0]], limit=2).of("p50", current, "x") is None
    assert three.of("error_rate", current, "0002_main") is None  # judged as before


def test_runs_of_other_load_settings_are_not_history(tmp_path: Path) -> None:
    for seed in (1, 2, 3):
        _save(tmp_path, result(seed, users=20))
    _save(tmp_path, result(4))
    baseline = load_run(tmp_path, MACHINE)
    runs = read_history(tmp_path, MACHINE, baseline, 10)
    assert len(runs.runs) == 4
    current = entries_from_results([result(5)])[0]
    assert [label for label, _ in runs.entries(current)] == ["0004_main"]
    assert runs.of("p50", current, baseline.label) is None
    assert runs.of("p50", entries_from_results([result(5, users=20)])[0], "x") is not None


def test_history_takes_passed_runs_up_to_the_baseline_newest_first(tmp_path: Path) -> None:
    for seed in (1, 2, 3):
        _save(tmp_path, result(seed))
    _save(tmp_path, result(4), passed=False)
    _save(tmp_path, result(5))
    _save(tmp_path, result(6))  # after the baseline: not its history
    baseline = load_run(tmp_path, MACHINE, 5)
    runs = read_history(tmp_path, MACHINE, baseline, 10)
    assert [run.label for run in runs.runs] == ["0005_main", "0003_main", "0002_main", "0001_main"]
    assert runs.runs[0] is baseline  # read once
    assert runs.warnings == []
    assert [run.label for run in read_history(tmp_path, MACHINE, baseline, 3).runs][:3] == [
        "0005_main",
        "0003_main",
        "0002_main",
    ]
    current = entries_from_results([result(7)])[0]
    assert [
        label for label, _ in read_history(tmp_path, MACHINE, baseline, 3).entries(current)
    ] == [
        "0005_main",
        "0003_main",
        "0002_main",
    ]


def test_no_history_when_off_or_the_baseline_is_a_file_elsewhere(tmp_path: Path) -> None:
    for seed in (1, 2, 3, 4):
        path = _save(tmp_path / "storage", result(seed))
    inside = load_run(tmp_path / "storage", MACHINE, path)
    assert read_history(tmp_path / "storage", MACHINE, inside, 0).runs == ()
    elsewhere = tmp_path / path.name
    shutil.copy(path, elsewhere)
    baseline = load_run(tmp_path / "storage", MACHINE, elsewhere)
    assert read_history(tmp_path / "storage", MACHINE, baseline, 10).runs == ()
    assert len(read_history(tmp_path / "storage", MACHINE, inside, 10).runs) == 4


def _negative_errors(text: str) -> str:
    document = json.loads(text)
    document["benchmarks"][0]["stats"]["loadtest"]["errors"] = -5
    return json.dumps(document)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda text: "{not json",
        lambda text: text[: len(text) // 2],  # truncated
        lambda text: '{"benchmarks": [1]}',
        _negative_errors,
    ],
    ids=["not-json", "truncated", "not-an-entry", "negative-errors"],
)
def test_a_corrupt_history_file_is_left_out_with_a_warning(
    tmp_path: Path, corrupt: Callable[[str], str]
) -> None:
    for seed in (1, 2, 3):
        _save(tmp_path, result(seed, slower=STORMY))
    path = _save(tmp_path, result(4, slower=STORMY))
    _save(tmp_path, result(5, slower=CALM))
    path.write_text(corrupt(path.read_text(encoding="utf-8")), encoding="utf-8")
    baseline = load_run(tmp_path, MACHINE, 5)
    comparison = compare(
        baseline,
        [result(6, slower=STORMY)],
        [P50],
        metadata=_meta(),
        history=read_history(tmp_path, MACHINE, baseline, 10),
    )
    warnings = [w for w in comparison.warnings if "history" in w]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"saved run {path} left out of the history: ")
    check = _total_p50(comparison)
    assert check.history is not None
    assert check.history.labels == ("0005_main", "0003_main", "0002_main", "0001_main")
    assert not check.failed


# -- checks judged against the history ----------------------------------------------------------
def _storms_then_calm(storage: Path) -> Baseline:
    """Three stormy runs (p50 about 20 ms), then a calm one (1.5 ms): the baseline."""
    for seed in (1, 2, 3):
        _save(storage, result(seed, slower=STORMY))
    _save(storage, result(4, slower=CALM))
    return load_run(storage, MACHINE)


def _compare(storage: Path, baseline: Baseline, current: LoadResult, limit: int) -> Comparison:
    history = read_history(storage, MACHINE, baseline, limit)
    return compare(baseline, [current], [P50], metadata=_meta(), history=history)


def test_unchanged_code_after_a_calm_baseline_is_within_the_history(tmp_path: Path) -> None:
    baseline = _storms_then_calm(tmp_path)
    unchanged = result(5, slower=STORMY)
    without = _total_p50(_compare(tmp_path, baseline, unchanged, 0))
    assert without.failed  # what the single baseline says: a false alarm
    comparison = _compare(tmp_path, baseline, unchanged, 10)
    check = _total_p50(comparison)
    assert not check.failed
    assert comparison.failures == []
    assert check.status == "within noise"
    assert check.reference == pytest.approx(20.0, rel=0.03)
    message = check.message()
    assert message.startswith(
        f"{TEST_ID} [shop]: p50 of all operations was 2"  # about 20ms
    )
    assert ", median of the last 4 runs " in message
    assert "baseline 0004_main 1.5" in message
    assert "though past it against baseline 0004_main alone (+" in message
    lines = comparison.lines()
    assert lines[0].endswith(
        "; checks with 3 or more earlier runs are judged against their median and between-run "
        "spread"
    )
    assert any(line.startswith(f"not a regression: {TEST_ID} [shop]: p50") for line in lines)
    data = check.to_dict()
    assert data["judged_against"] == "history"
    assert data["history"]["runs"] == ["0004_main", "0003_main", "0002_main", "0001_main"]
    assert data["history"]["median"] == pytest.approx(check.reference)


def test_a_quarter_slower_is_a_regression_against_the_history(tmp_path: Path) -> None:
    baseline = _storms_then_calm(tmp_path)
    comparison = _compare(tmp_path, baseline, result(5, slower=STORMY * 1.25), 10)
    check = _total_p50(comparison)
    assert check.failed
    assert check.status == "FAIL"
    message = check.message()
    assert ", median of the last 4 runs 2" in message
    assert "past the threshold +10% and more than 10.3 spreads beyond the history (+" in message
    assert "REGRESSION " + message in comparison.lines()
    assert comparison.failure_message(TEST_ID).endswith(message)


def test_fewer_than_three_runs_judge_as_before(tmp_path: Path) -> None:
    _save(tmp_path, result(1, slower=STORMY))
    _save(tmp_path, result(2, slower=CALM))
    baseline = load_run(tmp_path, MACHINE)
    current = result(3, slower=STORMY)
    before = compare(baseline, [current], [P50], metadata=_meta())
    now = _compare(tmp_path, baseline, current, 10)
    assert [c.history for c in now.checks] == [None] * len(now.checks)
    assert [c.to_dict() for c in now.checks] == [c.to_dict() for c in before.checks]
    assert {c.to_dict()["judged_against"] for c in now.checks} == {"baseline"}
    assert now.lines() == before.lines()
    assert _total_p50(now).failed


def test_error_rate_is_judged_against_the_baseline(tmp_path: Path) -> None:
    for seed in (1, 2, 3, 4):
        _save(tmp_path, result(seed, error_rate=0.0))
    baseline = load_run(tmp_path, MACHINE)
    history = read_history(tmp_path, MACHINE, baseline, 10)
    checks = parse_checks("error_rate:+0.5%")
    comparison = compare(
        baseline, [result(5, error_rate=0.02)], checks, metadata=_meta(), history=history
    )
    total = next(c for c in comparison.checks if c.key == TOTAL)
    assert total.history is None
    assert total.failed
    assert "beyond sampling noise (two-proportion test" in total.message()
