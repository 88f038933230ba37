"""The reference workload and the probe that times it during a run."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

from pytest_loadtest._monitor._speed import SpeedProbe, reference_workload


def test_the_reference_workload_takes_time_in_proportion_to_its_rounds() -> None:
    short = min(reference_workload(2_000) for _ in range(5))
    long = min(reference_workload(200_000) for _ in range(5))
    assert 0 < short < long


def test_the_probe_gives_the_median_time_and_cpu_time_of_its_timings_in_ms() -> None:
    timings = itertools.cycle([3_000_000, 1_000_000, 2_000_000])

    # a CPU clock read before and after each timing: 0.7, 0.5 and 0.9 ms of CPU in turn
    def cpu_reads() -> Iterator[int]:
        now = 0
        for spent in itertools.cycle([700_000, 500_000, 900_000]):
            yield now
            now += spent
            yield now

    cpu_clock = cpu_reads()
    probe = SpeedProbe(
        interval=0.001, workload=lambda: next(timings), cpu_clock=lambda: next(cpu_clock)
    )
    probe.start()
    give_up = time.monotonic() + 60  # the probe thread may wait long for a core, not forever
    while len(probe._samples) < 3 and time.monotonic() < give_up:
        time.sleep(0.001)
    times = probe.stop()
    assert times is not None
    assert 1.0 <= times.median_ms <= 3.0  # of samples of 1, 2 and 3 ms
    assert times.cpu_ms == 0.5  # the least: the CPU at its best
    assert probe._thread is not None
    assert not probe._thread.is_alive()


def test_a_probe_stopped_before_its_first_timing_has_none() -> None:
    probe = SpeedProbe(interval=60.0, workload=lambda: 1)
    probe.start()
    assert probe.stop() is None
