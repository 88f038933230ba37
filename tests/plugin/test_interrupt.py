"""Stopping: Ctrl-C from a target, and calls that hang past stop_timeout.

These run pytest in a subprocess: a KeyboardInterrupt or a hung thread must not reach (or block)
the process running this suite.
"""

from __future__ import annotations

import json
import re
import sys
import time

import pytest

# A hang in the code under test must not hang the suite: pytester kills the run after this long.
TIMEOUT = 60.0


def calls_of(result: pytest.RunResult, title: str) -> int:
    """The "calls" column of the summary row titled ``title``."""
    pattern = re.compile(re.escape(title) + r"\s+(\d+)\s+([\d,]+)\s")
    for line in result.outlines:
        match = pattern.match(line)
        if match:
            return int(match.group(2).replace(",", ""))
    raise AssertionError(f"no summary row for {title!r}")


def test_keyboard_interrupt_from_a_target_stops_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_int="""
        import itertools
        import pytest

        counter = itertools.count()

        def target():
            if next(counter) == 500:
                raise KeyboardInterrupt

        @pytest.mark.load(users=2, duration="30s")
        def test_int(load_runner):
            load_runner.run(target)

        @pytest.mark.load(users=1, duration="30s")
        def test_after(load_runner):
            load_runner.run(target)
        """
    )
    start = time.monotonic()
    result = pytester.runpytest_subprocess("-m", "load", timeout=TIMEOUT)
    assert time.monotonic() - start < TIMEOUT / 2
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    result.stdout.fnmatch_lines(
        [
            "*= load test results =*",
            "test / operation*load*calls*SLA",
            "test_int.py::test_int [[]target[]] *",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "test_int.py::test_int [[]target[]]: interrupted; figures cover what was measured "
            "before the stop"
        ]
    )
    # The calls before the interrupt were measured (the 501st raised; others may have followed).
    assert calls_of(result, "test_int.py::test_int [target]") >= 500
    # The session stopped: the next load test never started.
    assert "test_after" not in result.stdout.str()
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_keyboard_interrupt_in_a_step(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_step="""
        import pytest

        def target(vu):
            with vu.step("work"):
                if vu.iteration == 50:
                    raise KeyboardInterrupt

        @pytest.mark.load(users=1, duration="30s")
        def test_step(load_runner):
            load_runner.run(target)
        """
    )
    result = pytester.runpytest_subprocess("-m", "load", timeout=TIMEOUT)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["test_step.py::test_step [[]target[]]: interrupted; *"])
    assert calls_of(result, "test_step.py::test_step [target]") == 50


HUNG = """
import threading
import time
import pytest

first = threading.Event()

def target(vu):
    if vu.id == 0 and not first.is_set():
        first.set()
        time.sleep({sleep})

@pytest.mark.load(users=2, duration="0.5s", stop_timeout="0.2s")
def test_hung(load_runner):
    result = load_runner.run(target)
    assert result.hung == {{"target": 1}}
"""


def test_hung_call_fails_the_test_and_does_not_block(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_hung=HUNG.format(sleep=300))
    start = time.monotonic()
    result = pytester.runpytest_subprocess("-m", "load", timeout=TIMEOUT)
    elapsed = time.monotonic() - start
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "load test 'target' breached its SLA*",
            "  - calls still running after stop_timeout (left out of the statistics): target x1",
        ]
    )
    result.stdout.fnmatch_lines(["test_hung.py::test_hung [[]target[]]*FAIL"])
    # 0.5s of load and 0.2s of waiting, then the process exits although a thread still sleeps.
    assert elapsed < 20, f"the run took {elapsed:.1f}s"


def test_hung_call_under_no_sla_still_reported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_hung=HUNG.format(sleep=300))
    result = pytester.runpytest_subprocess("-m", "load", "--load-no-sla", timeout=TIMEOUT)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*: breach (not failing: --load-no-sla): calls still running after stop_timeout*"]
    )


def test_slow_call_within_stop_timeout_is_not_hung(pytester: pytest.Pytester) -> None:
    """A call that ends within stop_timeout is waited for, not reported."""
    pytester.makepyfile(
        test_hung=HUNG.format(sleep=0.6)
        .replace('stop_timeout="0.2s"', 'stop_timeout="2s"')
        .replace('{"target": 1}', "{}")
    )
    result = pytester.runpytest_subprocess("-m", "load", timeout=TIMEOUT)
    result.assert_outcomes(passed=1)


def test_plugin_import_is_cheap(pytester: pytest.Pytester) -> None:
    """Loading the plugin, as every pytest run in a project that installs it does, imports
    neither numpy nor hdrh."""
    code = (
        "import pytest_loadtest.plugin, pytest_loadtest, sys; "
        "print('numpy' in sys.modules, 'hdrh' in sys.modules, "
        "'pytest_loadtest._engine._engine' in sys.modules)"
    )
    result = pytester.run(sys.executable, "-c", code, timeout=TIMEOUT)
    assert result.ret == 0, result.stderr.str()
    assert result.outlines == ["False False False"]


def test_plain_session_does_not_import_the_engine(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import sys

        def pytest_sessionfinish(session):
            loaded = sorted(m for m in ("numpy", "hdrh", "pytest_loadtest._engine._engine")
                            if m in sys.modules)
            print("LOADED", loaded)
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.load(users=1, iterations=1)
        def test_skipped(load_runner):
            load_runner.run(lambda: None)

        def test_plain():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-s", timeout=TIMEOUT)
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*LOADED []*"])


def test_ctrl_c_between_two_runs_keeps_the_runs_before_it(pytester: pytest.Pytester) -> None:
    """A Ctrl-C that lands in the test body outside any run (after the first, before the
    second starts) still reports the runs made before it."""
    pytester.makepyfile(
        test_between="""
        import pytest

        @pytest.mark.load(users=1, iterations=3)
        def test_between(load_runner):
            load_runner.run(lambda: None)
            raise KeyboardInterrupt  # as a SIGINT landing between two runs
        """
    )
    result = pytester.runpytest_subprocess("-m", "load", "--load-report=report")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*load test results*", "test_between.py::test_between *"])
    document = json.loads((pytester.path / "report" / "results.json").read_text())
    assert [r["total"] for r in document["results"]] == [3]
