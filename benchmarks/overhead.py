"""Harness overhead: a no-op target driven by the engine, against a bare timing loop.

Prints, from one run, the calls/s of
- a bare loop that only does what any measurement must: two ``perf_counter_ns`` and an append,
- the same loop calling the no-op target between its clock reads (what a harness cannot avoid),
- the engine with 1 virtual user, and with 1,000 virtual users, on a no-op target,
and each one's ratio to the bare loop (goals: >= 0.8 with 1 user, >= 0.7 with 1,000). Beside them,
the same bare loop on 1,000 plain threads (no engine): what CPython's GIL itself allows when 1,000
threads all want the interpreter, so the 1,000-user figure can be read against that ceiling too.
Timings on a shared machine are noisy, so every figure is the median of several rounds, interleaved.

    python benchmarks/overhead.py [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._scenario._target import build_plan
from pytest_loadtest._settings._layers import resolve_settings


def noop() -> None:
    """The target: does nothing, so what is measured is the harness."""


def _thousand(append: Callable[[int], None]) -> int:
    """1,000 'calls' of the bare loop: two clock reads and one append each; the last start."""
    clock = time.perf_counter_ns
    t0 = 0
    for _ in range(1000):
        t0 = clock()
        append(clock() - t0)
    return t0


def _thousand_calling(append: Callable[[int], None]) -> int:
    """1,000 'calls' of the bare loop that also calls the target between its clock reads."""
    clock = time.perf_counter_ns
    target = noop
    t0 = 0
    for _ in range(1000):
        t0 = clock()
        target()
        append(clock() - t0)
    return t0


def bare_rate(seconds: float, thousand: Callable[[Callable[[int], None]], int]) -> float:
    """Calls/s of a bare loop run 1,000 calls at a time (so that the end test and the call of
    ``thousand`` cost nothing measurable)."""
    clock = time.perf_counter_ns
    buf: list[int] = []
    end = clock() + int(seconds * 1e9)
    start = clock()
    while thousand(buf.append) < end:
        pass
    return len(buf) / ((clock() - start) / 1e9)


def bare_loop(seconds: float) -> float:
    """Calls/s of a loop doing two clock reads and one append per 'call'."""
    return bare_rate(seconds, _thousand)


def bare_calling_loop(seconds: float) -> float:
    """Calls/s of the bare loop that also calls the target between its two clock reads."""
    return bare_rate(seconds, _thousand_calling)


def bare_threads(threads: int, seconds: float) -> float:
    """Calls/s of the bare loop on ``threads`` plain threads, released together by one event
    (released one by one, each set() waited for the GIL behind the threads already spinning:
    minutes on a 2-core machine)."""
    clock = time.perf_counter_ns
    buffers: list[list[int]] = [[] for _ in range(threads)]
    go = threading.Event()
    stop = threading.Event()

    def work(index: int) -> None:
        append = buffers[index].append
        go.wait()
        while not stop.is_set():
            for _ in range(1000):
                t0 = clock()
                append(clock() - t0)

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    start = clock()
    go.set()
    time.sleep(seconds)
    stop.set()
    elapsed = (clock() - start) / 1e9  # the sleep can overrun when 1,000 threads want the GIL
    calls = sum(len(b) for b in buffers)
    for worker in workers:
        worker.join()
    return calls / elapsed


def engine(users: int, seconds: float) -> float:
    """Calls/s of the engine running ``noop`` with ``users`` virtual users."""
    warmup = 1.0 if users > 1 else 0.2  # leave thread start-up out of the figure
    settings = resolve_settings(
        [("benchmark", {"users": users, "duration": seconds + warmup, "warmup": warmup})]
    )
    return Engine(build_plan(noop), settings).run().throughput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each measurement")
    args = parser.parse_args()
    cases: dict[str, Callable[[], float]] = {
        "bare loop (2 clock reads + append)": lambda: bare_loop(args.seconds),
        "bare loop calling the no-op target": lambda: bare_calling_loop(args.seconds),
        "engine, 1 user": lambda: engine(1, args.seconds),
        "engine, 1,000 users": lambda: engine(1000, args.seconds),
        "bare loop on 1,000 plain threads": lambda: bare_threads(1000, args.seconds),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, case in cases.items():
            samples[name].append(case())
    medians = {name: statistics.median(values) for name, values in samples.items()}
    bare = medians["bare loop (2 clock reads + append)"]
    goals = {"engine, 1 user": 0.8, "engine, 1,000 users": 0.7}
    print(f"{'case':38} {'calls/s':>12} {'ratio':>7}  goal")
    for name, value in medians.items():
        goal = goals.get(name)
        verdict = (
            "" if goal is None else f">= {goal}  {'met' if value / bare >= goal else 'MISSED'}"
        )
        print(f"{name:38} {value:12,.0f} {value / bare:7.3f}  {verdict}")
    calling = medians["bare loop calling the no-op target"]
    print(
        f"engine with 1 user / bare loop calling the target: "
        f"{medians['engine, 1 user'] / calling:.3f}"
    )
    ceiling = medians["bare loop on 1,000 plain threads"]
    print(
        f"engine with 1,000 users / bare loop on 1,000 plain threads: "
        f"{medians['engine, 1,000 users'] / ceiling:.3f}"
    )
    print(f"(median of {args.rounds} rounds of {args.seconds:g}s; each round's calls/s: ", end="")
    print(
        "; ".join(f"{k}: {', '.join(f'{v:,.0f}' for v in vs)}" for k, vs in samples.items()) + ")"
    )


if __name__ == "__main__":
    main()
