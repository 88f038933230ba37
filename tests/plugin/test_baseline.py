"""Baselines (issue 6): saving runs, comparing with them, regression checks, bad baselines,
failed sessions, pytest-xdist, and pytest-benchmark's storage and command line."""

from __future__ import annotations

import fnmatch
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

# Imported here, once: an in-process run drops the modules it imported, and the baseline package
# caches the machine info that every save collects (py-cpuinfo takes about a second).
from pytest_loadtest._baseline._benchmark_compat import machine_id

MACHINE = machine_id()

# With pytest-benchmark loaded in the inner run (its --benchmark-storage, its own saves).
WITH_BENCHMARK = (
    "-p no:hypothesispytest -p no:cacheprovider -o asyncio_default_fixture_loop_scope=function"
)

# Quick runs: enough to save and to print a comparison, too few calls to judge noise.
QUICK = """
import pytest

def ping():
    pass

@pytest.mark.load(users=2, iterations=200)
def test_shop(load_runner):
    load_runner.run({"search": ping, "checkout": ping})

@pytest.mark.load(users=1, iterations=100)
def test_ping(load_runner):
    load_runner.run(ping)
"""

QUICK_ENTRIES = {
    "test_quick.py::test_shop[search+checkout]",
    "test_quick.py::test_shop[search+checkout/search]",
    "test_quick.py::test_shop[search+checkout/checkout]",
    "test_quick.py::test_ping[ping]",
}

# Timed runs for the checks: 'checkout' sleeps LOADTEST_DELAY seconds, everything else 1ms.
# In one second, 10 users make several hundred calls of each operation even when 'checkout'
# takes 25ms: more than the 200 calls each run needs before its p95 is judged.
SLOWED = """
import os
import time
import pytest

def search():
    time.sleep(0.001)

def checkout():
    time.sleep(float(os.environ.get("LOADTEST_DELAY", "0.001")))

@pytest.mark.load(users=10, duration="1s")
def test_shop(load_runner):
    load_runner.run({"search": search, "checkout": checkout})

@pytest.mark.load(users=2, duration="1s")
def test_steady(load_runner):
    load_runner.run(search)
"""

# Loose enough for an unchanged 1ms sleep on a busy machine, far below a 25x slower checkout.
CHECKS = "--load-compare-fail=p50:50%,p95:+10ms"


def run_file(root: Path, number: int, name: str) -> Path:
    """Where run NUMBER named NAME is saved in storage ROOT."""
    return root / MACHINE / f"{number:04d}_{name}.json"


def read_run(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def fullnames(document: dict[str, Any]) -> set[str]:
    return {bench["fullname"] for bench in document["benchmarks"]}


def saved(root: Path) -> list[str]:
    folder = root / MACHINE
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def baseline_section(result: pytest.RunResult) -> str:
    text = result.stdout.str()
    assert "= load test baseline =" in text, text
    return text.split("= load test baseline =", 1)[1]


# -- saving -------------------------------------------------------------------------------------
def test_save_writes_a_new_numbered_run_each_time(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_quick=QUICK)
    storage = pytester.path / ".benchmarks"
    first = run_file(storage, 1, "main")

    result = pytester.runpytest("-m", "load", "--load-save=main")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*= load test baseline =*", f"load results saved: .benchmarks/{MACHINE}/0001_main.json"]
    )
    document = read_run(first)
    assert fullnames(document) == QUICK_ENTRIES
    assert document["loadtest"]["name"] == "main"
    assert document["loadtest"]["passed"] is True
    shop = next(b for b in document["benchmarks"] if b["name"] == "test_shop[search+checkout]")
    assert shop["group"] == "test_quick.py::test_shop"
    assert shop["stats"]["rounds"] == 200  # every call of the run
    assert shop["stats"]["p95"] <= shop["stats"]["max"]
    content = first.read_bytes()

    result = pytester.runpytest("-m", "load", "--load-save=main")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"load results saved: .benchmarks/{MACHINE}/0002_main.json"])
    assert saved(storage) == ["0001_main.json", "0002_main.json"]
    assert first.read_bytes() == content  # never overwritten


def test_autosave_names_the_run_after_commit_and_time(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_quick=QUICK)
    result = pytester.runpytest("-m", "load", "--load-autosave")
    result.assert_outcomes(passed=2)
    files = saved(pytester.path / ".benchmarks")
    assert len(files) == 1
    # pytest-benchmark's automatic name: commit id ("unversioned" outside git), UTC time
    assert re.fullmatch(r"0001_\w+?_\d{8}_\d{6}(_uncommited-changes)?\.json", files[0]), files
    result.stdout.fnmatch_lines([f"load results saved: .benchmarks/{MACHINE}/{files[0]}"])
    assert fullnames(read_run(pytester.path / ".benchmarks" / MACHINE / files[0])) == QUICK_ENTRIES


@pytest.mark.parametrize("storage", ["file://perf/runs", "perf/runs"])
def test_save_and_compare_honour_benchmark_storage(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, storage: str
) -> None:
    pytest.importorskip("pytest_benchmark")
    monkeypatch.setenv("PYTEST_ADDOPTS", WITH_BENCHMARK)
    # inside an xdist worker, pytest-benchmark turns itself off for the inner run too
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(test_quick=QUICK)
    option = f"--benchmark-storage={storage}"
    result = pytester.runpytest("-m", "load", "--load-save=main", option)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"load results saved: perf/runs/{MACHINE}/0001_main.json"])
    assert fullnames(read_run(run_file(pytester.path / "perf/runs", 1, "main"))) == QUICK_ENTRIES
    assert not (pytester.path / ".benchmarks").exists()

    result = pytester.runpytest("-m", "load", "--load-compare", option)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["compared with baseline 0001_main *"])
    # without the option, the default storage holds nothing to compare with
    result = pytester.runpytest("-m", "load", "--load-compare")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["not compared with a baseline: *: no run to compare with*"])


# -- comparing ----------------------------------------------------------------------------------
def test_compare_prints_old_new_and_change_per_test_and_operation(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_quick=QUICK)
    pytester.runpytest("-m", "load", "-k", "shop", "--load-save=main").assert_outcomes(passed=1)

    result = pytester.runpytest("-m", "load", "--load-compare")
    result.assert_outcomes(passed=2)
    cell = "* -> * [+-]*[%]*"
    err = "* -> * [+-]*pp*"
    result.stdout.fnmatch_lines(
        [
            "*= load test baseline =*",
            f"compared with baseline 0001_main (* {MACHINE}): baseline -> current, change;"
            " [*] beyond sampling noise at 95%",
            "test / operation * p50 * p95 * p99 * calls/s * err%",
            f"test_quick.py::test_shop [[]search+checkout[]] {cell}{cell}{cell}{cell}{err}",
            f"  search {cell}{cell}{cell}{cell}{err}",
            f"  checkout {cell}{cell}{cell}{cell}{err}",
            "new (no baseline entry): test_quick.py::test_ping [[]ping[]]",
        ]
    )
    section = baseline_section(result)
    rows = [line for line in section.splitlines()[2:] if " -> " in line]  # past title, header
    assert len(rows) == 3
    assert all(row.count(" -> ") == 5 for row in rows), rows
    # every figure of the all-operations row is the saved one on its left
    document = read_run(run_file(pytester.path / ".benchmarks", 1, "main"))
    stats = next(b["stats"] for b in document["benchmarks"] if b["param"] == "search+checkout")
    assert f"{stats['throughput']:,.0f}/s -> " in rows[0]
    assert "0.00% -> 0.00% +0.00pp" in rows[0]
    assert "REGRESSION" not in section
    assert "load results saved" not in section  # comparing saves nothing


@pytest.mark.parametrize(
    ("which", "label"),
    [
        ("", "0002_other"),  # the latest
        ("1", "0001_main"),
        ("0001", "0001_main"),
        ("main", "0001_main"),
        ("other", "0002_other"),
        (f".benchmarks/{MACHINE}/0001_main.json", "0001_main"),
        ("0001_main.json", "0001_main"),  # a bare file name: in this machine's folder
    ],
)
def test_compare_takes_the_run_asked_for(pytester: pytest.Pytester, which: str, label: str) -> None:
    pytester.makepyfile(test_quick=QUICK)
    pytester.runpytest("-m", "load", "--load-save=main").assert_outcomes(passed=2)
    pytester.runpytest("-m", "load", "--load-save=other").assert_outcomes(passed=2)
    option = f"--load-compare={which}" if which else "--load-compare"
    result = pytester.runpytest("-m", "load", option)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"compared with baseline {label} (*"])


# -- regression checks --------------------------------------------------------------------------
def save_then_slow_down(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Save a run of SLOWED as main, then make its checkout 25 times slower."""
    pytester.makepyfile(test_slowed=SLOWED)
    pytester.runpytest("-m", "load", "--load-save=main").assert_outcomes(passed=2)
    monkeypatch.setenv("LOADTEST_DELAY", "0.025")


def test_slowed_target_fails_its_own_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_then_slow_down(pytester, monkeypatch)
    result = pytester.runpytest(
        "-m", "load", "--load-compare", CHECKS, "--load-save=main", "--junitxml=junit.xml"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_slowed.py::test_shop - *regressed*"])
    head = "test_slowed.py::test_shop [[]search+checkout[]]"
    interval = "(95% intervals: baseline *ms..*ms, current *ms..*ms)"
    p50 = (
        f"{head}: p50 of operation checkout was *ms, baseline *ms (+*%), *past the threshold +50%"
        f" and beyond sampling noise {interval}"
    )
    p95 = (
        f"{head}: p95 of operation checkout was *ms, baseline *ms (+*ms), *past the threshold "
        f"+10.0ms and beyond sampling noise {interval}"
    )
    # the failure of the test itself, with every regression of that test
    result.stdout.fnmatch_lines(
        ["performance regressed against baseline 0001_main:", f"  - {p50}", f"  - {p95}"]
    )
    # and the list after the comparison table
    result.stdout.fnmatch_lines(
        ["*= load test baseline =*", f"REGRESSION {p50}", f"REGRESSION {p95}"]
    )
    section = baseline_section(result)
    assert "REGRESSION test_slowed.py::test_steady" not in section

    junit = ET.parse(pytester.path / "junit.xml")
    cases = {case.get("name"): case for case in junit.iter("testcase")}
    failure = cases["test_shop"].find("failure")
    assert failure is not None
    message = failure.text or ""  # the message attribute keeps only the first lines
    assert "performance regressed against baseline 0001_main" in message
    assert "p50 of operation checkout was" in message
    assert "past the threshold +50%" in message
    assert cases["test_steady"].find("failure") is None

    # a session that regressed does not become the next baseline
    result.stdout.fnmatch_lines(["load results not saved: the session failed*"])
    assert saved(pytester.path / ".benchmarks") == ["0001_main.json"]


def test_the_fastest_calls_are_checked_too(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # p5: what the code costs when nothing queues; a 25x slower checkout moves it with the rest
    save_then_slow_down(pytester, monkeypatch)
    result = pytester.runpytest("-m", "load", "--load-compare", "--load-compare-fail=p5:50%")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "REGRESSION test_slowed.py::test_shop [[]search+checkout[]]: p5 of operation checkout "
            "was *ms, baseline *ms (+*%), *past the threshold +50% and beyond sampling noise "
            "(95% intervals: baseline *ms..*ms, current *ms..*ms)"
        ]
    )
    assert "REGRESSION test_slowed.py::test_steady" not in baseline_section(result)


NOISY = """
import os
import time
import pytest

EVERY = int(os.environ["SLOW_EVERY"])
FAIL_EVERY = int(os.environ["FAIL_EVERY"])

def lookup(vu):
    if vu.iteration % FAIL_EVERY == FAIL_EVERY - 1:
        raise LookupError("miss")
    if vu.iteration % EVERY == 0:
        time.sleep(0.005)

@pytest.mark.load(users=1, iterations=400)
def test_lookup(load_runner):
    load_runner.run(lookup)
"""


def test_noise_alone_does_not_fail_a_check(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A target that is slow about one call in twenty, and fails about one in thirty-five.

    How many of 400 calls are slow, or fail, varies from run to run by chance alone; the two runs
    here are made to land on either side of the 95th percentile (16 slow calls, then 25) and to
    differ in errors (10, then 13): their p95 differs many times over and the error rate by
    0.75 points, past both thresholds, yet by no more than sampling explains.
    """
    pytester.makepyfile(test_noisy=NOISY)
    monkeypatch.setenv("SLOW_EVERY", "25")
    monkeypatch.setenv("FAIL_EVERY", "40")
    pytester.runpytest("-m", "load", "--load-save=main").assert_outcomes(passed=1)

    monkeypatch.setenv("SLOW_EVERY", "16")
    monkeypatch.setenv("FAIL_EVERY", "30")
    checks = "--load-compare-fail=p95:10%,error_rate:+0.5%"
    result = pytester.runpytest("-m", "load", "--load-compare", checks)
    result.assert_outcomes(passed=1)
    head = "test_noisy.py::test_lookup [[]lookup[]]"
    result.stdout.fnmatch_lines(
        [
            f"not a regression: {head}: p95 of all operations was *ms, baseline *s (+*%),"
            " *past the threshold +10% but within sampling noise (95% intervals: *)",
            f"not a regression: {head}: error_rate of all operations was 3.25%, baseline 2.50%"
            " (+0.75 points), past the threshold +0.5 points but within sampling noise (*)",
        ]
    )
    assert "REGRESSION" not in result.stdout.str()


def test_setup_and_load_changes_are_flagged(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_quick=QUICK)
    pytester.runpytest("-m", "load", "--load-save=main").assert_outcomes(passed=2)
    path = run_file(pytester.path / ".benchmarks", 1, "main")
    document = read_run(path)
    document["loadtest"]["python_version"] = "3.9.1"
    document["machine_info"]["cpu"]["count"] = 99
    path.write_text(json.dumps(document), encoding="utf-8")

    result = pytester.runpytest("-m", "load", "--load-compare", "--load-users=3")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "warning: baseline 0001_main was measured on another setup (Python CPython 3.9.1 ->"
            " CPython *; CPU count 99 -> *): differences may come from that rather than from"
            " the code",
            "warning: test_quick.py::test_shop [[]search+checkout[]]: load settings differ from"
            " the baseline (users 2 -> 3): the figures are not like for like",
        ]
    )


# -- bad baselines and bad options --------------------------------------------------------------
ENTRY_WITHOUT_HISTOGRAM = {
    "fullname": "t.py::test_x[x]",
    "extra_info": {"loadtest": {"format": 1, "test_id": "t.py::test_x", "run": "x"}},
    "stats": {"loadtest": {"histogram": "garbage", "errors": 0, "duration": 1.0}},
}
EMPTY_HISTOGRAM = {"hdr": "", "count": 0, "min_ns": 0, "max_ns": 0, "mean_ns": 0.0, "m2": 0.0}
ENTRY_NEGATIVE_DURATION = {
    **ENTRY_WITHOUT_HISTOGRAM,
    "stats": {"loadtest": {"histogram": EMPTY_HISTOGRAM, "errors": 0, "duration": -1.0}},
}
ENTRY_NEGATIVE_M2 = {
    **ENTRY_WITHOUT_HISTOGRAM,
    "stats": {
        "loadtest": {"histogram": {**EMPTY_HISTOGRAM, "m2": -1.0}, "errors": 0, "duration": 1.0}
    },
}
BENCHMARKS_OWN = {"benchmarks": [{"fullname": "t.py::test_b", "extra_info": {}, "stats": {}}]}


@pytest.mark.parametrize(
    ("content", "option", "message"),
    [
        pytest.param(
            '{"benchmarks": [{"name": "tes',
            "--load-compare",
            "baseline .benchmarks/{machine}/0001_main.json: is not valid JSON (*);"
            " corrupt or truncated",
            id="truncated",
        ),
        pytest.param(
            '{"machine_info": {}}',
            "--load-compare=main",
            "baseline .benchmarks/{machine}/0001_main.json: is not a pytest-benchmark run file"
            " (no 'benchmarks' list)",
            id="not-a-run-file",
        ),
        pytest.param(
            json.dumps({"benchmarks": [ENTRY_WITHOUT_HISTOGRAM]}),
            "--load-compare=1",
            "baseline .benchmarks/{machine}/0001_main.json: corrupt load test entry:"
            " benchmark 't.py::test_x[[]x[]]': *",
            id="corrupt-entry",
        ),
        pytest.param(
            json.dumps({"benchmarks": [ENTRY_NEGATIVE_DURATION]}),
            "--load-compare",
            "baseline .benchmarks/{machine}/0001_main.json: corrupt load test entry:"
            " benchmark 't.py::test_x[[]x[]]': field 'duration' = -1.0: must be a finite"
            " number above 0",
            id="negative-duration",
        ),
        pytest.param(
            json.dumps({"benchmarks": [ENTRY_NEGATIVE_M2]}),
            "--load-compare=main",
            "baseline .benchmarks/{machine}/0001_main.json: corrupt load test entry:"
            " benchmark 't.py::test_x[[]x[]]': histogram field 'm2' = -1.0: a sum of squares"
            " cannot be negative",
            id="negative-m2",
        ),
        pytest.param(
            '{"benchmarks": ' + "[" * 50 + "]" * 50 + "}",
            "--load-compare=1",
            "baseline .benchmarks/{machine}/0001_main.json: is not a run file: it nests deeper"
            " than 32 levels",
            id="deep-nesting",
        ),
        pytest.param(
            json.dumps(BENCHMARKS_OWN),
            "--load-compare=1",
            "baseline .benchmarks/{machine}/0001_main.json: has no load test results (run 0001)",
            id="no-load-results",
        ),
        pytest.param(
            json.dumps(BENCHMARKS_OWN),
            "--load-compare-fail=p95:10%",  # checks compare with the latest run
            "baseline .benchmarks/{machine}: no run with load test results to compare with"
            " among 1 file(s)",
            id="latest-without-load-results",
        ),
        pytest.param(
            None,
            "--load-compare",
            "baseline .benchmarks/{machine}: no run to compare with",
            id="no-storage",
        ),
        pytest.param(
            None,
            "--load-compare-fail=p95:10%",
            "baseline .benchmarks/{machine}: no run to compare with",
            id="checks-without-storage",
        ),
        pytest.param(
            "{}",
            "--load-compare=7",
            "baseline .benchmarks/{machine}: has no run number 0007",
            id="no-such-number",
        ),
        pytest.param(
            "{}",
            "--load-compare=nightly",
            "baseline .benchmarks/{machine}: has no run named 'nightly'",
            id="no-such-name",
        ),
        pytest.param(
            "{}",
            "--load-compare=elsewhere/run.json",
            "baseline elsewhere/run.json: no such file",
            id="no-such-file",
        ),
    ],
)
def test_unusable_baseline_is_reported_and_the_session_goes_on(
    pytester: pytest.Pytester, content: str | None, option: str, message: str
) -> None:
    """Without checks a baseline only informs: the tests run, and the comparison says why it is
    missing. With checks (``--load-compare-fail``) none could be made: pytest stops at once."""
    pytester.makepyfile(test_quick=QUICK)
    if content is not None:
        run_file(pytester.path / ".benchmarks", 1, "main").parent.mkdir(parents=True)
        run_file(pytester.path / ".benchmarks", 1, "main").write_text(content, encoding="utf-8")
    before = sorted(p.name for p in pytester.path.rglob("*.json"))
    result = pytester.runpytest("-m", "load", option)
    if option.startswith("--load-compare-fail"):
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"ERROR: --load-compare: {message.format(machine=MACHINE)}"])
        assert "load test results" not in result.stdout.str()  # nothing ran
    else:
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines(
            [
                "*load test results*",
                "*load test baseline*",
                "not compared with a baseline: --load-compare: " + message.format(machine=MACHINE),
            ]
        )
    assert sorted(p.name for p in pytester.path.rglob("*.json")) == before  # nothing written
    if content is not None:
        assert run_file(pytester.path / ".benchmarks", 1, "main").read_text() == content
    checked = pytester.runpytest("-m", "load", option, "--load-compare-fail=p95:10%")
    assert checked.ret == pytest.ExitCode.USAGE_ERROR
    checked.stderr.fnmatch_lines(["ERROR: --load-compare: baseline *"])
    assert "load test results" not in checked.stdout.str()


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="POSIX FIFOs")
def test_fifo_baseline_is_refused_not_waited_on(pytester: pytest.Pytester) -> None:
    import os

    pytester.makepyfile(test_quick=QUICK)
    fifo = run_file(pytester.path / ".benchmarks", 1, "main")
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    result = pytester.runpytest("-m", "load", "--load-compare")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            f"not compared with a baseline: --load-compare: baseline .benchmarks/{MACHINE}/"
            "0001_main.json: cannot be read: not a regular file (a FIFO)"
        ]
    )


def test_save_beside_a_corrupt_run_takes_the_next_number(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_quick=QUICK)
    corrupt = run_file(pytester.path / ".benchmarks", 1, "main")
    corrupt.parent.mkdir(parents=True)
    corrupt.write_text('{"benchmarks": [{"stats": 1e400', encoding="utf-8")
    result = pytester.runpytest("-m", "load", "--load-save=main")
    result.assert_outcomes(passed=2)
    assert corrupt.read_text(encoding="utf-8") == '{"benchmarks": [{"stats": 1e400'
    assert run_file(pytester.path / ".benchmarks", 2, "main").is_file()


def test_runs_of_other_machines_are_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_quick=QUICK)
    other = pytester.path / ".benchmarks" / "Darwin-CPython-3.12-64bit" / "0001_main.json"
    other.parent.mkdir(parents=True)
    other.write_text("{}", encoding="utf-8")
    result = pytester.runpytest("-m", "load", "--load-compare")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            f"not compared with a baseline: --load-compare: baseline .benchmarks/{MACHINE}: no run"
            " to compare with; runs of other machines: Darwin-CPython-3.12-64bit (give a file path)"
        ]
    )


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            "--load-compare-fail=p96:10%",
            "ERROR: --load-compare-fail: bad regression check 'p96:10%': unknown metric 'p96'"
            " (allowed: p1, p5, p10, p25, p50, p75, p90, p95, p99, p99.9, mean, max, throughput,"
            " error_rate)",
        ),
        (
            "--load-compare-fail=throughput:+5%",
            "ERROR: --load-compare-fail: bad regression check 'throughput:+5%': a throughput"
            " threshold is a drop: write throughput:-5%",
        ),
        (
            "--load-compare-fail=p95:10%,,p99:15%",
            "ERROR: --load-compare-fail: bad regression check 'p95:10%,,p99:15%': empty check"
            " between commas",
        ),
        (
            "--load-save=ci/main",
            "ERROR: --load-save: run name 'ci/main' must not contain any of *",
        ),
    ],
)
def test_bad_option_is_a_usage_error(pytester: pytest.Pytester, option: str, message: str) -> None:
    pytester.makepyfile(test_quick=QUICK)
    result = pytester.runpytest("-m", "load", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert not (pytester.path / ".benchmarks").exists()


# -- failed sessions ----------------------------------------------------------------------------
BREAKABLE = """
import os
import pytest

def ping():
    pass

@pytest.mark.load(users=1, iterations=100)
def test_ping(load_runner):
    load_runner.run(ping)

@pytest.mark.load(users=1, iterations=100)
def test_breakable(load_runner):
    load_runner.run(ping)
    assert "LOADTEST_BREAK" not in os.environ, "broken on purpose"
"""


def test_failed_session_saves_only_when_asked(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_breakable=BREAKABLE)
    storage = pytester.path / ".benchmarks"
    pytester.runpytest("-m", "load", "--load-save=main").assert_outcomes(passed=2)
    good = run_file(storage, 1, "main").read_bytes()

    monkeypatch.setenv("LOADTEST_BREAK", "1")
    result = pytester.runpytest("-m", "load", "--load-save=main")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*= load test baseline =*",
            "load results not saved: the session failed, and a failed run must not become the"
            " next baseline (--load-save-failed saves it anyway)",
        ]
    )
    result = pytester.runpytest("-m", "load", "--load-autosave")
    result.assert_outcomes(passed=1, failed=1)
    assert saved(storage) == ["0001_main.json"]
    assert run_file(storage, 1, "main").read_bytes() == good

    result = pytester.runpytest("-m", "load", "--load-save=main", "--load-save-failed")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([f"load results saved: .benchmarks/{MACHINE}/0002_main.json"])
    failed_run = read_run(run_file(storage, 2, "main"))
    assert failed_run["loadtest"]["passed"] is False
    assert "test_breakable.py::test_breakable[ping]" in fullnames(failed_run)
    assert run_file(storage, 1, "main").read_bytes() == good

    monkeypatch.delenv("LOADTEST_BREAK")
    # the latest run that passed, not the failed one saved after it ...
    result = pytester.runpytest("-m", "load", "--load-compare")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["compared with baseline 0001_main (*"])
    # ... unless it is named
    result = pytester.runpytest("-m", "load", "--load-compare=2")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["compared with baseline 0002_main (*, saved from a failed run):*"])


# -- pytest-xdist -------------------------------------------------------------------------------
RECORD_WORKER = """
import os

def pytest_loadtest_result(item, result):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "controller")
    open(f"ran-{worker}-{item.name}", "w").close()
"""


def test_xdist_results_of_every_worker_are_saved_on_the_controller(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("xdist")
    pytester.makeconftest(RECORD_WORKER)
    pytester.makepyfile(test_quick=QUICK)
    result = pytester.runpytest("-n", "2", "-m", "load", "--load-save=dist")
    result.assert_outcomes(passed=2)
    ran = sorted(path.name for path in pytester.path.glob("ran-*"))
    assert {name.split("-")[1] for name in ran} == {"gw0", "gw1"}, ran  # one test each
    result.stdout.fnmatch_lines([f"load results saved: .benchmarks/{MACHINE}/0001_dist.json"])
    assert saved(pytester.path / ".benchmarks") == ["0001_dist.json"]  # once, by the controller
    assert fullnames(read_run(run_file(pytester.path / ".benchmarks", 1, "dist"))) == (
        QUICK_ENTRIES
    )


def test_xdist_regression_fails_the_test_that_regressed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("xdist")
    pytester.makeconftest(RECORD_WORKER)
    pytester.makepyfile(test_slowed=SLOWED)
    pytester.runpytest("-m", "load", "--load-save=main").assert_outcomes(passed=2)

    monkeypatch.setenv("LOADTEST_DELAY", "0.025")
    result = pytester.runpytest(
        "-n", "2", "-m", "load", "--load-compare", CHECKS, "--load-save=main", "-rf"
    )
    result.assert_outcomes(passed=1, failed=1)
    assert {p.name.split("-")[1] for p in pytester.path.glob("ran-gw*")} == {"gw0", "gw1"}
    result.stdout.fnmatch_lines(["FAILED test_slowed.py::test_shop - Failed: performance regress*"])
    result.stdout.no_fnmatch_line("FAILED test_slowed.py::test_steady*")
    # the controller compares the results of both workers (in the order they finished)
    head = "test_slowed.py::test_shop [[]search+checkout[]]"
    section = baseline_section(result)
    assert "compared with baseline 0001_main" in section
    for row in (
        f"{head} * -> *",
        "  checkout * -> *",
        "test_slowed.py::test_steady [[]search[]] *",
    ):
        assert any(fnmatch.fnmatch(line, row) for line in section.splitlines()), row
    result.stdout.fnmatch_lines(
        [
            f"REGRESSION {head}: p50 of operation checkout was *, past the threshold +50% and "
            "beyond*",
            "load results not saved: the session failed*",
        ]
    )
    assert "REGRESSION test_slowed.py::test_steady" not in result.stdout.str()
    assert saved(pytester.path / ".benchmarks") == ["0001_main.json"]


# -- pytest-benchmark ---------------------------------------------------------------------------
def test_pytest_benchmark_cli_lists_and_compares_saved_runs(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_benchmark")
    pytester.makepyfile(test_quick=QUICK)
    pytester.runpytest("-m", "load", "--load-save=main").assert_outcomes(passed=2)
    pytester.runpytest("-m", "load", "--load-save=next").assert_outcomes(passed=2)

    listed = pytester.run(sys.executable, "-m", "pytest_benchmark", "list")
    assert listed.ret == 0, listed.stderr.str()
    listed.stdout.fnmatch_lines(
        [f"*/.benchmarks/{MACHINE}/0001_main.json", f"*/.benchmarks/{MACHINE}/0002_next.json"]
    )

    columns = "--columns=min,median,max,ops,rounds"
    compared = pytester.run(sys.executable, "-m", "pytest_benchmark", "compare", "0001", columns)
    assert compared.ret == 0, compared.stderr.str()
    compared.stdout.fnmatch_lines(
        [
            "*benchmark 'test_quick.py::test_ping': 1 tests*",
            "Name (time in *)*Min*Median*Max*OPS*Rounds",
            "test_ping[[]ping[]] * 100",
        ]
    )
    compared.stdout.fnmatch_lines(
        [
            "*benchmark 'test_quick.py::test_shop': 3 tests*",
            "Name (time in *)*Min*Median*Max*OPS*Rounds",
            *["test_shop[[]search+checkout*[]] *"] * 3,
        ]
    )
    text = compared.stdout.str()
    for name in ("shop[search+checkout] ", "shop[search+checkout/search] ", "/checkout] "):
        assert name in text
    assert re.search(r"test_shop\[search\+checkout\] .* 200\n", text), text  # rounds: calls

    # every run, side by side
    both = pytester.run(sys.executable, "-m", "pytest_benchmark", "compare")
    assert both.ret == 0, both.stderr.str()
    for run in ("0001_main", "0002_next"):  # rows sorted by their min
        both.stdout.fnmatch_lines([f"test_ping[[]ping[]] ({run}) *"])


PAUSE = """
import os
import time
import pytest

def pause():
    time.sleep(float(os.environ.get("LOADTEST_DELAY", "0.001")))

@pytest.mark.load(users=2, iterations=100)
def test_pause(load_runner):
    load_runner.run(pause)
"""


def test_benchmark_save_includes_load_results(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pytest_benchmark")
    monkeypatch.setenv("PYTEST_ADDOPTS", WITH_BENCHMARK)
    # inside an xdist worker, pytest-benchmark turns itself off for the inner run too
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(test_quick=QUICK)
    result = pytester.runpytest("-m", "load", "--benchmark-save=base")
    result.assert_outcomes(passed=2)
    assert fullnames(read_run(run_file(pytester.path / ".benchmarks", 1, "base"))) == (
        QUICK_ENTRIES
    )
    result = pytester.runpytest("-m", "load", "--load-compare=base")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["compared with baseline 0001_base (*"])


def test_benchmark_compare_fail_checks_load_results(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pytest_benchmark")
    monkeypatch.setenv("PYTEST_ADDOPTS", WITH_BENCHMARK)
    # inside an xdist worker, pytest-benchmark turns itself off for the inner run too
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(test_pause=PAUSE)
    pytester.runpytest("-m", "load", "--load-save=main").assert_outcomes(passed=1)

    monkeypatch.setenv("LOADTEST_DELAY", "0.006")
    # pytest-benchmark raises from its terminal summary: a subprocess shows what users see
    result = pytester.runpytest_subprocess(
        "-m", "load", "--benchmark-compare=0001", "--benchmark-compare-fail=median:10%"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*benchmark 'test_pause.py::test_pause': 2 tests*",
            "test_pause[[]pause[]] (0001_main) *",
            "test_pause[[]pause[]] (NOW) *",
        ]
    )
    result.stderr.fnmatch_lines(
        [
            "Performance has regressed:",
            "*test_pause[[]pause[]] (0001_main) - Field 'median' has failed"
            " PercentageRegressionCheck: *",
        ]
    )


# -- between-run noise: the history of saved runs -------------------------------------------------
# Each call sleeps LOADTEST_DELAY seconds: the history's figures are at least that, whatever the
# machine does; the margins below are many milliseconds wide.
SLEEPER = """
import os
import time
import pytest

def sleeper():
    time.sleep(float(os.environ["LOADTEST_DELAY"]))

@pytest.mark.load(users=1, iterations=25)
def test_sleeper(load_runner):
    load_runner.run(sleeper)
"""

HISTORY_HEAD = "test_history.py::test_sleeper [[]sleeper[]]: p50 of all operations was *ms, "


def _storms_then_calm(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three saved runs of 20 ms calls, then a calm baseline of 2 ms calls (run 0004)."""
    pytester.makepyfile(test_history=SLEEPER)
    for delay in ("0.02", "0.02", "0.02", "0.002"):
        monkeypatch.setenv("LOADTEST_DELAY", delay)
        pytester.runpytest("-m", "load", "--load-save=main").assert_outcomes(passed=1)


def test_unchanged_code_after_a_calm_baseline_is_not_flagged(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _storms_then_calm(pytester, monkeypatch)
    monkeypatch.setenv("LOADTEST_DELAY", "0.02")
    checks = "--load-compare-fail=p50:50%"
    result = pytester.runpytest("-m", "load", checks)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "compared with baseline 0004_main (*; checks with 3 or more earlier runs are judged "
            "against their median and between-run spread",
            f"not a regression: {HISTORY_HEAD}median of the last 4 runs 2*ms (between-run spread "
            "*; baseline 0004_main *ms) (*%), within the threshold +50% of the history's median, "
            "though past it against baseline 0004_main alone (+*%): between-run noise",
        ]
    )
    assert "REGRESSION" not in result.stdout.str()

    # the same run judged against the baseline alone: the false alarm of issue 16
    result = pytester.runpytest("-m", "load", checks, "--load-compare-history=0")
    result.assert_outcomes(failed=1)
    alarm = (
        f"REGRESSION {HISTORY_HEAD}baseline *ms (+*%), *past the threshold +50% and beyond "
        "sampling noise (95% intervals: *)"
    )
    result.stdout.fnmatch_lines([alarm])


def test_a_real_slowdown_is_flagged_against_the_history(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _storms_then_calm(pytester, monkeypatch)
    # 4x slower: 60 ms beyond the median, so that a history's spread of up to 5 ms (sleeps on a
    # busy machine) still leaves it beyond the 10.3 spreads allowed for 4 runs
    monkeypatch.setenv("LOADTEST_DELAY", "0.08")
    pytester.makeini("[pytest]\nload_compare_history = 5\n")
    result = pytester.runpytest("-m", "load", "--load-compare-fail=p50:50%")
    result.assert_outcomes(failed=1)
    line = (
        f"{HISTORY_HEAD}median of the last 4 runs 2*ms (between-run spread *; baseline 0004_main "
        "*ms) (+*%), past the threshold +50% and more than 10.3 spreads beyond the history (+* "
        "spreads)"
    )
    result.stdout.fnmatch_lines(
        ["performance regressed against baseline 0004_main:", f"  - {line}"]
    )
    result.stdout.fnmatch_lines([f"REGRESSION {line}"])


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (
            ["--load-compare-history=-1"],
            "",
            "ERROR: --load-compare-history: -1 must be at least 1 (or 0: the baseline alone)",
        ),
        (
            ["--load-compare-history=lots"],
            "",
            "ERROR: --load-compare-history: 'lots' is not a whole number (or 0: *)",
        ),
        (
            [],
            "[pytest]\nload_compare_history = 2.5\n",
            "ERROR: tox.ini option load_compare_history: '2.5' is not a whole number (or 0: *)",
        ),
    ],
)
def test_bad_history_is_a_usage_error(
    pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    pytester.makepyfile(test_quick=QUICK)
    if ini:
        pytester.makeini(ini)
    result = pytester.runpytest("-m", "load", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
