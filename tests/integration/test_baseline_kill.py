"""kill -9 at random moments of a process saving baselines: nothing saved before is lost or
damaged, every run that is listed loads, and what a killed writer left behind stays out of sight
(issue 12)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_loadtest._baseline._storage import load_run, saved_runs

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

MACHINE = "Linux-CPython-3.11-64bit"
TESTS = Path(__file__).resolve().parents[1]

WRITER = f"""
import sys
from pathlib import Path
from pytest_loadtest._baseline._metadata import RunMetadata
from pytest_loadtest._baseline._storage import save_run
from helpers.baseline_samples import result

meta = RunMetadata.collect(
    {MACHINE!r}, machine_info={{"system": "Linux"}}, commit_info={{"id": "c"}}
)
storage = Path(sys.argv[1])
seed = 1
while True:
    save_run(storage, {MACHINE!r}, "killed", [result(seed, operations={{"a": 1.0}})], meta)
    seed += 1
"""


def test_killing_a_writer_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(12)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    before: dict[int, bytes] = {}
    for _ in range(6):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], env=env)
        # kill it at a random moment once it saves (its start-up takes long on a busy machine)
        saved = len(before)
        deadline = time.monotonic() + 60
        while len(saved_runs(tmp_path, MACHINE)) <= saved and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.random() * 0.3)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        runs = saved_runs(tmp_path, MACHINE)
        numbers = [run.number for run in runs]
        assert len(numbers) == len(set(numbers))
        for run in runs:
            assert load_run(tmp_path, MACHINE, run.number).entries  # whole, never half-written
        for number, content in before.items():  # nothing saved earlier changed or vanished
            assert next(r.path for r in runs if r.number == number).read_bytes() == content
        before = {run.number: run.path.read_bytes() for run in runs}
    assert before, "the writer never saved: the test checked nothing"
    hidden = [p.name for p in (tmp_path / MACHINE).iterdir() if p.name.startswith(".")]
    visible = {p.name for p in (tmp_path / MACHINE).iterdir()} - set(hidden)
    assert visible == {run.path.name for run in saved_runs(tmp_path, MACHINE)}
