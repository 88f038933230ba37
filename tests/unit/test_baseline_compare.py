"""Comparing runs with a saved baseline: rows, check verdicts, messages, warnings, lines."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_loadtest._baseline._checks import parse_checks
from pytest_loadtest._baseline._compare import compare
from pytest_loadtest._baseline._entry import EntryKey
from pytest_loadtest._baseline._metadata import RunMetadata
from pytest_loadtest._baseline._storage import Baseline, load_run, save_run
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._runner import LoadRunner

from helpers.baseline_samples import TEST_ID, result

MACHINE = "Linux-CPython-3.11-64bit"
CHECKS = parse_checks("p95:10%,p99:15%,throughput:-5%,error_rate:+0.5%,mean:+10%")
OPS = {"get": 1.0, "put": 3.0}


def _meta(**changes: Any) -> RunMetadata:
    info = {"system": "Linux", "release": "6.1", "cpu": {"brand_raw": "Xeon", "count": 2}}
    base = RunMetadata.collect(MACHINE, machine_info=info, commit_info={"id": "abc"})
    return dataclasses.replace(base, **changes)


def _baseline(tmp_path: Path, *results: LoadResult) -> Baseline:
    save_run(tmp_path, MACHINE, "main", results, _meta())
    return load_run(tmp_path, MACHINE)


def test_noisy_but_unchanged_passes(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, result(1, operations=OPS, error_rate=0.01))
    current = result(2, operations=OPS, error_rate=0.01)
    comparison = compare(baseline, [current], CHECKS, metadata=_meta())
    assert comparison.failures == []
    assert comparison.warnings == []
    assert [row.key for row in comparison.rows] == [
        EntryKey(TEST_ID, "shop"),
        EntryKey(TEST_ID, "shop", "get"),
        EntryKey(TEST_ID, "shop", "put"),
    ]
    assert len(comparison.checks) == 3 * len(CHECKS)
    assert {c.status for c in comparison.checks} == {"pass"}
    assert comparison.failure_message(TEST_ID) == ""


def test_twice_as_slow_fails(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, result(1, operations=OPS))
    slow = result(2, operations=OPS, slower=2.0, n=10_000)  # half the calls in the same time
    comparison = compare(baseline, [slow], CHECKS, metadata=_meta())
    failed = {(c.key.operation, c.check.metric) for c in comparison.failures}
    assert failed == {
        (op, metric)
        for op in (None, "get", "put")
        for metric in ("p95", "p99", "throughput", "mean")
    }
    assert {c.key.test_id for c in comparison.failures} == {TEST_ID}
    (p95,) = [
        c
        for c in comparison.failures_for(TEST_ID)
        if c.check.metric == "p95" and not c.key.operation
    ]
    assert p95.current == pytest.approx(2 * p95.baseline, rel=0.05)
    message = p95.message()
    assert message.startswith(f"{TEST_ID} [shop]: p95 of all operations was ")
    assert ", baseline " in message
    assert "past the threshold +10% and beyond sampling noise (95% intervals: baseline " in message
    get = next(c for c in comparison.failures if c.key.operation == "get")
    assert "of operation get was" in get.message()
    text = comparison.failure_message(TEST_ID)
    assert text.startswith("performance regressed against baseline 0001_main:\n  - ")
    assert text.count("\n  - ") == len(comparison.failures)


def test_a_change_past_the_threshold_but_within_noise_does_not_fail(tmp_path: Path) -> None:
    # 300 calls a run: a p95 15% higher, threshold 5%, is still within sampling noise
    baseline = _baseline(tmp_path, result(3, n=300))
    current = result(2, n=300, slower=1.1)
    comparison = compare(baseline, [current], parse_checks("p95:5%"), metadata=_meta())
    (check,) = comparison.checks
    assert check.exceeded
    assert check.status == "within noise"
    assert not check.failed
    assert "but within sampling noise" in check.message()
    assert any(line.startswith("not a regression: ") for line in comparison.lines())


def test_low_sample_checks_are_skipped_and_said(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, result(1, n=500))
    comparison = compare(baseline, [result(2, n=500, slower=3.0)], parse_checks("p99:10%"))
    (check,) = comparison.checks
    assert check.status == "low sample"
    assert not check.failed
    warning = comparison.warnings[-1]
    assert warning.startswith(f"low sample: {TEST_ID} [shop]: p99 of all operations was ")
    assert warning.endswith(
        "not checked: p99 needs at least 1,000 calls in each run (baseline 500, current 500)"
    )


def test_error_rate_regression(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, result(1, error_rate=0.001))
    current = result(2, error_rate=0.02)
    comparison = compare(baseline, [current], parse_checks("error_rate:+0.5%"), metadata=_meta())
    (check,) = comparison.failures
    assert (
        "error_rate of all operations was 2.00%, baseline 0.10% (+1.90 points)" in check.message()
    )
    assert "past the threshold +0.5 points and beyond sampling noise" in check.message()


def test_machine_python_and_settings_changes_are_flagged(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, result(1))
    now = _meta(
        python_version="2.7.18",  # never the Python running this test
        plugin_version="9.9",
        machine_info={
            "system": "Linux",
            "release": "6.1",
            "cpu": {"brand_raw": "EPYC", "count": 4},
        },
    )
    comparison = compare(baseline, [result(2, users=20)], metadata=now)
    setup, settings = comparison.warnings
    assert setup.startswith("baseline 0001_main was measured on another setup (Python CPython ")
    assert "-> CPython 2.7.18" in setup
    assert "CPU Xeon -> EPYC; CPU count 2 -> 4; pytest-loadtest " in setup
    assert settings == (
        f"{TEST_ID} [shop]: load settings differ from the baseline (users 10 -> 20): "
        "the figures are not like for like"
    )


def test_new_and_missing_entries(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, result(1))
    other = result(2, test_id="tests/test_new.py::test_new")
    comparison = compare(baseline, [other], CHECKS, metadata=_meta())
    assert comparison.rows == []
    assert comparison.checks == []
    assert comparison.new == [EntryKey("tests/test_new.py::test_new", "shop")]
    lines = comparison.lines()
    assert "no test of this run has an entry in the baseline" in lines
    assert "new (no baseline entry): tests/test_new.py::test_new [shop]" in lines


def test_lines(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, result(1, operations=OPS))
    comparison = compare(
        baseline, [result(2, operations=OPS, slower=2.0)], parse_checks("p95:10%"), metadata=_meta()
    )
    lines = comparison.lines()
    assert lines[0].startswith("compared with baseline 0001_main (")
    assert "commit abc" in lines[0]
    assert lines[0].endswith("baseline -> current, change; * beyond sampling noise at 95%")
    header = lines[1].split()
    assert header == ["test", "/", "operation", "p50", "p95", "p99", "calls/s", "err%"]
    assert lines[2].startswith(f"{TEST_ID} [shop]  ")
    assert lines[3].startswith("  get  ")
    assert lines[4].startswith("  put  ")
    assert "*" in lines[2]
    assert "0.00% -> 0.00% +0.00pp" in lines[2]
    regressions = [line for line in lines if line.startswith("REGRESSION ")]
    assert len(regressions) == 3


def test_to_dict(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, result(1))
    data = compare(baseline, [result(2)], CHECKS, metadata=_meta()).to_dict()
    assert data["baseline"]["label"] == "0001_main"
    (row,) = data["rows"]
    assert row["p95"]["noise"] == "within noise"
    assert {check["status"] for check in data["checks"]} == {"pass"}


def test_with_the_engine(tmp_path: Path) -> None:
    """Real runs: the same target twice passes; one made 20x slower fails."""

    def run(delay: float) -> LoadResult:
        def target() -> None:
            time.sleep(delay)

        # a runner of its own, as each pytest session has: a second run() would be "(run 2)"
        outcome = LoadRunner().run(target, users=2, duration="0.4s")
        outcome.test_id = "tests/test_engine.py::test_sleep"
        return outcome

    saved = save_run(tmp_path, MACHINE, "engine", [run(0.0005)], _meta())
    assert saved is not None
    baseline = load_run(tmp_path, MACHINE)
    checks = parse_checks("p50:50%,throughput:-50%")
    slow = compare(baseline, [run(0.01)], checks, metadata=_meta())
    assert {c.check.metric for c in slow.failures} == {"p50", "throughput"}
    same = compare(baseline, [run(0.0005)], parse_checks("p50:200%"), metadata=_meta())
    assert same.failures == []


def test_low_sample_warnings_are_one_line_per_operation(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, result(1, n=500, operations=OPS))
    comparison = compare(
        baseline, [result(2, n=500, operations=OPS)], parse_checks("p95:10%,p99:10%,p99.9:10%")
    )
    low = [warning for warning in comparison.warnings if warning.startswith("low sample: ")]
    assert len(low) == 3  # the total, get and put
    assert low[1] == (
        f"low sample: {TEST_ID} [shop]: p99:+10%, p99.9:+10% of operation get not checked: "
        "p99 needs at least 1,000 calls in each run (baseline 250, current 250); "
        "p99.9 needs at least 10,000 calls in each run (baseline 250, current 250)"
    )


def test_an_operation_reads_the_same_in_the_table_and_the_messages(tmp_path: Path) -> None:
    """A hook is "login (hook)" in the comparison table and in the regression message alike."""

    def as_hook(run: LoadResult) -> LoadResult:
        run.operations["login"] = dataclasses.replace(run.operations["login"], kind="hook")
        return run

    ops = {"login": 1.0, "get": 1.0}
    baseline = _baseline(tmp_path, as_hook(result(1, operations=ops)))
    slow = as_hook(result(2, operations=ops, slower=2.0, n=10_000))
    comparison = compare(baseline, [slow], CHECKS, metadata=_meta())
    login = next(c for c in comparison.failures if c.key.operation == "login")
    assert "p95 of operation login (hook) was " in login.message()
    assert any(line.strip().startswith("login (hook) ") for line in comparison.lines())
    assert "'login'" not in "\n".join(comparison.lines())


@pytest.mark.parametrize(
    ("baseline_ms", "current_ms", "fails"),
    [
        (None, None, True),  # unknown: judged as measured
        (1.0, 1.0, True),  # as fast: as measured
        (1.0, 0.5, True),  # faster now: never stricter than measured
        (1.0, 1.05, True),  # 1.05x: within the probe's own spread, judged as measured
        (1.0, 2.2, False),  # 2.2x slower machine: twice the latency is allowed for
        (1.0, 1.4, True),  # 1.4x slower machine: 2x the latency is still past +10% after it
    ],
)
def test_a_slower_machine_is_allowed_for_never_a_faster_one(
    tmp_path: Path, baseline_ms: float | None, current_ms: float | None, fails: bool
) -> None:
    old = result(1, operations=OPS)
    old.reference_ms = baseline_ms
    baseline = _baseline(tmp_path, old)
    slow = result(2, operations=OPS, slower=2.0, n=10_000)
    slow.reference_ms = current_ms
    comparison = compare(baseline, [slow], parse_checks("p95:10%"), metadata=_meta())
    (total,) = [c for c in comparison.checks if c.key.operation is None]
    assert total.failed is fails
    if current_ms and baseline_ms and current_ms / baseline_ms >= 1.1:
        assert total.allowance == pytest.approx(current_ms / baseline_ms)
        assert total.judged == pytest.approx(total.current / total.allowance)
        assert f"allowing for a machine {current_ms / baseline_ms:.2f}x slower" in total.message()
        assert any(
            "the machine ran" in w and "the checks allow for it" in w for w in comparison.warnings
        )
    else:
        assert total.allowance == 1.0
        assert "allowing for" not in total.message()


@pytest.mark.parametrize(
    ("median_ms", "cpu_ms", "slow_fails", "fast_fails"),
    [
        # the queue for the CPU grew (the reference time), the CPU did not slow (its CPU time):
        # the slow calls are allowed for, the fastest calls are not
        (2.2, 0.5, False, True),
        # the CPU itself ran slower: the fastest calls are allowed for too
        (2.2, 1.1, False, False),
        # only the CPU time moved (a rare run): each allowance reads its own figure
        (1.0, 1.1, True, False),
    ],
)
def test_the_fastest_calls_are_allowed_for_by_the_reference_cpu_time(
    tmp_path: Path, median_ms: float, cpu_ms: float, slow_fails: bool, fast_fails: bool
) -> None:
    old = result(1, operations=OPS)
    old.reference_ms, old.reference_cpu_ms = 1.0, 0.5
    baseline = _baseline(tmp_path, old)
    slow = result(2, operations=OPS, slower=2.0, n=10_000)
    slow.reference_ms, slow.reference_cpu_ms = median_ms, cpu_ms
    comparison = compare(baseline, [slow], parse_checks("p95:10%,p5:10%"), metadata=_meta())
    checks = {c.check.metric: c for c in comparison.checks if c.key.operation is None}
    assert checks["p95"].failed is slow_fails
    assert checks["p5"].failed is fast_fails
    assert checks["p95"].allowance == pytest.approx(median_ms if median_ms >= 1.1 else 1.0)
    assert checks["p5"].allowance == pytest.approx(cpu_ms / 0.5 if cpu_ms >= 0.55 else 1.0)
    if not fast_fails:
        assert "(the reference workload's least CPU time)" in checks["p5"].message()
