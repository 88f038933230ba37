"""The ``--load-compare-fail`` parser and what each check computes."""

from __future__ import annotations

import math

import pytest

from pytest_loadtest._baseline._checks import CheckSpecError, RegressionCheck, parse_checks


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("p95:10%", [RegressionCheck("p95", 0.10, relative=True)]),
        ("p95:+10%", [RegressionCheck("p95", 0.10, relative=True)]),
        ("P99.9:2.5%", [RegressionCheck("p99.9", 0.025, relative=True)]),
        ("p95:+20ms", [RegressionCheck("p95", 20.0, relative=False)]),
        ("p50:250us", [RegressionCheck("p50", 0.25, relative=False)]),
        ("p50:250µs", [RegressionCheck("p50", 0.25, relative=False)]),
        ("max:+1s", [RegressionCheck("max", 1000.0, relative=False)]),
        ("mean:0%", [RegressionCheck("mean", 0.0, relative=True)]),
        ("p75:.5%", [RegressionCheck("p75", 0.005, relative=True)]),
        ("throughput:-5%", [RegressionCheck("throughput", 0.05, relative=True)]),
        ("throughput:5%", [RegressionCheck("throughput", 0.05, relative=True)]),
        ("throughput:-100/s", [RegressionCheck("throughput", 100.0, relative=False)]),
        ("error_rate:+0.5%", [RegressionCheck("error_rate", 0.005, relative=False)]),
        ("error_rate:1%", [RegressionCheck("error_rate", 0.01, relative=False)]),
        (
            " p95 : 10% , p99:15%,throughput:-5%,error_rate:+0.5% ",
            [
                RegressionCheck("p95", 0.10, relative=True),
                RegressionCheck("p99", 0.15, relative=True),
                RegressionCheck("throughput", 0.05, relative=True),
                RegressionCheck("error_rate", 0.005, relative=False),
            ],
        ),
        (
            "p95:10%,p95:+5ms",
            [RegressionCheck("p95", 0.1, True), RegressionCheck("p95", 5.0, False)],
        ),
    ],
)
def test_good_specs(spec: str, expected: list[RegressionCheck]) -> None:
    assert list(parse_checks(spec)) == expected


def test_several_option_values_are_joined() -> None:
    assert [str(c) for c in parse_checks(["p95:10%", "throughput:-5%"])] == [
        "p95:+10%",
        "throughput:-5%",
    ]


@pytest.mark.parametrize(
    ("spec", "part", "reason"),
    [
        ("p96:10%", "p96:10%", "unknown metric 'p96' (allowed: p1, p5, p10, p25, p50, p75"),
        ("median:10%", "median:10%", "unknown metric 'median'"),
        ("p95", "p95", "expected METRIC:THRESHOLD"),
        ("p95:", "p95:", "is not a number with a unit"),
        ("p95:ten%", "p95:ten%", "is not a number with a unit"),
        ("p95:10", "p95:10", "give p95 as a percentage (10%) or a duration (+20ms)"),
        ("p95:-10%", "p95:-10%", "a p95 threshold is an increase: write p95:+10%"),
        ("p95:-2ms", "p95:-2ms", "write p95:+2ms"),
        ("p95:10/s", "p95:10/s", "give p95 as a percentage"),
        ("throughput:+5%", "throughput:+5%", "a throughput threshold is a drop"),
        ("throughput:-5ms", "throughput:-5ms", "as a percentage (-5%) or calls/s (-100/s)"),
        ("throughput:5", "throughput:5", "as a percentage (-5%) or calls/s"),
        ("error_rate:0.005", "error_rate:0.005", "in percentage points: error_rate:+0.5%"),
        ("error_rate:-1%", "error_rate:-1%", "an increase"),
        ("p95:10%,", "p95:10%,", "empty check between commas"),
        ("p95:10%,,p99:1%", "p95:10%,,p99:1%", "empty check between commas"),
        ("p95:10%,p95:20%", "p95:20%", "p95 is given more than once"),
        ("p95:1e3%", "p95:1e3%", "is not a number with a unit"),
    ],
)
def test_bad_specs_name_the_bad_part(spec: str, part: str, reason: str) -> None:
    with pytest.raises(CheckSpecError) as info:
        parse_checks(spec)
    assert isinstance(info.value, ValueError)
    assert info.value.part == part
    assert reason in info.value.reason
    assert f"bad regression check {part!r}" in str(info.value)


@pytest.mark.parametrize(
    ("spec", "baseline", "current", "exceeded"),
    [
        ("p95:10%", 100.0, 110.0, False),  # exactly at the threshold passes, as pytest-benchmark
        ("p95:10%", 100.0, 110.1, True),
        ("p95:10%", 100.0, 50.0, False),  # faster is never a regression
        ("p95:0%", 100.0, 100.01, True),
        ("p95:+20ms", 100.0, 119.0, False),
        ("p95:+20ms", 100.0, 121.0, True),
        ("throughput:-5%", 1000.0, 951.0, False),
        ("throughput:-5%", 1000.0, 949.0, True),
        ("throughput:-5%", 1000.0, 2000.0, False),
        ("throughput:-100/s", 1000.0, 899.0, True),
        ("error_rate:+0.5%", 0.010, 0.0149, False),
        ("error_rate:+0.5%", 0.010, 0.0151, True),
        ("error_rate:+0.5%", 0.0, 0.006, True),
        ("p95:10%", 0.0, 0.0, False),
        ("p95:10%", 0.0, 1.0, True),
        ("p95:10%", math.nan, 1.0, False),
    ],
)
def test_exceeded(spec: str, baseline: float, current: float, exceeded: bool) -> None:
    (check,) = parse_checks(spec)
    assert check.exceeded(baseline, current) is exceeded


@pytest.mark.parametrize(
    ("spec", "baseline", "current", "threshold", "change"),
    [
        ("p95:10%", 200.0, 224.0, "+10%", "+12.0%"),
        ("p95:+20ms", 200.0, 224.0, "+20.0ms", "+24.0ms"),
        ("p95:+20ms", 224.0, 200.0, "+20.0ms", "-24.0ms"),
        ("throughput:-5%", 200.0, 180.0, "-5%", "-10.0%"),
        ("throughput:-100/s", 2000.0, 1800.0, "-100/s", "-200.0/s"),
        ("error_rate:+0.5%", 0.01, 0.0175, "+0.5 points", "+0.75 points"),
    ],
)
def test_texts(spec: str, baseline: float, current: float, threshold: str, change: str) -> None:
    (check,) = parse_checks(spec)
    assert check.threshold_text() == threshold
    assert check.change_text(baseline, current) == change


def test_str_round_trips() -> None:
    spec = "p95:+10%,p99.9:+250.0ms,throughput:-5%,error_rate:+0.5%"
    checks = parse_checks(spec)
    assert ",".join(str(c) for c in checks) == spec
    assert parse_checks(",".join(str(c) for c in checks)) == checks
