"""Ctrl-C in a load test spread over worker processes: as a terminal sends it, to the whole
process group. The workers leave it to the coordinator, which stops them all, keeps what they
measured, and ends the session; no worker process is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from helpers.signals import sigint_default

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
pytest.importorskip("execnet")

TEST = """
import os, time
import pytest

def work():
    path = f"started-{os.getpid()}"
    if not os.path.exists(path):
        open(path, "w").close()
    time.sleep(0.002)

@pytest.mark.load(users=4, duration="120s", stop_timeout="1s", processes=2)
def test_long(load_runner):
    load_runner.run(work)
"""


def test_ctrl_c_stops_every_worker_and_keeps_their_figures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_long=TEST)
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-m", "load", "-p", "no:cacheprovider"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=sigint_default,  # SIGINT reaches it even if ignored here
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        give_up = time.monotonic() + 60
        while len(list(pytester.path.glob("started-*"))) < 2 and time.monotonic() < give_up:
            time.sleep(0.1)
        workers = [int(p.name.split("-")[1]) for p in pytester.path.glob("started-*")]
        assert len(workers) == 2, "the workers never started"
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=60)  # planned: 120 s
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "interrupted; figures cover what was measured before the stop" in output
    assert "2 worker processes" in output
    assert "was stopped early" not in output  # interrupted, not stopped by something in it
    deadline = time.monotonic() + 10
    while any(psutil.pid_exists(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if psutil.pid_exists(pid)]
