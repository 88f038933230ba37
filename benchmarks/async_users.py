"""Async users on one event loop against a plain asyncio loop doing the same awaits.

1. ``--users`` (1,000) async users, each iteration ``await asyncio.sleep(--nap)`` (50 ms), for
   ``--seconds`` (10): iterations/s as a share of the ideal (``users / nap``), p50 against the
   plain loop's p50 of the same await (the sleep's own overshoot, measured beside it), and
   CPU-seconds per 1,000 iterations of each (goals: >= 0.9 of ideal; p50 within 5% of the plain
   loop's; CPU within 1.5x of a plain loop awaiting the same target coroutine, which is what
   the users await; a plain loop awaiting the sleep itself is printed too). Medians of
   ``--rounds`` (3) interleaved rounds of the three.
2. ``--big-users`` (10,000) async users each awaiting 1 s, for ``--big-seconds`` (10): share of
   the ideal ``big_users`` iterations/s, and how much RSS the run added (goal: >= 0.95, under
   100 MB).
3. The open model: ``--rate`` (10,000) iterations/s each awaiting ``--nap``, ``max_users``
   ``--users``, for ``--seconds``: achieved rate as a share of the asked one, dropped
   iterations, start lag p50/p99.

``--loop uvloop`` runs the users (and the plain loop beside them) on uvloop; ``--loops N``
spreads the engine's closed-model users over N loop threads.

Every figure is printed as a ratio within one run: the machine may be noisy.

    python benchmarks/async_users.py [--seconds 10] [--users 1000] [--nap 0.05]
                                     [--big-users 10000] [--big-seconds 10] [--rate 10000]
                                     [--loop asyncio|uvloop] [--loops 1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time

import psutil

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._engine._loops import new_event_loop
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._scenario._target import build_plan
from pytest_loadtest._settings._layers import resolve_settings


def plain_loop(
    users: int, nap: float, seconds: float, kind: str = "asyncio", *, target: bool = False
) -> tuple[float, float, float]:
    """``(iterations/s, p50 ms, CPU-s per 1,000 iterations)`` of ``users`` coroutines on one
    plain asyncio loop, each timing ``await asyncio.sleep(nap)`` in a loop; ``target``: each
    awaiting a coroutine function that awaits it (what the engine's users call)."""
    durations: list[int] = []

    async def sleeper() -> None:
        await asyncio.sleep(nap)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds

        async def one() -> None:
            now = time.perf_counter_ns
            while loop.time() < end:
                t0 = now()
                if target:
                    await sleeper()
                else:
                    await asyncio.sleep(nap)
                durations.append(now() - t0)

        await asyncio.gather(*(one() for _ in range(users)))

    cpu = time.process_time()
    loop = new_event_loop(kind)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    cpu = time.process_time() - cpu
    n = len(durations)
    return n / seconds, statistics.median(durations) / 1e6, cpu / n * 1000


def engine_run(
    users: int, nap: float, seconds: float, **profile: object
) -> tuple[LoadResult, float]:
    """The engine's result with ``users`` async users awaiting ``nap`` (``profile``: the open
    model's ``rate``; ``users`` is then ``max_users``), and its CPU-seconds."""

    async def sleeper() -> None:
        await asyncio.sleep(nap)

    loop = {"loop": profile.pop("loop", "asyncio"), "loops": profile.pop("loops", 1)}
    crowd = {"max_users": users, **profile} if profile else {"users": users, **loop}
    if profile:
        crowd["loop"] = loop["loop"]
    settings = resolve_settings(
        [("benchmark", {**crowd, "duration": seconds, "monitor_interval": 0, "seed": 1})]
    )
    engine = Engine(build_plan(sleeper), settings)
    cpu = time.process_time()
    result = engine.run()
    return result, time.process_time() - cpu


def rss_peak_during(run: threading.Thread) -> float:
    """Most RSS (MB) seen while ``run`` runs (sampled every 0.2 s)."""
    process = psutil.Process()
    peak = 0.0
    while run.is_alive():
        peak = max(peak, process.memory_info().rss / 1e6)
        run.join(0.2)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--nap", type=float, default=0.05)
    parser.add_argument("--big-users", type=int, default=10_000)
    parser.add_argument("--big-seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=10_000.0)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--loops", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    args = parser.parse_args()
    users, nap, seconds = args.users, args.nap, args.seconds
    ideal = users / nap
    kind = {"loop": args.loop, "loops": args.loops}
    print(f"loop {args.loop}, engine loops {args.loops} (closed model)")

    # CPU per iteration moves by a fifth between runs on a busy machine: interleave the three
    # measurements over --rounds rounds and compare medians
    bare: list[tuple[float, float, float]] = []
    same: list[float] = []
    runs: list[tuple[LoadResult, float]] = []
    for _ in range(args.rounds):
        bare.append(plain_loop(users, nap, seconds, args.loop))
        same.append(plain_loop(users, nap, seconds, args.loop, target=True)[2])
        runs.append(engine_run(users, nap, seconds, **kind))
    median = statistics.median
    rate, p50, cpu_k = (median(row[i] for row in bare) for i in range(3))
    target_k = median(same)
    engine_cpu_k = median(cpu / max(result.total, 1) * 1000 for result, cpu in runs)
    result = runs[len(runs) // 2][0]
    engine_rate = median(result.throughput for result, _ in runs)
    engine_p50 = median(result.p50 for result, _ in runs)
    print(
        f"{users:,} users awaiting {nap * 1000:g} ms for {seconds:g} s (ideal {ideal:,.0f}/s), "
        f"medians of {args.rounds} interleaved rounds"
    )
    print(f"  plain asyncio loop  {rate:>9,.0f}/s  {rate / ideal:5.1%} of ideal  p50 {p50:6.2f} ms")
    print(
        f"  engine             {engine_rate:>9,.0f}/s  {engine_rate / ideal:5.1%} "
        f"of ideal  p50 {engine_p50:6.2f} ms  errors {result.errors}  hung {result.hung}"
    )
    print(f"  p50 engine / plain loop: {engine_p50 / p50:.3f}  (goal <= 1.05)")
    print(
        f"  CPU-s per 1,000 iterations: engine {engine_cpu_k:.4f}; a plain loop awaiting the "
        f"same target coroutine {target_k:.4f}, ratio {engine_cpu_k / target_k:.2f} "
        "(goal <= 1.5)"
    )
    print(
        f"  a plain loop awaiting asyncio.sleep itself: {cpu_k:.4f}, engine / it "
        f"{engine_cpu_k / cpu_k:.2f}"
    )

    big = args.big_users
    rss_before = psutil.Process().memory_info().rss / 1e6
    holder: list[tuple[LoadResult, float]] = []
    run = threading.Thread(
        target=lambda: holder.append(engine_run(big, 1.0, args.big_seconds, **kind))
    )
    run.start()
    rss_peak = rss_peak_during(run)
    big_result, _ = holder[0]
    print(f"{big:,} users awaiting 1 s for {args.big_seconds:g} s (ideal {big:,}/s)")
    print(
        f"  engine {big_result.throughput:,.0f}/s = {big_result.throughput / big:.1%} of ideal "
        f"(goal >= 95%)  p50 {big_result.p50:.1f} ms  RSS +{rss_peak - rss_before:.0f} MB "
        "(goal < 100 MB)"
    )

    rate_asked = args.rate
    open_result, _ = engine_run(users, nap, seconds, rate=rate_asked, loop=args.loop)
    lag = open_result.start_lag
    print(
        f"open model: {rate_asked:,.0f}/s asked, each awaiting {nap * 1000:g} ms, {users:,} users"
    )
    print(
        f"  achieved {open_result.throughput:,.0f}/s = {open_result.throughput / rate_asked:.1%}"
        f"  dropped {open_result.dropped:,}  start lag p50 "
        f"{lag.p50 if lag else float('nan'):.2f} ms p99 {lag.p99 if lag else float('nan'):.2f} ms"
        f"  p50 {open_result.p50:.2f} ms"
    )


if __name__ == "__main__":
    main()
