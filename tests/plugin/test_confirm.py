"""``--load-confirm`` / ``load_confirm``: a test that breaches is run again before it fails."""

from __future__ import annotations

import json

import pytest

TEST = """
import itertools
import pytest

calls = itertools.count()
setups = []

@pytest.fixture
def service():
    # a fresh one for each run of the test: a confirming run starts from a clean state
    state = {"setup": len(setups)}
    setups.append(state)
    yield state
    state["closed"] = True

@pytest.mark.load(users=1, iterations=4, sla={"error_rate": "1%"})
def test_flaky(load_runner, service):
    def call():
        # the first run's 4 calls fail, every later call succeeds: a breach not confirmed
        if next(calls) < 4:
            raise ConnectionError("a busy machine")
    load_runner.run(call)

@pytest.mark.load(users=1, iterations=4, sla={"error_rate": "1%"})
def test_broken(load_runner, service):
    def call():
        raise ConnectionError("down")
    load_runner.run(call)

@pytest.mark.load(users=1, iterations=4, sla={"error_rate": "1%"})
def test_own_assertion(load_runner, service):
    load_runner.run(lambda: None)
    assert False, "the test's own check: never run again"

def test_zz_fixtures_were_fresh():
    # runs last: each attempt of test_flaky and test_broken had its own service
    assert all(state.get("closed") for state in setups)
    print("SETUPS", len(setups))
"""


def write(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_confirm=TEST)


def test_without_confirm_each_breach_fails(pytester: pytest.Pytester) -> None:
    write(pytester)
    result = pytester.runpytest("--load-run-all", "-s")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["*SETUPS 3*"])


def test_confirm_runs_a_breaching_test_again_with_fresh_fixtures(
    pytester: pytest.Pytester,
) -> None:
    write(pytester)
    result = pytester.runpytest("--load-run-all", "-s", "--load-confirm=2", "--load-report=out")
    result.assert_outcomes(passed=2, failed=2)
    # test_flaky: 2 runs; test_broken: 3 runs; test_own_assertion: 1 run (not an SLA breach)
    result.stdout.fnmatch_lines(["*SETUPS 6*"])
    result.stdout.fnmatch_lines(
        [
            "*breached its SLA on each of its 3 runs of the test (confirm=2: confirmed)*",
            "*test_flaky* breached its SLA on 1 of 2 runs of the test and passed on the last "
            "(confirm=2)*taken as noise*",
        ],
        consecutive=False,
    )
    saved = json.loads((pytester.path / "out" / "results.json").read_text())
    by_test = {r["test_id"].rsplit("::", 1)[1]: r for r in saved["results"]}
    assert sorted(by_test) == ["test_broken", "test_flaky", "test_own_assertion"]  # one each
    assert len(by_test["test_flaky"]["attempts"]) == 1
    assert len(by_test["test_broken"]["attempts"]) == 2


def test_confirm_in_the_ini_file(pytester: pytest.Pytester) -> None:
    write(pytester)
    pytester.makeini("[pytest]\nload_confirm = 1\n")
    result = pytester.runpytest("--load-run-all", "-s")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*SETUPS 5*"])


def test_confirm_under_xdist(pytester: pytest.Pytester) -> None:
    write(pytester)
    result = pytester.runpytest("--load-run-all", "--load-confirm=1", "-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*test_flaky* breached its SLA on 1 of 2 runs of the test*"])


@pytest.mark.parametrize("bad", ["11", "-1", "twice"])
def test_a_bad_confirm_is_a_usage_error(pytester: pytest.Pytester, bad: str) -> None:
    write(pytester)
    result = pytester.runpytest("--load-run-all", f"--load-confirm={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*confirm*{bad}*"])
    result.stdout.no_fnmatch_line("*Traceback*")


SLOW_ONCE = """
import os
import pathlib
import time
import pytest

def checkout():
    time.sleep(0.025 if SLOW else 0.001)

@pytest.mark.load(users=10, duration="1s")
def test_shop(load_runner):
    global SLOW
    tried = pathlib.Path("tried")
    mode = os.environ.get("LOADTEST_SLOW", "")
    SLOW = mode == "always" or (mode == "once" and not tried.exists())
    tried.touch()
    load_runner.run(checkout)
"""


@pytest.mark.parametrize(
    ("mode", "outcome", "line"),
    [
        (
            "once",
            "passed",
            "*test_shop* regressed against the baseline on 1 of 2 runs of the test and passed on "
            "the last (confirm=1): not confirmed, taken as noise; first: *p50 of all operations*",
        ),
        (
            "always",
            "failed",
            "*regressed against the baseline on each of its 2 runs of the test (confirm=1: "
            "confirmed)*",
        ),
    ],
)
def test_confirm_runs_a_regressing_test_again(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    outcome: str,
    line: str,
) -> None:
    """A regression against the baseline (``--load-compare-fail``) is confirmed like a breach:
    25x slower on the first run only passes on the second; 25x slower each time fails."""
    pytester.makepyfile(test_shop=SLOW_ONCE)
    pytester.runpytest("-m", "load", "--load-save=base").assert_outcomes(passed=1)
    (pytester.path / "tried").unlink()
    monkeypatch.setenv("LOADTEST_SLOW", mode)
    result = pytester.runpytest(
        "-m", "load", "--load-compare-fail=p50:50%,p95:+10ms", "--load-confirm=1"
    )
    result.assert_outcomes(**{outcome: 1})
    result.stdout.fnmatch_lines([line])
