"""RSS trend fitting, t quantiles, growth-rate parsing and the tracemalloc tracker."""

from __future__ import annotations

import json
import threading
import tracemalloc

import numpy as np
import pytest

from pytest_loadtest._model._tdist import t_quantile
from pytest_loadtest._model._units import parse_growth_rate
from pytest_loadtest._monitor._leaks import AllocationTracker, LeakEstimate, rss_trend, soak_trend
from pytest_loadtest._monitor._resources import ResourceSample, ResourceSamples

MB = 1e6


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        # reference values from statistical tables (scipy.stats.t.ppf)
        (0.975, 1, 12.706204736),
        (0.975, 2, 4.302652730),
        (0.975, 10, 2.228138852),
        (0.975, 30, 2.042272456),
        (0.95, 5, 2.015048373),
        (0.995, 20, 2.845339707),
        (0.975, 1000, 1.962339090),
        (0.5, 7, 0.0),
        (0.025, 10, -2.228138852),
    ],
)
def test_t_quantile_matches_tables(p: float, df: float, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("p", "df"), [(0.0, 3), (1.0, 3), (0.5, 0)])
def test_t_quantile_rejects_impossible_arguments(p: float, df: float) -> None:
    with pytest.raises(ValueError, match="t quantile"):
        t_quantile(p, df)


@pytest.mark.parametrize(
    ("text", "mb_per_hour"),
    [
        ("50MB/h", 50.0),
        ("50 MB / hour", 50.0),
        ("1GB/day", 1000 / 24),
        ("200KB/min", 12.0),
        ("1MiB/s", 1.048576 * 3600),
        ("0.5mb/hr", 0.5),
        (20, 20.0),
        (2.5, 2.5),
    ],
)
def test_parse_growth_rate(text: object, mb_per_hour: float) -> None:
    assert parse_growth_rate(text) == pytest.approx(mb_per_hour)


@pytest.mark.parametrize("text", ["50MB", "fast", "50 parsecs/h", "5MB/fortnight", -1, True])
def test_parse_growth_rate_rejects(text: object) -> None:
    with pytest.raises(ValueError, match="growth rate"):
        parse_growth_rate(text)


def test_trend_of_a_straight_line_is_exact() -> None:
    times = [float(t) for t in range(10)]
    rss = [100 * MB + 2 * MB * t for t in times]  # 2 MB/s = 7200 MB/h
    trend = rss_trend(times, rss)
    assert trend is not None
    assert trend.slope_mb_per_hour == pytest.approx(7200)
    assert trend.low_mb_per_hour == pytest.approx(7200)  # no residuals, no uncertainty
    assert trend.growth_mb == pytest.approx(18)
    assert trend.start_mb == pytest.approx(100)
    assert trend.samples == 10


def test_confidence_interval_covers_the_true_slope_about_as_often_as_it_says() -> None:
    rng = np.random.default_rng(7)
    times = np.arange(30, dtype=float)
    covered = 0
    for _ in range(400):
        rss = 50 * MB + 0.1 * MB * times + rng.normal(0, 1 * MB, times.size)
        trend = rss_trend(list(times), list(rss))
        assert trend is not None
        covered += trend.low_mb_per_hour <= 360 <= trend.high_mb_per_hour
    assert 0.92 <= covered / 400 <= 0.98


def test_warmup_samples_are_left_out_of_the_fit() -> None:
    times = [float(t) for t in range(20)]
    # fills a cache for 5 s, then flat
    rss = [100 * MB + 10 * MB * min(t, 5) for t in times]
    with_warmup = rss_trend(times, rss, warmup_s=5)
    without = rss_trend(times, rss)
    assert with_warmup is not None
    assert without is not None
    assert with_warmup.slope_mb_per_hour == pytest.approx(0, abs=1e-6)
    assert without.slope_mb_per_hour > 1000


def test_too_few_samples_give_no_trend() -> None:
    assert rss_trend([0.0, 1.0], [1.0, 2.0]) is None
    assert rss_trend([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0], warmup_s=2) is None
    assert rss_trend([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) is None  # no spread in time
    with pytest.raises(ValueError, match="differ in length"):
        rss_trend([0.0], [1.0, 2.0])


def _estimate(low: float, growth: float) -> LeakEstimate:
    return LeakEstimate(
        slope_mb_per_hour=low + 10,
        low_mb_per_hour=low,
        high_mb_per_hour=low + 20,
        confidence=0.95,
        samples=10,
        span_s=60.0,
        growth_mb=growth,
        start_mb=100.0,
    )


def test_exceeds_needs_the_whole_interval_above_the_limit_and_enough_growth() -> None:
    assert _estimate(low=60, growth=10).exceeds(50, min_growth_mb=5)
    assert not _estimate(low=40, growth=10).exceeds(50, min_growth_mb=5)
    assert not _estimate(low=60, growth=1).exceeds(50, min_growth_mb=5)


def test_estimate_round_trips_and_describes_itself() -> None:
    estimate = _estimate(low=60, growth=10)
    assert LeakEstimate.from_dict(json.loads(json.dumps(estimate.to_dict()))) == estimate
    assert estimate.describe() == "+70.0 MB/h (95% CI 60.0..80.0, 10 samples over 60.0 s)"


def test_allocation_tracker_points_at_the_growing_line() -> None:
    assert not tracemalloc.is_tracing()
    tracker = AllocationTracker(top=3, min_bytes=100_000)
    tracker.start()
    kept = [bytes(1000) for _ in range(1000)]  # the growing site: this line
    sites = tracker.stop()
    assert not tracemalloc.is_tracing()  # it started tracing, so it stopped it
    assert sites, "no growing allocation site found"
    assert sites[0].file == __file__
    assert sites[0].size_diff_bytes >= 1_000_000
    assert sites[0].where.endswith(f":{sites[0].line}")
    assert len(kept) == 1000


def test_allocation_tracker_leaves_someone_elses_tracing_running() -> None:
    tracemalloc.start()
    try:
        tracker = AllocationTracker()
        tracker.start()
        tracker.stop()
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


def test_allocation_tracker_stop_without_start() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        AllocationTracker().stop()


class _GatedClock:
    """A clock whose sleep lasts until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def now_ns(self) -> int:
        return 0

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        while not (self.gate.wait(0.001) or stop.is_set()):
            pass


def test_allocations_of_the_warmup_are_not_reported() -> None:
    clock = _GatedClock()
    tracker = AllocationTracker(warmup_s=5.0, min_bytes=100_000, clock=clock)
    tracker.start()
    cache = [bytes(1000) for _ in range(1000)]  # warm-up: a cache filled once
    clock.gate.set()
    assert tracker.warmed_up.wait(5.0)
    growth = [bytearray(1000) for _ in range(1000)]  # after the warm-up: reported
    sites = tracker.stop()
    lines = {site.line for site in sites if site.file == __file__}
    assert len(lines) == 1, sites
    assert sites[0].size_diff_bytes >= 1_000_000
    assert len(cache) == len(growth)


def test_a_run_shorter_than_the_warmup_keeps_the_first_baseline() -> None:
    clock = _GatedClock()  # the gate never opens
    tracker = AllocationTracker(warmup_s=5.0, min_bytes=100_000, clock=clock)
    tracker.start()
    kept = [bytes(1000) for _ in range(1000)]
    sites = tracker.stop()
    assert not tracker.warmed_up.is_set()
    assert sites
    assert sites[0].file == __file__
    assert len(kept) == 1000


def test_soak_trend_skips_at_least_a_tenth_of_the_run() -> None:
    samples = tuple(
        ResourceSample(
            float(t), 1.0, 50.0, 10.0, int(100 * MB + (5 * MB if t < 10 else 0)), 1, 1, 0, 0
        )
        for t in range(100)
    )  # a drop after 10 s (a cache trimmed), then flat
    resources = ResourceSamples(interval=1.0, cpu_count=1, samples=samples)
    trend = soak_trend(resources, duration=100.0)
    assert trend is not None
    assert trend.samples == 90
    assert trend.slope_mb_per_hour == pytest.approx(0, abs=1e-6)
    early = soak_trend(resources, duration=100.0, warmup_fraction=0.0)
    assert early is not None
    assert early.slope_mb_per_hour < 0
