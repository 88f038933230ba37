"""HDR histograms folded with numpy, checked against hdrh itself and against numpy."""

from __future__ import annotations

import json
import math

import numpy as np
import numpy.typing as npt
import pytest
from hdrh.histogram import HdrHistogram

from pytest_loadtest._model import _stats
from pytest_loadtest._model._stats import LatencyHistogram

# The layout hdrh itself is given: nanoseconds from 1 µs to 1 h, 3 significant figures.
LOWEST_NS = 1_000
HIGHEST_NS = 3_600_000_000_000

QS = [0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100]


def _durations(seed: int, n: int = 20_000) -> npt.NDArray[np.int64]:
    """Latencies in ns spread over every HDR bucket magnitude: 0 ns .. ~1 h."""
    rng = np.random.default_rng(seed)
    parts = [
        rng.integers(0, 2_000, n // 10),  # below and around 1 µs
        rng.lognormal(mean=14.0, sigma=2.5, size=n).astype(np.int64),  # ~1 ms, long tail
        rng.integers(0, 3_600_000_000_000, n // 10),  # up to an hour
    ]
    values: npt.NDArray[np.int64] = np.concatenate(parts).astype(np.int64)
    rng.shuffle(values)
    return values


def _hdrh_reference(durations_ns: npt.NDArray[np.int64]) -> HdrHistogram:
    reference = HdrHistogram(LOWEST_NS, HIGHEST_NS, 3)
    for ns in durations_ns.tolist():
        assert reference.record_value(min(ns, HIGHEST_NS))
    return reference


def test_histogram_layout() -> None:
    assert (_stats.LOWEST_NS, _stats.HIGHEST_NS, _stats.SIGNIFICANT_FIGURES) == (
        LOWEST_NS,
        HIGHEST_NS,
        3,
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_percentiles_equal_hdrh(seed: int) -> None:
    durations = _durations(seed)
    hist = LatencyHistogram()
    hist.fold_ns(durations)
    reference = _hdrh_reference(durations)
    lo, hi = durations.min() / 1e6, durations.max() / 1e6
    # hdrh reports the highest value equivalent to the bucket; ours is clamped to exact min/max
    expected = [min(max(reference.get_value_at_percentile(q) / 1e6, lo), hi) for q in QS]
    assert hist.percentiles_ms(QS) == expected
    assert [hist.percentile_ms(q) for q in QS] == expected


def test_percentiles_are_within_hdr_precision_of_the_true_values() -> None:
    durations = np.random.default_rng(3).integers(1_000_000, 100_000_000, 5_000)
    hist = LatencyHistogram()
    hist.fold_ns(durations)
    for q in (50, 90, 99):
        exact = float(np.percentile(durations, q, method="inverted_cdf")) / 1e6
        assert hist.percentile_ms(q) == pytest.approx(exact, rel=2e-3)


def test_exact_moments_match_numpy() -> None:
    durations = _durations(4)
    hist = LatencyHistogram()
    hist.fold_ns(durations)
    as_float = durations.astype(np.float64)
    assert hist.count == durations.size
    assert hist.min_ns == int(durations.min())
    assert hist.max_ns == int(durations.max())
    assert hist.min_ms == durations.min() / 1e6
    assert hist.max_ms == durations.max() / 1e6
    assert hist.mean_ms == pytest.approx(float(as_float.mean()) / 1e6, rel=1e-12)
    assert hist.stdev_ms == pytest.approx(float(as_float.std()) / 1e6, rel=1e-9)


def test_folding_in_batches_equals_one_batch() -> None:
    durations = _durations(5)
    whole = LatencyHistogram()
    whole.fold_ns(durations)
    batched = LatencyHistogram()
    for chunk in np.array_split(durations, [1, 10, 5000, 5001, 17_000]):
        batched.fold_ns(chunk)
    batched.fold_ns(np.array([], dtype=np.int64))
    assert batched.count == whole.count
    assert batched.percentiles_ms(QS) == whole.percentiles_ms(QS)
    assert (batched.min_ns, batched.max_ns) == (whole.min_ns, whole.max_ns)
    assert batched.mean_ms == pytest.approx(whole.mean_ms, rel=1e-12)
    assert batched.stdev_ms == pytest.approx(whole.stdev_ms, rel=1e-9)


def test_add_merges_histograms() -> None:
    durations = _durations(6)
    whole = LatencyHistogram()
    whole.fold_ns(durations)
    left, right = LatencyHistogram(), LatencyHistogram()
    left.fold_ns(durations[:7000])
    right.fold_ns(durations[7000:])
    left.add(right)
    left.add(LatencyHistogram())  # adding an empty histogram changes nothing
    assert left.count == whole.count
    assert left.percentiles_ms(QS) == whole.percentiles_ms(QS)
    assert (left.min_ns, left.max_ns) == (whole.min_ns, whole.max_ns)
    assert left.mean_ms == pytest.approx(whole.mean_ms, rel=1e-12)
    assert left.stdev_ms == pytest.approx(whole.stdev_ms, rel=1e-9)
    assert right.count == durations.size - 7000  # the argument is left alone


def test_add_into_an_empty_histogram() -> None:
    source = LatencyHistogram()
    source.fold_ns(np.array([1_000_000, 3_000_000], dtype=np.int64))
    target = LatencyHistogram()
    target.add(source)
    assert target.count == 2
    assert target.mean_ms == 2.0
    assert target.stdev_ms == 1.0
    assert target.percentiles_ms([0.1, 100]) == pytest.approx([1.0, 3.0], rel=1e-3)
    assert target.percentile_ms(100) == 3.0  # clamped to the exact maximum


def test_add_leaves_the_source_independent() -> None:
    original = LatencyHistogram()
    original.fold_ns(np.array([1_000_000], dtype=np.int64))
    clone = LatencyHistogram()
    clone.add(original)
    clone.fold_ns(np.array([9_000_000], dtype=np.int64))
    assert original.count == 1
    assert original.max_ms == 1.0
    assert clone.count == 2
    assert clone.max_ms == 9.0


def test_to_dict_from_dict_round_trip_is_exact() -> None:
    hist = LatencyHistogram()
    hist.fold_ns(_durations(7))
    data = json.loads(json.dumps(hist.to_dict()))
    restored = LatencyHistogram.from_dict(data)
    assert restored.to_dict() == hist.to_dict()
    assert restored.count == hist.count
    assert restored.percentiles_ms(QS) == hist.percentiles_ms(QS)
    assert restored.distribution() == hist.distribution()
    assert (restored.min_ms, restored.max_ms) == (hist.min_ms, hist.max_ms)
    assert restored.mean_ms == hist.mean_ms
    assert restored.stdev_ms == hist.stdev_ms


def test_decoded_histogram_keeps_recording_and_merging() -> None:
    durations = _durations(8, 4000)
    whole = LatencyHistogram()
    whole.fold_ns(durations)
    first = LatencyHistogram()
    first.fold_ns(durations[:1000])
    restored = LatencyHistogram.from_dict(first.to_dict())
    restored.fold_ns(durations[1000:2000])
    other = LatencyHistogram()
    other.fold_ns(durations[2000:])
    restored.add(LatencyHistogram.from_dict(other.to_dict()))
    assert restored.count == whole.count
    assert restored.percentiles_ms(QS) == whole.percentiles_ms(QS)


def test_empty_histogram() -> None:
    empty = LatencyHistogram()
    assert empty.count == 0
    assert all(math.isnan(v) for v in empty.percentiles_ms([50, 99]))
    assert math.isnan(empty.percentile_ms(50))
    for value in (empty.mean_ms, empty.stdev_ms, empty.min_ms, empty.max_ms):
        assert math.isnan(value)
    restored = LatencyHistogram.from_dict(json.loads(json.dumps(empty.to_dict())))
    assert restored.count == 0
    assert math.isnan(restored.mean_ms)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"hdr": "", "count": 0, "min_ns": 0, "max_ns": 0, "mean_ns": 0.0},
        {"hdr": "not base64!", "count": 1, "min_ns": 0, "max_ns": 0, "mean_ns": 0.0, "m2": 0.0},
        {"hdr": "", "count": "many", "min_ns": 0, "max_ns": 0, "mean_ns": 0.0, "m2": 0.0},
        {"hdr": "", "count": 3, "min_ns": 0, "max_ns": 0, "mean_ns": 0.0, "m2": 0.0},
        {"hdr": None, "count": 0, "min_ns": 0, "max_ns": 0, "mean_ns": 0.0, "m2": 0.0},
    ],
)
def test_from_dict_of_corrupt_data_raises_value_error(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="histogram"):
        LatencyHistogram.from_dict(data)


def test_from_dict_rejects_a_count_that_disagrees_with_the_counts() -> None:
    hist = LatencyHistogram()
    hist.fold_ns(np.array([1_000, 2_000, 3_000], dtype=np.int64))
    data = hist.to_dict()
    data["count"] = 4
    with pytest.raises(ValueError, match="do not match"):
        LatencyHistogram.from_dict(data)


def test_from_dict_rejects_a_truncated_payload() -> None:
    hist = LatencyHistogram()
    hist.fold_ns(_durations(9, 1000))
    data = hist.to_dict()
    encoded = str(data["hdr"])
    data["hdr"] = encoded[: len(encoded) // 2]
    with pytest.raises(ValueError, match="histogram"):
        LatencyHistogram.from_dict(data)


def test_values_above_an_hour_are_clipped_but_max_stays_exact() -> None:
    two_hours_ns = 7_200_000_000_000
    hist = LatencyHistogram()
    hist.fold_ns(np.array([1_000_000, two_hours_ns, two_hours_ns], dtype=np.int64))
    assert hist.count == 3
    assert hist.max_ms == 7_200_000.0
    assert hist.mean_ms == pytest.approx((1.0 + 2 * 7_200_000.0) / 3, rel=1e-12)
    assert hist.percentile_ms(50) == pytest.approx(3_600_000.0, rel=1e-3)
    assert hist.percentile_ms(0.1) == pytest.approx(1.0, rel=1e-3)
    restored = LatencyHistogram.from_dict(json.loads(json.dumps(hist.to_dict())))
    assert restored.percentiles_ms(QS) == hist.percentiles_ms(QS)
    assert restored.max_ms == 7_200_000.0


def test_sub_microsecond_durations() -> None:
    hist = LatencyHistogram()
    hist.fold_ns(np.array([0, 100, 400, 900], dtype=np.int64))
    assert hist.min_ms == 0.0
    assert hist.max_ms == 0.0009
    # 512 ns resolution below 1 ms; percentiles never leave [min, max]
    assert all(0.0 <= v <= 0.0009 for v in hist.percentiles_ms(QS))
    assert hist.percentile_ms(100) == 0.0009


def test_distribution_ladder() -> None:
    hist = LatencyHistogram()
    hist.fold_ns(np.arange(1_000_000, 101_000_000, 1_000_000, dtype=np.int64))  # 1..100 ms
    ladder = hist.distribution()
    assert [q for q, _ in ladder][:4] == [0, 10, 25, 50]
    assert ladder[-1] == (100.0, 100.0)
    assert [ms for _, ms in ladder] == sorted(ms for _, ms in ladder)
    assert dict(ladder)[50] == pytest.approx(50.0, rel=1e-3)
