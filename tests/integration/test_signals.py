"""Ctrl-C at any moment of a load test: the session ends soon, with what was measured printed and
the report written. pytest runs in a subprocess that gets real SIGINTs.

Time bounds are loose on purpose (the machine may be busy): each test checks that the run stopped
long before its planned duration, not how fast.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.signals import sigint_default

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

#: The planned length of every run here; stopping must come long before it.
PLANNED = 120
STOP_TIMEOUT = 1.0

TEST = f"""
import sys
import time
import pytest

def target():
    time.sleep(0.001)

@pytest.mark.load(users={{users}}, duration="{PLANNED}s", stop_timeout="{STOP_TIMEOUT}s")
def test_long(load_runner):
    load_runner.run(target, users=1, iterations=1)  # the engine is imported and warm
    sys.__stdout__.write("GO\\n")
    sys.__stdout__.flush()
    load_runner.run(target)
"""


def _start(pytester: pytest.Pytester, users: int, *args: str) -> subprocess.Popen[str]:
    pytester.makepyfile(test_long=TEST.format(users=users))
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-m", "load", "-p", "no:cacheprovider", "-s", *args],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=sigint_default,  # SIGINT reaches it even if ignored here
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait_for_go(process: subprocess.Popen[str]) -> list[str]:
    """Lines read until the test body says GO (then the run is about to start its users)."""
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.strip().endswith("GO"):
            return lines
    process.kill()
    raise AssertionError("the test never started:\n" + "".join(lines))


def _finish(process: subprocess.Popen[str], lines: list[str]) -> tuple[str, float]:
    start = time.monotonic()
    try:
        rest, _ = process.communicate(timeout=PLANNED / 2)
    except subprocess.TimeoutExpired:
        process.kill()
        rest, _ = process.communicate()
        raise AssertionError("the session did not stop:\n" + "".join(lines) + rest) from None
    return "".join(lines) + rest, time.monotonic() - start


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.3, 1.5])
def test_ctrl_c_while_users_start_or_run_ends_the_session_with_its_figures(
    pytester: pytest.Pytester, delay: float
) -> None:
    """1,000 users take a while to start: a SIGINT then, or once they run, stops the run."""
    process = _start(pytester, 1000, "--load-report=report")
    lines = _wait_for_go(process)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    output, elapsed = _finish(process, lines)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    assert elapsed < PLANNED / 4, output
    assert "load test results" in output, output
    assert "test_long.py::test_long [target] " in output, output  # the run before is kept
    document = json.loads((pytester.path / "report" / "results.json").read_text())
    interrupted = [r["interrupted"] for r in document["results"]]
    # a Ctrl-C that lands before the second run has started leaves nothing of it to report
    assert interrupted in ([False], [False, True]), interrupted
    if delay >= 1.0:  # the users run by then: the run is cut short and reported
        assert interrupted == [False, True]
    if len(interrupted) == 2:
        assert "[target (run 2)]: interrupted; figures cover what was measured before " in output
    assert "INTERNALERROR" not in output


def test_ctrl_c_stops_async_users_on_their_shared_loop(pytester: pytest.Pytester) -> None:
    """1,000 async users (tasks on one event loop): Ctrl-C once they run cuts the run short and
    reports it."""
    test = TEST.replace(
        "def target():\n    time.sleep(0.001)",
        "import asyncio\n\nasync def target():\n    await asyncio.sleep(0.001)",
    )
    assert test != TEST
    pytester.makepyfile(test_long=test.format(users=1000))
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-m", "load", "-p", "no:cacheprovider", "-s"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=sigint_default,  # SIGINT reaches it even if ignored here
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = _wait_for_go(process)
    time.sleep(1.5)
    process.send_signal(signal.SIGINT)
    output, elapsed = _finish(process, lines)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    assert elapsed < PLANNED / 4, output
    assert "load test results" in output, output
    assert "interrupted" in output.lower(), output


def test_a_ctrl_c_on_an_instruction_without_a_line_ends_the_session_as_interrupted(
    pytester: pytest.Pytester,
) -> None:
    """CPython 3.11+ can leave a signal's traceback entry without a line; pytest then failed
    while printing it and exited 1 (seen once in CI with a Ctrl-C as users started)."""
    pytester.makepyfile(
        """
        import contextlib, sys, types

        def _frame():
            with contextlib.nullcontext():
                pass
            return sys._getframe()

        def test_interrupted(load_runner):
            load_runner.run(lambda: None, users=1, iterations=3)
            frame = _frame()
            lasti = next(s for s, _, line in frame.f_code.co_lines() if line is None)
            tb = types.TracebackType(None, frame, lasti, -1)
            assert tb.tb_lineno is None
            raise KeyboardInterrupt().with_traceback(tb)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    assert result.ret == pytest.ExitCode.INTERRUPTED, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*load test results*", "*KeyboardInterrupt*"])
    assert "TypeError" not in result.stdout.str() + result.stderr.str()


def test_more_ctrl_c_while_stopping_lose_nothing(pytester: pytest.Pytester) -> None:
    process = _start(pytester, 100, "--load-report=report")
    lines = _wait_for_go(process)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    for _ in range(2):  # while users stop, and while the summary and the report are written
        time.sleep(0.3)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    output, elapsed = _finish(process, lines)
    assert elapsed < PLANNED / 4, output
    assert "load test results" in output, output
    assert "test_long.py::test_long [target (run 2)]" in output, output
    assert (Path(pytester.path) / "report" / "results.json").exists(), output
    assert "INTERNALERROR" not in output


def test_ctrl_c_under_xdist_keeps_what_the_workers_measured(pytester: pytest.Pytester) -> None:
    """A terminal's Ctrl-C reaches the controller and every worker: the workers' cut runs still
    reach the summary and the report (no call report carries them)."""
    pytest.importorskip("xdist")
    go = Path(pytester.path) / "go"
    pytester.makepyfile(
        test_long=TEST.format(users=5).replace(
            'sys.__stdout__.write("GO\\n")', f"open({str(go)!r}, 'w').close()"
        )
    )
    spool = Path(pytester.path) / "tmp"  # the session's temporary directory: must end empty
    spool.mkdir()
    args = [
        "-m",
        "load",
        "-p",
        "no:cacheprovider",
        "-p",
        "xdist",
        "-n",
        "2",
        "--load-report=report",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", *args],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=sigint_default,  # SIGINT reaches it even if ignored here
        env={**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(spool)},
        start_new_session=True,  # a process group of its own, as a terminal's job is
    )
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert go.exists(), "the test never started"
    time.sleep(0.5)
    os.killpg(process.pid, signal.SIGINT)
    output, elapsed = _finish(process, [])
    assert elapsed < PLANNED / 4, output
    assert "load test results" in output, output
    assert "test_long.py::test_long [target (run 2)]" in output, output
    assert "interrupted; figures cover what was measured before the stop" in output, output
    document = json.loads((Path(pytester.path) / "report" / "results.json").read_text())
    assert [r["interrupted"] for r in document["results"]] == [False, True]
    assert list(spool.iterdir()) == []
    assert "INTERNALERROR" not in output
