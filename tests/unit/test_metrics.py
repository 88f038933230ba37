"""The metrics registry: names, readers, directions, parsers and formats in one table."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from pytest_loadtest._model._metrics import (
    LATENCY_METRICS,
    METRICS,
    NS,
    metric,
    none_if_nan,
)
from pytest_loadtest._model._timeline import TimelineRow


@dataclass
class FakeStats:
    total: int = 1_000
    error_rate: float = 0.02
    throughput: float = 250.0
    mean: float = 12.0
    max: float = 90.0

    def percentile(self, q: float) -> float:
        return q  # the percentile asked for, to see which one was read


def test_names_in_display_order() -> None:
    assert list(METRICS) == [
        "p1",
        "p5",
        "p10",
        "p25",
        "p50",
        "p75",
        "p90",
        "p95",
        "p99",
        "p99.9",
        "max",
        "mean",
        "error_rate",
        "throughput",
        "throughput_min",
        "memory_growth",
    ]
    assert LATENCY_METRICS == {
        "p1": 1.0,
        "p5": 5.0,
        "p10": 10.0,
        "p25": 25.0,
        "p50": 50.0,
        "p75": 75.0,
        "p90": 90.0,
        "p95": 95.0,
        "p99": 99.0,
        "p99.9": 99.9,
        "max": None,
        "mean": None,
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("p95", 95.0),
        ("p99.9", 99.9),
        ("max", 90.0),
        ("mean", 12.0),
        ("error_rate", 0.02),
        ("throughput", 250.0),
        ("throughput_min", 250.0),
    ],
)
def test_read(name: str, expected: float) -> None:
    assert METRICS[name].read(FakeStats()) == expected


def test_memory_growth_is_nan_without_a_soak_trend() -> None:
    assert math.isnan(METRICS["memory_growth"].read(FakeStats()))


def test_only_throughput_is_better_higher() -> None:
    assert {m.name for m in METRICS.values() if m.higher_is_better} == {
        "throughput",
        "throughput_min",
    }


@pytest.mark.parametrize(
    ("name", "value", "long", "short"),
    [
        ("p95", 12.34, "12.3ms", "12.3ms"),
        ("p95", math.nan, "-", "-"),
        ("error_rate", 0.015, "1.50%", "1.50%"),
        ("throughput", 1234.0, "1,234 calls/s", "1,234/s"),
        ("memory_growth", 12.34, "12.3 MB/h", "12.3 MB/h"),
    ],
)
def test_format(name: str, value: float, long: str, short: str) -> None:
    assert METRICS[name].format(value) == long
    assert METRICS[name].format_short(value) == short


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("p95", "250ms", 250.0),
        ("error_rate", "1%", 0.01),
        ("throughput_min", "100/s", 100.0),
        ("memory_growth", "1GB/day", 1000 / 24),
    ],
)
def test_parse(name: str, raw: object, expected: float) -> None:
    assert METRICS[name].parse(raw) == pytest.approx(expected)


def test_per_window() -> None:
    row = TimelineRow(t=0.0, calls=50, errors=5, users=2, p50=1.0, p95=2.0, p99=3.0, max=4.0)
    readable = {
        name: m.per_window(row, 2.0) for name, m in METRICS.items() if m.per_window is not None
    }
    assert readable == {
        "p50": 1.0,
        "p95": 2.0,
        "p99": 3.0,
        "max": 4.0,
        "error_rate": 0.1,
        "throughput": 25.0,
        "throughput_min": 25.0,
    }
    empty = TimelineRow(t=0.0, calls=0, errors=0, users=2, p50=1.0, p95=2.0, p99=3.0, max=4.0)
    per_window = METRICS["error_rate"].per_window
    assert per_window is not None
    assert math.isnan(per_window(empty, 1.0))


def test_titles() -> None:
    assert [METRICS[n].title for n in ("p95", "throughput", "error_rate")] == [
        "p95",
        "calls/s",
        "err%",
    ]


def test_unknown_metric_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"unknown metric 'p96' \(known: p1, p5, p10, p25, p50, p75"):
        metric("p96")


def test_none_if_nan_and_ns() -> None:
    assert none_if_nan(math.nan) is None
    assert none_if_nan(None) is None
    assert none_if_nan(1.5) == 1.5
    assert NS == 1_000_000_000
