"""Open-model accuracy: does the engine start iterations on schedule, and is a stall charged?

Prints, from one run,
- for a no-op target and a 1 ms target (``time.sleep(0.001)``) at 2,000 iterations/s: the achieved
  rate / target rate (goal: within 1%) and the start lag p50/p99 (goal: p99 under 2 ms);
- for a target that stalls the whole process once for about 1 s (it holds the GIL, as a
  stop-the-world pause or a C extension would): the latency p99 measured from each iteration's
  intended start (coordinated omission corrected) against the service-time p99, and their ratio.
  Without the correction the stall would show in about one call in 2,000; with it, every call
  that should have started during the stall is charged for it.

    python benchmarks/open_model.py [--seconds 30] [--rate 2000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._scenario._target import build_plan
from pytest_loadtest._settings._layers import resolve_settings


def noop() -> None:
    """Does nothing."""


def one_ms() -> None:
    """Sleeps about a millisecond (releasing the GIL, like I/O)."""
    time.sleep(0.001)


def gil_holding_work(seconds: float) -> Callable[[], None]:
    """A function that holds the GIL for about ``seconds`` (``sum`` over a range runs in C)."""
    n = 1_000_000
    while True:
        t0 = time.perf_counter()
        sum(range(n))
        took = time.perf_counter() - t0
        if took > 0.05:
            break
        n *= 4
    size = int(n * seconds / took)

    def stall() -> None:
        sum(range(size))

    return stall


def stalls_once(after: int, stall: Callable[[], None]) -> Callable[[], None]:
    """A no-op target whose call number ``after`` stalls the process."""
    calls = iter(range(10**12))

    def target() -> None:
        if next(calls) == after:
            stall()

    return target


def run(target: Callable[[], None], rate: float, seconds: float) -> LoadResult:
    """One open-model run of ``target``."""
    settings = resolve_settings([("benchmark", {"rate": rate, "duration": seconds})])
    return Engine(build_plan(target), settings).run()


def main() -> None:
    """Run the cases and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=2000.0)
    args = parser.parse_args()
    rate, seconds = args.rate, args.seconds
    print(f"open model at {rate:g} iterations/s for {seconds:g}s per case")
    print(f"{'target':<10} {'achieved/target':>15} {'dropped':>8} {'lag p50':>9} {'lag p99':>9}")
    for name, target in (("no-op", noop), ("1 ms", one_ms)):
        result = run(target, rate, seconds)
        assert result.start_lag is not None
        print(
            f"{name:<10} {result.achieved_rate / rate:>15.4f} {result.dropped:>8} "
            f"{result.start_lag.p50:>7.3f}ms {result.start_lag.p99:>7.3f}ms"
        )
    stall = gil_holding_work(1.0)
    t0 = time.perf_counter()
    stall()
    took = time.perf_counter() - t0
    result = run(stalls_once(int(rate * seconds / 2), stall), rate, seconds)
    service, lag = result.service_time, result.start_lag
    assert service is not None
    assert lag is not None
    ratio = result.p99 / service.p99
    print(f"\none stall of {took:.2f}s holding the GIL, mid-run:")
    print(f"  latency p99 from the intended start (corrected): {result.p99:10.3f}ms")
    print(f"  service time p99 (from the actual start):        {service.p99:10.3f}ms")
    print(f"  start lag p99:                                    {lag.p99:10.3f}ms")
    print(f"  corrected / service-time p99:                     {ratio:10.1f}x")
    print(f"  calls charged >= 100ms: {_share_above(result, 100.0):.2%} of {result.total:,}")


def _share_above(result: LoadResult, ms: float) -> float:
    """Share of calls at or above ``ms`` (from the histogram)."""
    low, high = 0.0, 100.0
    for _ in range(40):
        mid = (low + high) / 2
        if result.percentile(mid) >= ms:
            high = mid
        else:
            low = mid
    return (100.0 - high) / 100.0


if __name__ == "__main__":
    main()
