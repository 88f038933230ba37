"""The resource sampler with an injected clock and reader, and one real psutil reading."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import replace

import pytest

from pytest_loadtest._monitor._process import PsutilReader, Reading
from pytest_loadtest._monitor._resources import ResourceSample, ResourceSampler, ResourceSamples

from helpers.clock import FakeClock


class ScriptedReader:
    """Each reading adds ``cpu_per_read`` seconds of process CPU and ``rss_step`` bytes."""

    def __init__(self, cpu_per_read: float = 0.05, rss_step: int = 1_000_000) -> None:
        self.cpu_per_read = cpu_per_read
        self.rss_step = rss_step
        self.reads = 0

    def read(self) -> Reading:
        n = self.reads
        self.reads += 1
        return Reading(
            cpu_seconds=10.0 + n * self.cpu_per_read,
            rss_bytes=100_000_000 + n * self.rss_step,
            threads=3 + n,
            open_fds=7,
            read_bytes=1000 + 10 * n,
            write_bytes=None,
            system_busy=500.0 + n * 0.1,  # 0.1 busy of 0.4 total CPU seconds per read: 25%
            system_total=2000.0 + n * 0.4,
        )


def test_samples_compute_cpu_over_the_interval_and_count_io_from_the_start() -> None:
    clock = FakeClock(start=5.0, moved_by="test")
    sampler = ResourceSampler(1.0, clock=clock, reader=ScriptedReader(), cpu_count=4)
    sampler.start(clock.now_ns())
    clock.advance(0.1)
    sample = sampler.sample()
    assert sample.t == pytest.approx(0.1)
    assert sample.span == pytest.approx(0.1)
    assert sample.cpu_percent == pytest.approx(50.0)  # 0.05 s of CPU in 0.1 s
    assert sample.system_cpu_percent == pytest.approx(25.0)
    assert sample.rss_bytes == 101_000_000
    assert sample.read_bytes == 10
    assert sample.write_bytes is None
    result = sampler.stop()
    assert [s.t for s in result.samples] == [0.0, pytest.approx(0.1)]
    first = result.samples[0]
    assert math.isnan(first.cpu_percent)
    assert first.read_bytes == 0
    assert result.cpu_count == 4


def test_thread_samples_on_schedule_until_stopped() -> None:
    clock = FakeClock(start=5.0, moved_by="sleeps")
    reader = ScriptedReader()
    sampler = ResourceSampler(0.5, clock=clock, reader=reader, cpu_count=2)
    sampler.start(clock.now_ns())
    deadline = time.monotonic() + 5
    while reader.reads < 6 and time.monotonic() < deadline:
        time.sleep(0.001)
    result = sampler.stop()
    times = [s.t for s in result.samples]
    assert len(times) >= 6
    assert times == pytest.approx([0.5 * k for k in range(len(times))])
    assert result.samples[1].cpu_percent == pytest.approx(10.0)  # 0.05 s per 0.5 s
    assert result.sample_cost_s == 0.0  # the reader took no time on this clock


def test_stop_takes_a_last_sample_unless_the_last_is_fresh() -> None:
    clock = FakeClock(start=5.0, moved_by="test")
    sampler = ResourceSampler(1.0, clock=clock, reader=ScriptedReader(), cpu_count=1)
    sampler.start(clock.now_ns())
    clock.advance(0.4)  # within half an interval: no extra sample
    assert len(sampler.stop().samples) == 1
    sampler.start(clock.now_ns())
    clock.advance(0.5)
    result = sampler.stop()
    assert [s.t for s in result.samples] == [0.0, pytest.approx(0.5)]


def test_a_sampler_starts_once_and_stops_once() -> None:
    sampler = ResourceSampler(
        1.0, clock=FakeClock(start=5.0, moved_by="test"), reader=ScriptedReader(), cpu_count=1
    )
    with pytest.raises(RuntimeError, match="not running"):
        sampler.stop()
    sampler.start()
    with pytest.raises(RuntimeError, match="already running"):
        sampler.start()
    sampler.stop()


@pytest.mark.parametrize("interval", [0, -1.0, math.nan])
def test_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError, match="interval must be positive"):
        ResourceSampler(interval, reader=ScriptedReader())


def _sample(t: float, span: float, cpu: float, rss: int) -> ResourceSample:
    return ResourceSample(t, span, cpu, cpu / 4, rss, 10, 20, 0, 0)


def _samples() -> ResourceSamples:
    return ResourceSamples(
        interval=1.0,
        cpu_count=2,
        samples=(
            _sample(0.0, 0.0, math.nan, 100),
            _sample(1.0, 1.0, 40.0, 300),
            _sample(2.0, 1.0, 100.0, 200),
            _sample(2.5, 0.5, 10.0, 200),
        ),
        sample_cost_s=0.0002,
    )


def test_peaks_and_span_weighted_means() -> None:
    samples = _samples()
    assert samples.cpu_peak == 100.0
    assert samples.cpu_mean == pytest.approx((40 + 100 + 5) / 2.5)
    assert samples.system_cpu_peak == 25.0
    assert samples.rss_peak == 300
    assert samples.rss_mean == 200
    assert samples.threads_peak == 10
    assert samples.open_fds_peak == 20
    summary = samples.summary()
    assert summary["cpu_peak_percent"] == 100.0
    assert summary["sample_cost_ms"] == pytest.approx(0.2)


def test_empty_samples_have_no_peaks() -> None:
    empty = ResourceSamples(interval=1.0, cpu_count=1)
    assert math.isnan(empty.cpu_peak)
    assert math.isnan(empty.cpu_mean)
    assert empty.rss_peak == 0
    assert empty.open_fds_peak is None
    assert empty.summary()["cpu_peak_percent"] is None


def test_samples_join_the_window_holding_most_of_their_interval() -> None:
    windows = _samples().by_window(1.0)
    # t=1.0 measured 0..1 -> window 0; t=2.0 measured 1..2 -> window 1; t=2.5 measured 2..2.5
    assert {t: s.t for t, s in windows.items()} == {0.0: 1.0, 1.0: 2.0, 2.0: 2.5}
    with pytest.raises(ValueError, match="positive"):
        _samples().by_window(0)


def test_samples_round_trip_through_json() -> None:
    samples = _samples()
    again = ResourceSamples.from_dict(json.loads(json.dumps(samples.to_dict())))
    assert again.summary() == samples.summary()
    assert math.isnan(again.samples[0].cpu_percent)
    assert again.samples[1:] == samples.samples[1:]
    assert replace(again.samples[0], cpu_percent=0.0, system_cpu_percent=0.0) == replace(
        samples.samples[0], cpu_percent=0.0, system_cpu_percent=0.0
    )


def test_psutil_reader_reads_this_process() -> None:
    reader = PsutilReader()
    first = reader.read()
    sum(i * i for i in range(200_000))  # some CPU
    second = reader.read()
    assert second.cpu_seconds >= first.cpu_seconds
    assert second.rss_bytes > 10_000_000
    assert second.threads >= 1
    assert second.system_total > second.system_busy > 0
    if os.name == "posix":
        assert second.open_fds is not None
        assert second.open_fds > 0
    assert reader.cpu_count >= 1


def _wait_for(reader: ScriptedReader, reads: int) -> None:
    deadline = time.monotonic() + 5
    while reader.reads < reads and time.monotonic() < deadline:
        time.sleep(0.001)
    assert reader.reads >= reads


def test_a_late_thread_samples_once_instead_of_catching_up() -> None:
    clock = FakeClock(start=5.0, moved_by="test")
    reader = ScriptedReader()
    sampler = ResourceSampler(1.0, clock=clock, reader=reader, cpu_count=1)
    sampler.start(clock.now_ns())
    clock.advance(3.5)  # ticks 1, 2 and 3 missed
    _wait_for(reader, 2)
    clock.advance(0.5)
    _wait_for(reader, 3)
    result = sampler.stop()
    assert [s.t for s in result.samples] == [0.0, 3.5, 4.0]
    assert result.missed == 2  # ticks 2 and 3: the sample at 3.5 stands for tick 1
    assert result.summary()["samples_missed"] == 2
    assert ResourceSamples.from_dict(json.loads(json.dumps(result.to_dict()))).missed == 2


class SlowReader(ScriptedReader):
    """A reading that takes ``cost`` seconds of the clock (a starved sampler thread)."""

    def __init__(self, clock: FakeClock, cost: float) -> None:
        super().__init__()
        self.clock = clock
        self.cost = cost

    def read(self) -> Reading:
        if self.reads:
            self.clock.advance(self.cost)
        return super().read()


def test_a_slow_sample_is_not_followed_at_once_by_another() -> None:
    clock = FakeClock(start=5.0, moved_by="test")
    reader = SlowReader(clock, cost=0.9)
    sampler = ResourceSampler(1.0, clock=clock, reader=reader, cpu_count=1)
    sampler.start(clock.now_ns())
    clock.advance(1.0)
    _wait_for(reader, 2)  # tick 1, read from 1.0 to 1.9
    clock.advance(0.1)  # 2.0: tick 2 is due, 0.1 s after the last sample
    time.sleep(0.02)
    assert reader.reads == 2  # a CPU figure over 0.1 s of 10 ms clock ticks would be noise
    clock.advance(1.0)  # 3.0: tick 3
    _wait_for(reader, 3)
    result = sampler.stop()
    assert [s.t for s in result.samples] == [0.0, pytest.approx(1.9), pytest.approx(3.9)]


class StarvedAfterReading(ScriptedReader):
    """The thread is starved right after some readings: the clock moves on before the sampler
    can read it, so the reading is older than its timestamp."""

    def __init__(self, clock: FakeClock, starve: dict[int, float], cpu_per_read: float) -> None:
        super().__init__(cpu_per_read=cpu_per_read)
        self.clock = clock
        self.starve = starve

    def read(self) -> Reading:
        n = self.reads
        reading = super().read()
        self.clock.advance(self.starve.get(n, 0.0))
        return reading


def test_a_reading_older_than_its_timestamp_gives_no_impossible_cpu() -> None:
    clock = FakeClock(start=5.0, moved_by="test")
    reader = StarvedAfterReading(clock, starve={1: 0.8}, cpu_per_read=0.5)
    sampler = ResourceSampler(1.0, clock=clock, reader=reader, cpu_count=1)
    sampler.start(clock.now_ns())
    clock.advance(0.1)
    sampler.sample()  # read at 0.1, then starved until 0.9
    clock.advance(0.1)
    sample = sampler.sample()  # read at 1.0: 0.5 s of CPU since a reading taken at 0.1
    # over the clock reads alone, 0.5 s of CPU in 0.1 s: 500% of the one core there is
    assert sample.cpu_percent == pytest.approx(0.5 / 0.9 * 100)
    sampler.stop()


def test_cpu_never_exceeds_every_core_busy() -> None:
    clock = FakeClock(start=5.0, moved_by="test")
    sampler = ResourceSampler(
        1.0, clock=clock, reader=ScriptedReader(cpu_per_read=9.0), cpu_count=2
    )
    sampler.start(clock.now_ns())
    clock.advance(1.0)
    assert sampler.sample().cpu_percent == 200.0
    sampler.stop()
