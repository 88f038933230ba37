"""Scale-out as users drive it: ``processes=N`` runs one test in N worker processes (execnet
popen gateways here; socket gateways in test_scale_out_hosts.py), merges what they measured and
judges it once in the user's own pytest process. Every session runs in a subprocess (the workers
are processes anyway, and a hung one must not hang this suite)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psutil
import pytest

pytest.importorskip("execnet")

#: Each process (coordinator and workers) writes what it saw to out-<pid>.json.
SPREAD = """
import json, os, threading
import pytest

seen = []
lock = threading.Lock()

def work(vu):
    with lock:
        seen.append([vu.id, vu.worker])

@pytest.mark.load(users=6, iterations=300, processes=3)
def test_spread(load_runner, load_worker):
    result = load_runner.run(work)
    out = {
        "coordinator": load_worker.is_coordinator,
        "index": load_worker.index,
        "total": result.total,
        "p50": result.p50,
        "histogram": result.histogram.to_dict(),
        "workers": result.workers,
        "seen": seen,
    }
    with open(f"out-{os.getpid()}.json", "w") as f:
        json.dump(out, f)
"""


def _outputs(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("out-*.json"))]


def _gone(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (not zombies of ours)."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_users_are_spread_by_id_and_every_process_reads_the_merged_result(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_spread=SPREAD)
    result = pytester.runpytest_subprocess("-m", "load", timeout=120)
    result.assert_outcomes(passed=1)
    outputs = _outputs(pytester.path)
    assert len(outputs) == 4  # the coordinator and three workers ran the test
    coordinator = next(o for o in outputs if o["coordinator"])
    workers = sorted((o for o in outputs if not o["coordinator"]), key=lambda o: o["index"])
    assert [w["index"] for w in workers] == [0, 1, 2]
    assert coordinator["seen"] == []  # the coordinator runs no user
    # user i on worker i % 3, each user on one worker only; 300 iterations in all, exactly
    calls = 0
    for k, worker in enumerate(workers):
        ids = {vu for vu, _ in worker["seen"]}
        assert ids  # a fast target: one of its users may take every iteration
        assert ids <= {i for i in range(6) if i % 3 == k}
        assert {w for _, w in worker["seen"]} == {k}
        calls += len(worker["seen"])
    assert calls == 300
    # the same merged figures in every process
    for worker in workers:
        for key in ("total", "p50", "histogram", "workers"):
            assert worker[key] == coordinator[key], key
    assert coordinator["total"] == 300
    parts = coordinator["workers"]
    assert [p["worker"] for p in parts] == [0, 1, 2]
    assert sum(p["calls"] for p in parts) == 300
    assert [p["users"] for p in parts] == [2, 2, 2]
    assert all(p["lost"] is None for p in parts)
    result.stdout.fnmatch_lines(["*3 worker processes, start skew*", "  worker 0 popen pid *"])
    assert _gone([p["pid"] for p in parts]) == []


SETUP_ONCE = """
import os
import pytest

@pytest.fixture(scope="session")
def database(load_worker, tmp_path_factory):
    path = os.path.join(os.getcwd(), "seeded.txt")
    if load_worker.is_coordinator:  # one-time set-up: here only
        with open(path, "a") as f:
            f.write("seeded\\n")
    yield path
    if load_worker.is_coordinator:  # one-time check: after every worker's load
        with open(path, "a") as f:
            f.write("checked\\n")

def test_plain():
    pass

@pytest.mark.load(users=2, iterations=20, processes=2)
def test_load(load_runner, database):
    assert open(database).read().startswith("seeded")  # seeded before the workers started
    load_runner.run(lambda: None)
"""


def test_one_time_set_up_runs_in_the_coordinator_only(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_once=SETUP_ONCE)
    result = pytester.runpytest_subprocess("-m", "load", timeout=120)
    result.assert_outcomes(passed=1, deselected=1)
    assert (pytester.path / "seeded.txt").read_text() == "seeded\nchecked\n"


WORKER_SETUP_FAILS = """
import pytest

@pytest.fixture
def service(load_worker):
    if load_worker.index == 1:
        raise ConnectionError("no database on this host")
    return object()

@pytest.mark.load(users=2, duration="1s", processes=2)
def test_load(load_runner, service):
    load_runner.run(lambda: None)
"""


def test_a_worker_failing_in_its_fixtures_fails_the_test_naming_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_fails=WORKER_SETUP_FAILS)
    result = pytester.runpytest_subprocess("-m", "load", timeout=120)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*worker 1 (popen, pid *) failed in set-up, before run 1:",
            "*ConnectionError: no database on this host",
        ]
    )


KILLED = """
import os, time
import pytest

START = []

def work(vu):
    if not START:
        START.append(time.monotonic())  # this process's first call
    if vu.worker == 1 and time.monotonic() - START[0] > 2.0:
        os._exit(3)  # the worker process dies mid-run, after streaming its figures a while
    time.sleep(0.002)

@pytest.mark.load(users=4, duration="4s", processes=2)
def test_load(load_runner):
    result = load_runner.run(work)
    print("PIDS", [w["pid"] for w in result.workers])
"""


def test_a_worker_killed_mid_run_fails_the_test_with_what_it_sent(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_killed=KILLED)
    result = pytester.runpytest_subprocess("-m", "load", "-s", timeout=120)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*worker 1 (popen, pid *) was lost *s into the run: its process exited*"
            "the figures cover what it sent until then*",
        ]
    )
    line = next(line for line in result.outlines if line.startswith("  worker 1 popen"))
    assert "LOST" in line
    calls = int(line.split(" users, ")[1].split(" calls")[0].replace(",", ""))
    assert calls > 0  # what it measured before it died counts
    pids = json.loads(next(line for line in result.outlines if "PIDS" in line).split("PIDS")[1])
    assert _gone(pids) == []


DIFFERENT = """
import pytest

@pytest.mark.load(duration="1s", processes=2)
def test_load(load_runner, load_worker):
    load_runner.run(lambda: None, users=4 if load_worker.is_coordinator else 6)
"""


def test_a_worker_that_resolves_other_settings_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_different=DIFFERENT)
    result = pytester.runpytest_subprocess("-m", "load", timeout=120)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*worker 0 (popen, pid *) resolved run 1 differently*users: 4*"])


REPLAYED = """
import json, os
import pytest

@pytest.mark.load(users=2, iterations=40)
def test_runs(load_runner, load_worker):
    first = load_runner.run(lambda: None)  # here only: the workers start for the second
    second = load_runner.run(lambda: None, processes=2)
    with open(f"out-{os.getpid()}.json", "w") as f:
        json.dump({"first": first.histogram.to_dict(), "second": second.total,
                   "spread": [len(first.workers), len(second.workers)],
                   "coordinator": load_worker.is_coordinator}, f)
"""


def test_a_run_made_in_the_coordinator_is_the_same_run_in_the_workers(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_replayed=REPLAYED)
    result = pytester.runpytest_subprocess("-m", "load", timeout=120)
    result.assert_outcomes(passed=1)
    outputs = _outputs(pytester.path)
    assert len(outputs) == 3
    assert all(o == {**outputs[0], "coordinator": o["coordinator"]} for o in outputs)
    assert outputs[0]["spread"] == [0, 2]
    assert outputs[0]["second"] == 40


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--load-processes=0",), "*--load-processes*0*must be at least 1*"),
        (("--load-processes=many",), "*--load-processes*'many' is not a whole number*auto*"),
        (("--load-tx=telnet=host",), "*--load-tx: 'telnet=host' is not a gateway spec*"),
        (("--load-tx=socket=nohost",), "*--load-tx: 'socket=nohost'*socket= takes HOST:PORT*"),
        (("--load-tx=0*popen",), "*--load-tx: '0[*]popen': the count must be 1 to 256*"),
    ],
)
def test_bad_scale_out_options_stop_the_session(
    pytester: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


BAD_MARKER = """
import pytest

@pytest.mark.load(users=2, duration="1s", processes={value})
def test_load(load_runner):
    load_runner.run(lambda: None)
"""


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "*processes=0*must be at least 1*"), ("'many'", "*processes='many'*whole number*")],
)
def test_bad_processes_in_the_marker_stop_collection(
    pytester: pytest.Pytester, value: str, message: str
) -> None:
    pytester.makepyfile(test_bad=BAD_MARKER.format(value=value))
    result = pytester.runpytest("-m", "load")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


TOO_FEW = """
import pytest

@pytest.mark.load(users=1, duration="1s", processes=2)
def test_load(load_runner):
    load_runner.run(lambda: None)
"""


def test_fewer_users_than_processes_is_a_clear_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_few=TOO_FEW)
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*users=1 cannot be spread over processes=2*"])


def test_an_unreachable_place_fails_the_test_within_seconds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_few=TOO_FEW.replace("users=1", "users=2"))
    # port 9 on the loopback: nothing listens there, the connection is refused at once
    result = pytester.runpytest_subprocess(
        "-m", "load", "--load-tx=socket=127.0.0.1:9", "--load-tx=socket=127.0.0.1:9", timeout=60
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*worker 0 (socket=127.0.0.1:9)*"])


ABORTED = """
import time
import pytest

def work(vu):
    time.sleep(0.001)
    if vu.worker == 0:
        raise ConnectionError("worker 0's share fails")  # its share breaches the SLA

@pytest.mark.load(users=4, duration="30s", processes=2, abort_on_breach=True,
                  abort_window="1s", sla={"error_rate": "1%"})
def test_load(load_runner):
    result = load_runner.run(work)
    print("MEASURED", result.duration)
"""


def test_one_workers_abort_stops_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_aborted=ABORTED)
    result = pytester.runpytest_subprocess("-m", "load", "-s", timeout=120)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*aborted*"])
    line = next(line for line in result.outlines if "MEASURED" in line)
    # planned: 30 s; the other worker's share was stopped too (the run lasts its longest share)
    assert float(line.split("MEASURED")[1]) < 15


HUNG = """
import os, signal, time
import pytest

START = []

def work(vu):
    if not START:
        START.append(time.monotonic())
    if vu.worker == 1 and time.monotonic() - START[0] > 1.0:
        os.kill(os.getpid(), signal.SIGSTOP)  # the whole worker process freezes
    time.sleep(0.002)

@pytest.mark.load(users=4, duration="2s", processes=2)
def test_load(load_runner):
    result = load_runner.run(work)
    print("PIDS", [w["pid"] for w in result.workers])
"""


def test_a_worker_that_hangs_is_lost_and_ended(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_hung=HUNG)
    result = pytester.runpytest_subprocess("-m", "load", "-s", timeout=120)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*worker 1 (popen, pid *) was lost *s into the run: silent for*"])
    pids = json.loads(next(line for line in result.outlines if "PIDS" in line).split("PIDS")[1])
    assert _gone(pids) == []


def test_a_test_on_an_xdist_worker_spreads_too(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_spread=SPREAD)
    # the worker sessions do not start xdist workers of their own (-n 2 is on the command line)
    result = pytester.runpytest_subprocess("-n", "2", "-m", "load", timeout=120)
    result.assert_outcomes(passed=1)
    assert len(_outputs(pytester.path)) == 4
    result.stdout.fnmatch_lines(["*3 worker processes*"])
