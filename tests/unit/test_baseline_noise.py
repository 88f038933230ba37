"""Sampling-noise tests: same distribution -> within noise, a real change -> significant."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_loadtest._baseline._checks import REGRESSION_METRICS
from pytest_loadtest._baseline._entry import Entry, EntryKey, Ranks
from pytest_loadtest._baseline._noise import judge, min_calls_for, quantile_interval

from helpers.baseline_samples import MS, histogram, latencies_ns

KEY = EntryKey("t.py::test_x", "x")
REPORTED = REGRESSION_METRICS  # every metric a check may name


def _entry(
    seed: int,
    n: int = 50_000,
    *,
    slower: float = 1.0,
    errors: int = 0,
    seconds: int = 10,
    windows: bool = True,
) -> Entry:
    values = latencies_ns(seed, n, 2.0 * slower)
    rng = np.random.default_rng(seed + 7)
    split: list[int] = rng.multinomial(n, [1 / seconds] * seconds).tolist() if windows else []
    return Entry(
        KEY,
        "total",
        histogram(values),
        errors,
        float(seconds),
        window_calls=tuple(int(c) for c in split),
    )


@pytest.mark.parametrize("metric", REPORTED)
@pytest.mark.parametrize("seeds", [(1, 2), (3, 4), (5, 6)])
def test_same_distribution_is_within_noise(metric: str, seeds: tuple[int, int]) -> None:
    base, cur = _entry(seeds[0], errors=250), _entry(seeds[1], errors=265)
    noise = judge(metric, base, cur)
    assert noise.verdict == "within noise", noise.detail
    assert noise.significant is False


@pytest.mark.parametrize("metric", ["p1", "p5", "p25", "p50", "p95", "p99", "p99.9", "mean", "max"])
def test_twice_as_slow_is_significant(metric: str) -> None:
    noise = judge(metric, _entry(1), _entry(2, slower=2.0))
    assert noise.verdict == "significant", noise.detail
    assert noise.significant is True


def test_a_small_real_shift_is_seen_with_enough_calls() -> None:
    # 3% slower at the median: beyond noise with 200k calls a run, not with 2k
    assert judge("p50", _entry(1, 200_000), _entry(2, 200_000, slower=1.03)).significant
    assert not judge("p50", _entry(1, 2_000), _entry(2, 2_000, slower=1.03)).significant


def test_throughput_drop_is_significant() -> None:
    base = _entry(1, 50_000)
    cur = _entry(2, 40_000)  # same latencies, 20% fewer calls in the same 10 s
    noise = judge("throughput", base, cur)
    assert noise.significant, noise.detail
    assert "over 10 windows" in noise.detail


def test_throughput_without_windows_uses_poisson() -> None:
    base, cur = _entry(1, windows=False), _entry(2, 49_800, windows=False)
    noise = judge("throughput", base, cur)
    assert noise.significant is False
    assert "Poisson" in noise.detail


def test_error_rate_two_proportions() -> None:
    base = _entry(1, errors=50)  # 0.1%
    assert judge("error_rate", base, _entry(2, errors=60)).significant is False
    assert judge("error_rate", base, _entry(2, errors=500)).significant is True
    none = _entry(3)
    assert judge("error_rate", none, _entry(4)).verdict == "within noise"


def test_max_exceedance() -> None:
    base = _entry(1)
    cur = _entry(2)
    # a single extreme call above the baseline's max is what half of alike pairs show
    cur.histogram.fold_ns(np.array([base.histogram.max_ns * 3], dtype=np.int64))
    noise = judge("max", base, cur)
    assert noise.significant is False, noise.detail
    for _ in range(9):
        cur.histogram.fold_ns(np.array([base.histogram.max_ns * 3], dtype=np.int64))
    cur._ranks = None
    noise = judge("max", base, cur)
    assert noise.significant is True
    assert "10 current calls above the baseline's max" in noise.detail


@pytest.mark.parametrize(
    ("metric", "needed"),
    [
        ("p1", 1_000),
        ("p5", 200),
        ("p25", 40),
        ("p50", 20),
        ("p95", 200),
        ("p99", 1_000),
        ("p99.9", 10_000),
    ],
)
def test_low_sample(metric: str, needed: int) -> None:
    assert min_calls_for(metric) == needed
    enough, short = _entry(1, needed), _entry(2, needed - 1)
    noise = judge(metric, enough, short)
    assert noise.verdict == "low sample"
    assert noise.significant is None
    assert f"needs at least {needed:,} calls in each run" in noise.detail
    assert judge(metric, enough, _entry(3, needed)).verdict != "low sample"


def test_min_calls_raises_every_floor() -> None:
    assert min_calls_for("throughput", 500) == 500
    assert min_calls_for("p99", 500) == 1_000
    noise = judge("mean", _entry(1, 400), _entry(2, 400), min_calls=500)
    assert noise.verdict == "low sample"


def test_quantile_interval_covers_the_true_quantile() -> None:
    # over many samples, a 95% interval misses the true median about 5% of the time
    true_median = 2.0
    misses = 0
    for seed in range(100):
        low, high = quantile_interval(_entry(seed, 2_000, windows=False), 50.0, 1.96)
        misses += not low <= true_median <= high
    assert misses <= 12  # P(more than 12 of 100 | 5%) is 0.2%


def test_a_low_quantile_interval_covers_the_true_quantile() -> None:
    # the fastest calls' interval: of 2,000 calls, the 5th percentile rests on 100 below it
    misses = 0
    for seed in range(100):
        entry = _entry(seed, 2_000, windows=False)
        true_p5 = 2.0 * math.exp(-1.6448536 * 0.5)  # latencies_ns: lognormal, sigma 0.5
        low, high = quantile_interval(entry, 5.0, 1.96)
        assert high / low < 1.2  # narrow: about ±4% from 100 calls below it, and HDR's 0.1%
        misses += not low <= true_p5 <= high
    assert misses <= 12  # P(more than 12 of 100 | 5%) is 0.2%


def test_ranks_read_the_histogram_in_order() -> None:
    values = np.array([1, 2, 3, 10, 10, 10, 100], dtype=np.int64) * MS
    ranks = Ranks(histogram(values))
    assert ranks.value_at(1) == pytest.approx(1.0, rel=1e-3)
    assert ranks.bucket_at(4)[0] <= 10.0 <= ranks.bucket_at(6)[1]
    assert ranks.value_at(7) == 100.0
    assert ranks.count_above(10.5) == 1
    assert ranks.count_above(3.5) == 4
    assert ranks.count_below(2.5) == 2
    assert ranks.count_below(1000.0) == 7
    empty = Ranks(histogram(np.zeros(0, dtype=np.int64)))
    assert empty.count_above(1.0) == 0
    assert empty.count_below(1.0) == 0


def test_bad_confidence() -> None:
    with pytest.raises(ValueError, match="confidence"):
        judge("p50", _entry(1), _entry(2), confidence=1.0)


def test_identical_runs() -> None:
    entry = _entry(1)
    for metric in REPORTED:
        assert judge(metric, entry, entry).verdict == "within noise"
    assert math.isfinite(entry.value("p99.9"))
