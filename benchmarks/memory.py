"""Memory stays bounded whatever the target's speed: RSS late in a run against RSS early in it.

A no-op target is the worst case: users produce durations faster than the collector thread can
fold them, and before the backlog was bounded RSS grew without limit (10 users: 412 MB at 10 s,
1,892 MB at 60 s). For 1, 10 and 1,000 users this prints the process's RSS after ``--early``
seconds and after ``--seconds`` seconds of one run, and their ratio (goal: <= 1.1).

Then the throughput cost of the bound: the same no-op for ``--cost-seconds`` with the default
backlog limit and with an effectively unlimited one, each figure counting the calls folded by the
end of the run (what the result reports), and the ratio of the two.

    python benchmarks/memory.py [--seconds 60] [--early 10] [--cost-seconds 10]
"""

from __future__ import annotations

import argparse
import threading
import time

import psutil

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._scenario._target import build_plan
from pytest_loadtest._settings._layers import resolve_settings


def noop() -> None:
    """The target: does nothing, so the harness is all there is."""


def _engine(users: int, seconds: float, **extra: object) -> Engine:
    settings = resolve_settings(
        [("benchmark", {"users": users, "duration": seconds, "monitor_interval": 0, "seed": 1})]
    )
    engine = Engine(build_plan(noop), settings)
    for name, value in extra.items():
        setattr(engine.recorder, name, value)
    return engine


def rss_ratio(users: int, seconds: float, early: float) -> tuple[float, float, float]:
    """``(RSS MB after early s, RSS MB after seconds s, calls/s)`` of one run."""
    process = psutil.Process()
    samples: dict[float, float] = {}
    stop = threading.Event()

    def sample() -> None:
        start = time.monotonic()
        for at in (early, seconds - 0.5):
            if stop.wait(max(0.0, start + at - time.monotonic())):
                return
            samples[at] = process.memory_info().rss / 1e6

    sampler = threading.Thread(target=sample, daemon=True)
    engine = _engine(users, seconds)
    sampler.start()
    result = engine.run()
    stop.set()
    sampler.join()
    return (
        samples.get(early, float("nan")),
        samples.get(seconds - 0.5, float("nan")),
        (result.throughput),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each run")
    parser.add_argument("--early", type=float, default=10.0, help="when the first RSS is taken")
    parser.add_argument("--cost-seconds", type=float, default=10.0, help="length of cost runs")
    parser.add_argument("--users", type=int, nargs="*", default=[1, 10, 1000])
    args = parser.parse_args()
    print(f"{'users':>6} {'RSS early':>10} {'RSS late':>10} {'late/early':>10}  calls/s  goal")
    for users in args.users:
        early, late, rate = rss_ratio(users, args.seconds, args.early)
        ratio = late / early
        verdict = "met" if ratio <= 1.1 else "MISSED"
        print(
            f"{users:6d} {early:9.0f}M {late:9.0f}M {ratio:10.3f}  {rate:10,.0f}  <= 1.1 {verdict}"
        )
    late = args.seconds - 0.5
    print(f"(RSS after {args.early:g}s and after {late:g}s of one {args.seconds:g}s run)")
    print()
    print("throughput cost of the backlog bound (10 users, calls folded by the end / run time):")
    bounded = _engine(10, args.cost_seconds).run().throughput
    unbounded = _engine(10, args.cost_seconds, backlog_limit=10**12).run().throughput
    print(
        f"  bounded {bounded:,.0f}/s  unbounded {unbounded:,.0f}/s  ratio {bounded / unbounded:.3f}"
    )


if __name__ == "__main__":
    main()
