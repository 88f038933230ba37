"""Scale-out (``processes=N``): what spreading one load test over worker processes buys, from
one run of this script on the machine it runs on.

Prints
- a CPU-bound target (a pure-Python loop of about 50 µs a call), 16 users, for ``--seconds``:
  calls/s in the test's own process and over 2 worker processes, and their ratio (goal >= 1.8
  on a 2-core machine), with what ``processes="auto"`` means here;
- a no-op target under 1,000 users, in-process and over 2 processes: calls/s and the ratio of
  each to a bare single-thread timing loop (two clock reads and an append per call);
- the time from ``run()`` to the first call of a worker, with 2 local workers (goal < 2 s
  beyond the test's own set-up), the median of ``--starts`` sessions.

Each load test runs in a pytest session of its own (a subprocess), as users run them.

    python benchmarks/scale_out.py [--seconds 8] [--starts 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from overhead import bare_loop

TEST = """
import json, os, time
import pytest

def cpu():
    total = 0
    for i in range({loop}):
        total += i * i
    return total

def noop():
    pass

def first(vu):
    path = f"first-{{os.getpid()}}"
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(repr(time.time()))

@pytest.mark.load(monitor_interval=0)
def test_bench(load_runner, load_worker):
    target = {{"cpu": cpu, "noop": noop, "first": first}}["{target}"]
    started = time.time()
    result = load_runner.run(target, users={users}, duration="{seconds}s", processes={processes})
    if load_worker.is_worker:  # every process reads the merged result: one writes it
        return
    with open("result.json", "w") as f:
        json.dump({{"throughput": result.throughput, "total": result.total,
                    "started": started, "p50": result.p50}}, f)
"""


def session(target: str, users: int, seconds: float, processes: int, loop: int) -> dict[str, Any]:
    """Run one load test in a pytest session of its own; what its test body wrote."""
    with tempfile.TemporaryDirectory(prefix="scale-out-") as directory:
        path = Path(directory)
        (path / "test_bench.py").write_text(
            TEST.format(target=target, users=users, seconds=seconds, processes=processes, loop=loop)
        )
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        command += ["-p", "no:randomly", "--load-progress=off", "test_bench.py"]
        done = subprocess.run(command, cwd=path, capture_output=True, text=True, timeout=600)
        if done.returncode not in (0, 1):
            raise RuntimeError(done.stdout + done.stderr)
        data: dict[str, Any] = json.loads((path / "result.json").read_text())
        firsts = [float(p.read_text()) for p in path.glob("first-*")]
        data["first_call"] = min(firsts) - data["started"] if firsts else None
        return data


def calibrate(micros: float) -> int:
    """Loop length of the CPU-bound target that takes about ``micros`` µs here."""
    loop = 1000
    start = time.perf_counter()
    rounds = 200
    for _ in range(rounds):
        total = 0
        for i in range(loop):
            total += i * i
    each = (time.perf_counter() - start) / rounds * 1e6
    return max(1, round(loop * micros / each))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    seconds = args.seconds
    print(f"this machine: {os.cpu_count()} cores, so processes='auto' is {os.cpu_count()}")

    loop = calibrate(50.0)
    one = session("cpu", 16, seconds, 1, loop)
    two = session("cpu", 16, seconds, 2, loop)
    ratio = two["throughput"] / one["throughput"]
    print(f"\nCPU-bound target (~50 µs a call, loop of {loop}), 16 users, {seconds:g}s:")
    print(f"  1 process  {one['throughput']:>12,.0f} calls/s")
    print(f"  2 processes{two['throughput']:>12,.0f} calls/s   ratio {ratio:.2f} (goal >= 1.8)")

    bare = bare_loop(3.0)
    here = session("noop", 1000, seconds, 1, loop)
    spread = session("noop", 1000, seconds, 2, loop)
    print(f"\nno-op target, 1,000 users, {seconds:g}s (bare single-thread loop {bare:,.0f}/s):")
    print(
        f"  in-process   {here['throughput']:>12,.0f} calls/s   "
        f"ratio to the bare loop {here['throughput'] / bare:.3f}"
    )
    print(
        f"  2 processes  {spread['throughput']:>12,.0f} calls/s   "
        f"ratio to the bare loop {spread['throughput'] / bare:.3f}"
    )

    starts = [session("first", 2, 1.0, 2, loop)["first_call"] for _ in range(args.starts)]
    known = [s for s in starts if s is not None]
    print(
        "\nrun() to a worker's first call, 2 local workers: "
        + ", ".join(f"{s:.2f}s" for s in known)
        + (f" (median {statistics.median(known):.2f}s; goal < 2 s)" if known else "")
    )


if __name__ == "__main__":
    main()
