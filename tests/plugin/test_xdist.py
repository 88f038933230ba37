"""Under pytest-xdist: selection works on workers and results reach the controller's summary."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("xdist")

SUITE = """
import os
import pytest

def ping():
    pass

@pytest.mark.load(users=2, duration="0.2s", sla={"p99": "1s"})
def test_first(load_runner):
    load_runner.run(ping)
    print("WORKER", os.environ.get("PYTEST_XDIST_WORKER"))

@pytest.mark.load(users=1, iterations=30)
def test_second(load_runner):
    load_runner.run({"a": ping, "b": ping})

@pytest.mark.load(users=1, iterations=10, sla={"max": 0})
def test_breach(load_runner):
    load_runner.run(ping)

def test_plain():
    pass
"""


def test_results_reach_the_controller(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_dist=SUITE)
    result = pytester.runpytest("-n", "2", "-m", "load")
    result.assert_outcomes(passed=2, failed=1)  # xdist does not count deselected
    result.stdout.fnmatch_lines(["*load test results*", "test / operation*load*calls*SLA"])
    text = result.stdout.str()
    section = text.split("load test results", 1)[1]
    assert "test_dist.py::test_first [ping]" in section
    assert "test_dist.py::test_second [a+b]" in section
    result.stdout.fnmatch_lines(["test_dist.py::test_first [[]ping[]] * 2 * pass"])
    result.stdout.fnmatch_lines(["test_dist.py::test_second [[]a+b[]] * 1 * 30 *  -"])
    result.stdout.fnmatch_lines(["  a *", "  b *"])
    # The breach travels too: in the summary, and as the failure of its test.
    result.stdout.fnmatch_lines(
        ["test_dist.py::test_breach [[]ping[]]: SLA breach: max of all operations was *"]
    )
    result.stdout.fnmatch_lines(["FAILED test_dist.py::test_breach - *breached its SLA*"])
    assert section.count("test_dist.py::test_first [ping] ") == 1


def test_named_file_runs_load_tests_on_workers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_dist=SUITE)
    result = pytester.runpytest("-n", "2", "test_dist.py", "-k", "not breach")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*load test results*"])
    section = result.stdout.str().split("load test results", 1)[1]
    assert "test_dist.py::test_first [ping]" in section
    assert "test_dist.py::test_second [a+b]" in section


def test_without_selection_workers_skip_load_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_dist=SUITE)
    result = pytester.runpytest("-n", "2", "-rs")
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(["SKIPPED * load test: run it with `pytest -m load`*"])
    result.stdout.no_fnmatch_line("*load test results*")


def test_result_hook_runs_on_the_worker(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import os

        def pytest_loadtest_result(item, result):
            worker = os.environ.get("PYTEST_XDIST_WORKER", "controller")
            with open(f"hook-{worker}-{item.name}.log", "w") as log:
                log.write(f"{result.name} {result.total}")
        """
    )
    pytester.makepyfile(test_dist=SUITE)
    result = pytester.runpytest("-n", "2", "-m", "load", "-k", "second")
    result.assert_outcomes(passed=1)
    logs = sorted(path.name for path in pytester.path.glob("hook-*.log"))
    assert len(logs) == 1
    assert logs[0].startswith("hook-gw")
    assert (pytester.path / logs[0]).read_text() == "a+b 30"


OVERLAPPING = """
import time
import pytest

def work():
    time.sleep(0.001)

@pytest.mark.load(users=1, duration="1.5s")
def test_one(load_runner):
    load_runner.run(work)

@pytest.mark.load(users=1, duration="1.5s")
def test_two(load_runner):
    load_runner.run(work)
"""


def test_load_tests_on_xdist_workers_take_turns(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_overlap=OVERLAPPING)
    result = pytester.runpytest_subprocess(
        "-n", "2", "-m", "load", "--load-report=report", timeout=120
    )
    result.assert_outcomes(passed=2)
    assert "ran at the same time" not in result.stdout.str()
    runs = json.loads((pytester.path / "report" / "results.json").read_text())["results"]
    first, second = sorted((r["started_at"], r["started_at"] + r["duration"]) for r in runs)
    assert second[0] >= first[1] - 0.05  # the second began once the first had ended


def test_load_tests_let_run_together_are_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_overlap=OVERLAPPING)
    result = pytester.runpytest_subprocess(
        "-n", "2", "-m", "load", "--load-xdist-parallel", timeout=120
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "note: load tests ran at the same time*--load-xdist-parallel*"
            "test_overlap.py::test_*and test_overlap.py::test_* for *s.*processes=N*"
        ]
    )
