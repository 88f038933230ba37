"""Measurement accuracy on the real clock: exact counts, and latency against a known sleep."""

from __future__ import annotations

import statistics
import threading
import time

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._scenario._target import build_plan
from pytest_loadtest._settings._layers import resolve_settings


def test_count_under_1000_users_matches_the_targets_own_count() -> None:
    # A CPU-bound target under 1,000 threads: the GIL decides who runs, the count must still
    # agree exactly, and the result says how many users took part.
    calls = 0
    lock = threading.Lock()

    def target() -> None:
        nonlocal calls
        with lock:
            calls += 1

    settings = resolve_settings([("test", {"users": 1000, "duration": 2})])
    result = Engine(build_plan(target), settings).run()
    assert result.users == 1000
    assert 0 < result.peak_active <= 1000
    assert result.total == calls > 0
    assert sum(row.calls for row in result.timeline) == calls
    assert 0 <= result.idle_users < 1000


def test_p50_of_a_10ms_sleep_is_within_10_percent_of_the_sleeps_own_duration() -> None:
    # The sleep overshoots on a busy machine; measure that overshoot beside the run.
    def target() -> None:
        time.sleep(0.010)

    def own_sleeps() -> list[float]:
        own = []
        for _ in range(30):
            t0 = time.perf_counter_ns()
            target()
            own.append((time.perf_counter_ns() - t0) / 1e6)
        return own

    before = own_sleeps()
    settings = resolve_settings([("test", {"users": 4, "duration": 1})])
    result = Engine(build_plan(target), settings).run()
    own = before + own_sleeps()  # before and after: how busy the machine is may change
    expected = statistics.median(own)
    q1, _, q3 = statistics.quantiles(own, n=4)
    # 10%, widened by the spread the sleep itself showed (a busy machine's)
    margin = 0.10 * expected + (q3 - q1)
    assert abs(result.p50 - expected) <= margin, (result.p50, expected, margin)
    assert 10.0 <= result.min <= result.p50 <= result.max
