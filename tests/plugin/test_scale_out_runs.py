"""Scale-out over a test's several runs: other counts of processes, a long stop, a count from the
command line, the result hook, a cancelled ``arun``, a worker lost in an earlier run. Each
session runs in a subprocess."""

from __future__ import annotations

import pytest

pytest.importorskip("execnet")

FEWER = """
import pytest

@pytest.mark.load(iterations=30)
def test_runs(load_runner):
    first = load_runner.run(lambda: None, users=3, processes=3)
    second = load_runner.run(lambda: None, users=2, processes=2)  # worker 2 sits it out
    print("SPREAD", len(first.workers), len(second.workers), second.total)
"""


def test_a_worker_sitting_a_run_out_gets_its_result(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fewer=FEWER)
    result = pytester.runpytest_subprocess("-m", "load", "-s", timeout=120)
    # a worker left waiting for the second run's result would fail the test ("did not finish")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*SPREAD 3 2 30*"])
    assert "did not finish its test" not in result.stdout.str()


LONG_STOP = """
import time
import pytest

CALLS = []

def work():
    CALLS.append(1)
    if len(CALLS) == 1:
        time.sleep(12)  # in flight at the end, done within stop_timeout: silent that long

@pytest.mark.load(users=2, duration="1s", stop_timeout="20s", processes=2)
def test_load(load_runner):
    load_runner.run(work)
"""


def test_a_worker_finishing_calls_within_stop_timeout_is_not_lost(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_long_stop=LONG_STOP)
    result = pytester.runpytest_subprocess("-m", "load", timeout=120)
    result.assert_outcomes(passed=1)
    assert "was lost" not in result.stdout.str()


SMALL = """
import os
import pytest

@pytest.mark.load(users=1, iterations=10)
def test_small(load_runner):
    result = load_runner.run(lambda: None)
    print("WORKERS", len(result.workers), "PID", os.getpid() == int(os.environ["MAIN_PID"]))
"""


def test_a_count_from_the_command_line_is_capped_at_the_users(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_small=SMALL)
    pytester.makeconftest("import os\nos.environ['MAIN_PID'] = str(os.getpid())\n")
    result = pytester.runpytest_subprocess("-m", "load", "-s", "--load-processes=4", timeout=120)
    result.assert_outcomes(passed=1)  # one user: one process, this one
    result.stdout.fnmatch_lines(["*WORKERS 0 PID True*"])


HOOKED = """
import pytest

@pytest.mark.load(users=2, iterations=10, processes=2)
def test_load(load_runner):
    load_runner.run(lambda: None)
"""

HOOK = """
import os

def pytest_loadtest_result(item, result):
    with open(os.path.join(os.path.dirname(__file__), "hook.log"), "a") as f:
        f.write(f"{result.total}\\n")
"""


def test_the_result_hook_runs_once_per_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_hooked=HOOKED)
    pytester.makeconftest(HOOK)
    result = pytester.runpytest_subprocess("-m", "load", timeout=120)
    result.assert_outcomes(passed=1)
    assert (pytester.path / "hook.log").read_text() == "10\n"  # the coordinator's, not 3 times


CANCELLED = """
import asyncio, glob, os
import pytest

async def work():
    if not os.path.exists(f"called-{os.getpid()}"):
        open(f"called-{os.getpid()}", "w").close()
    await asyncio.sleep(0.005)

@pytest.mark.asyncio
@pytest.mark.load(users=4, duration="60s", processes=2)
async def test_cancelled(load_runner, load_worker):
    running = asyncio.ensure_future(load_runner.arun(work))
    if load_worker.is_worker:
        await running  # the coordinator's run, stopped: its result
        return
    for _ in range(600):  # cancel once the workers' users are calling
        if len(glob.glob("called-*")) == 2:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    kept = load_runner.results[0]
    print("KEPT", kept.total > 0, len(kept.workers), kept.stopped_by, "MEASURED", kept.duration)
"""


def test_a_cancelled_spread_arun_stops_the_workers_and_keeps_the_figures(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("pytest_asyncio")
    pytester.makepyfile(test_cancelled=CANCELLED)
    result = pytester.runpytest_subprocess("-m", "load", "-s", timeout=120)
    # the run was stopped early (a failure of its own), long before its 60 s
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*KEPT True 2 a cancellation of the awaiting task MEASURED *",
            "*stopped early by a cancellation of the awaiting task*",
        ]
    )
    line = next(line for line in result.outlines if "MEASURED" in line)
    assert float(line.split("MEASURED")[1]) < 30


LOST_BEFORE = """
import os, time
import pytest

def work(vu):
    if vu.worker == 1:
        os._exit(3)
    time.sleep(0.002)

@pytest.mark.load(users=2, duration="2s", processes=2)
def test_runs(load_runner):
    first = load_runner.run(work)
    print("STARTED", first.started_at > 1e9)
    load_runner.run(work)
"""


def test_a_worker_lost_in_a_run_takes_no_part_in_the_next(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_lost_before=LOST_BEFORE)
    result = pytester.runpytest_subprocess("-m", "load", "-s", timeout=120)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*STARTED True*",
            "*worker 1 (popen, pid *) was lost in an earlier run: it takes no part in run 2*",
        ]
    )


OPEN_MODEL = """
import threading
import pytest

@pytest.mark.load(rate=200, duration="2s", max_users=10, processes=2)
def test_open(load_runner, load_worker):
    result = load_runner.run(lambda: None)
    print("OPEN", result.scheduled, result.dropped, result.total,
          [w["calls"] for w in result.workers], [w["users"] for w in result.workers])
"""


def test_the_open_models_rate_and_pool_are_divided(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_open=OPEN_MODEL)
    result = pytester.runpytest_subprocess("-m", "load", "-s", timeout=120)
    result.assert_outcomes(passed=1)
    line = next(line for line in result.outlines if "OPEN " in line).split("OPEN ", 1)[1]
    scheduled, dropped, total = (int(x) for x in line.split()[:3])
    assert scheduled == 400  # 200/s for 2 s in all: each worker every other iteration
    assert total + dropped == scheduled
    assert "[5, 5]" in line  # max_users=10 divided
    calls = [int(x) for x in line.split("[")[1].split("]")[0].split(",")]
    assert abs(calls[0] - calls[1]) <= dropped + 1  # interleaved: the same share each
