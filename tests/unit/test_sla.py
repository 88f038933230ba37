"""SLA parsing and evaluation against a small stand-in for measured statistics."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from pytest_loadtest._model._sla import (
    SLA,
    Breach,
    Check,
    MeasuredStats,
    min_calls_for_percentile,
    parse_sla,
)


@dataclass
class FakeStats:
    """Implements :class:`MeasuredStats` with fixed figures."""

    total: int = 10_000
    error_rate: float = 0.0
    throughput: float = 100.0
    mean: float = 10.0
    max: float = 50.0
    percentiles: dict[float, float] = field(default_factory=dict)

    def percentile(self, q: float) -> float:
        return self.percentiles.get(q, 10.0)


def _evaluate(
    spec: Mapping[str, object],
    overall: FakeStats,
    operations: Mapping[str, MeasuredStats] | None = None,
) -> list[Breach]:
    return parse_sla(spec).evaluate(overall, operations or {})


def test_parse_every_key() -> None:
    sla = parse_sla(
        {
            "p50": 10,
            "p75": "20ms",
            "p90": "0.03s",
            "p95": "40ms",
            "p99": "50000us",
            "p99.9": 60,
            "max": "1s",
            "mean": 5.5,
            "error_rate": "1%",
            "throughput_min": "100/s",
            "operations": {"create": {"p95": "300ms", "error_rate": 0.05}},
        }
    )
    by_key = {(c.operation, c.metric): c.threshold for c in sla.checks}
    assert by_key == pytest.approx(
        {
            (None, "p50"): 10.0,
            (None, "p75"): 20.0,
            (None, "p90"): 30.0,
            (None, "p95"): 40.0,
            (None, "p99"): 50.0,
            (None, "p99.9"): 60.0,
            (None, "max"): 1000.0,
            (None, "mean"): 5.5,
            (None, "error_rate"): 0.01,
            (None, "throughput_min"): 100.0,
            ("create", "p95"): 300.0,
            ("create", "error_rate"): 0.05,
        }
    )
    assert sla.operations() == {"create"}
    # overall targets come before per-operation ones
    assert [c.operation for c in sla.checks][-2:] == ["create", "create"]


def test_parse_sla_passes_an_sla_through_and_round_trips_to_dict() -> None:
    sla = parse_sla({"p95": "200ms", "operations": {"a": {"max": "1s"}}})
    assert parse_sla(sla) is sla
    assert sla.to_dict() == {"p95": 200.0, "operations": {"a": {"max": 1000.0}}}
    assert parse_sla(sla.to_dict()) == sla


@pytest.mark.parametrize(
    ("spec", "where"),
    [({"p96": 1}, "'p96' (allowed"), ({"operations": {"a": {"P95": 1}}}, "'P95' of operation 'a'")],
)
def test_unknown_key_lists_allowed_keys(spec: Mapping[str, object], where: str) -> None:
    with pytest.raises(ValueError, match="unknown SLA key") as info:
        parse_sla(spec)
    message = str(info.value)
    assert where in message
    assert (
        "(allowed: p50, p75, p90, p95, p99, p99.9, max, mean, error_rate, throughput_min, "
        "memory_growth, operations)" in message
    )


def test_operations_cannot_nest() -> None:
    with pytest.raises(ValueError, match="unknown SLA key 'operations' of operation 'a'"):
        parse_sla({"operations": {"a": {"operations": {}}}})


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"p95": "slow"}, "SLA p95: 'slow' is not a latency"),
        ({"max": -1}, "SLA max: -1 is negative"),
        ({"error_rate": "150%"}, "SLA error_rate: '150%' is outside 0..1"),
        ({"error_rate": -0.1}, "SLA error_rate: -0.1 is outside 0..1"),
        ({"throughput_min": 0}, "SLA throughput_min: 0 must be greater than 0"),
        ({"operations": {"a": {"p99": "1m"}}}, "SLA p99 of operation 'a': '1m' is not a latency"),
        ({"operations": ["a"]}, "'operations' must map operation names to targets"),
        ({"operations": {"a": 5}}, "targets of operation 'a' must be a mapping, got 5"),
        ([("p95", 1)], "SLA must be a mapping"),
        (None, "SLA must be a mapping"),
    ],
)
def test_bad_values(spec: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        parse_sla(spec)


def test_no_breach_when_every_target_is_met() -> None:
    stats = FakeStats(percentiles={95.0: 150.0}, error_rate=0.005, throughput=120.0)
    spec = {"p95": 200, "error_rate": "1%", "throughput_min": 100, "max": 50, "mean": 10}
    assert _evaluate(spec, stats) == []


def test_latency_breach_message_names_metric_measured_and_threshold() -> None:
    (breach,) = _evaluate({"p95": 200}, FakeStats(percentiles={95.0: 250.0}))
    assert (breach.metric, breach.operation) == ("p95", None)
    assert (breach.measured, breach.threshold) == (250.0, 200.0)
    assert breach.message == "p95 of all operations was 250.0ms, above the limit 200.0ms"
    assert not breach.low_sample


def test_operation_breach_names_the_operation() -> None:
    ops = {"create": FakeStats(max=1500.0), "read": FakeStats(max=2000.0)}
    (breach,) = _evaluate({"operations": {"create": {"max": "1s"}}}, FakeStats(), ops)
    assert breach.operation == "create"
    assert breach.message == "max of operation create was 1.50s, above the limit 1.00s"


@pytest.mark.parametrize(
    ("metric", "stats", "text"),
    [
        ("mean", FakeStats(mean=2.5), "mean of all operations was 2.50ms, above the limit 1.00ms"),
        ("max", FakeStats(max=0.5), None),
        ("p50", FakeStats(percentiles={50.0: 1.5}), "p50 of all operations was 1.50ms"),
        ("p99.9", FakeStats(percentiles={99.9: 0.9}), None),
    ],
)
def test_each_latency_metric_reads_its_own_figure(
    metric: str, stats: FakeStats, text: str | None
) -> None:
    breaches = _evaluate({metric: 1}, stats)
    if text is None:
        assert breaches == []
    else:
        assert len(breaches) == 1
        assert breaches[0].message.startswith(text)


def test_error_rate_is_a_maximum() -> None:
    assert _evaluate({"error_rate": "1%"}, FakeStats(error_rate=0.01)) == []
    (breach,) = _evaluate({"error_rate": "1%"}, FakeStats(error_rate=0.025))
    assert breach.message == "error_rate of all operations was 2.50%, above the limit 1.00%"


def test_throughput_min_is_a_minimum() -> None:
    assert _evaluate({"throughput_min": 100}, FakeStats(throughput=100.0)) == []
    assert _evaluate({"throughput_min": 100}, FakeStats(throughput=5000.0)) == []
    (breach,) = _evaluate({"throughput_min": 100}, FakeStats(throughput=42.0))
    assert (breach.measured, breach.threshold) == (42.0, 100.0)
    assert breach.message == (
        "throughput_min of all operations was 42.0 calls/s, below the minimum 100 calls/s"
    )


def test_operation_named_in_sla_that_never_ran_is_a_breach() -> None:
    ops = {"read": FakeStats(), "list": FakeStats()}
    (breach,) = _evaluate({"operations": {"create": {"p95": 100}}}, FakeStats(), ops)
    assert breach.operation == "create"
    assert math.isnan(breach.measured)
    assert breach.message == (
        "operation 'create' named in the SLA never ran (operations: list, read)"
    )


def test_operation_never_ran_with_no_operations_at_all() -> None:
    (breach,) = _evaluate({"operations": {"create": {"max": 1}}}, FakeStats(), {})
    assert breach.message.endswith("(operations: none)")


def test_overall_breaches_come_first() -> None:
    spec = {"operations": {"a": {"max": 1}}, "p95": 1}
    breaches = _evaluate(spec, FakeStats(percentiles={95.0: 2.0}), {"a": FakeStats(max=2.0)})
    assert [b.operation for b in breaches] == [None, "a"]


@pytest.mark.parametrize(
    ("percentile", "calls"),
    [
        (50, 20),
        (75, 40),
        (90, 100),
        (95, 200),
        (99, 1000),
        (99.9, 10_000),
        (25, 40),
        (5, 200),
        (1, 1000),
    ],
)
def test_min_calls_for_percentile(percentile: float, calls: int) -> None:
    assert min_calls_for_percentile(percentile) == calls


def test_p999_is_not_low_sample_at_ten_thousand_calls() -> None:
    # 10,000 calls leave exactly TAIL_CALLS (10) calls above p99.9, as 1,000 do above p99.
    stats = FakeStats(total=10_000, percentiles={99.9: 2.0})
    (breach,) = _evaluate({"p99.9": 1}, stats)
    assert not breach.low_sample


def test_the_sla_takes_no_percentile_below_the_median() -> None:
    # the fastest calls are for regression checks; a target on them is refused like any typo
    with pytest.raises(ValueError, match="unknown SLA key 'p5'"):
        parse_sla({"p5": "1ms"})


def test_min_calls_for_the_maximum_is_one() -> None:
    assert min_calls_for_percentile(100) == 1


def test_low_sample_flag_and_message() -> None:
    stats = FakeStats(total=999, percentiles={99.0: 300.0})
    (breach,) = _evaluate({"p99": 250}, stats)
    assert breach.low_sample
    assert not breach.inconclusive
    assert breach.message == (
        "low sample: p99 of all operations was 300.0ms, above the limit 250.0ms; p99 rests on "
        "999 calls (< 1,000: too few for a p99 to mean much; run longer or with more users)"
    )
    (enough,) = _evaluate({"p99": 250}, FakeStats(total=1000, percentiles={99.0: 300.0}))
    assert not enough.low_sample
    assert "rests on" not in enough.message


def _min(spec: Mapping[str, object], stats: FakeStats, min_samples: int) -> list[Breach]:
    return parse_sla(spec).evaluate(stats, {}, min_samples)


def test_min_samples_makes_a_passing_percentile_inconclusive() -> None:
    stats = FakeStats(total=67, percentiles={95.0: 100.0})
    assert _min({"p95": 250}, stats, 0) == []
    (breach,) = _min({"p95": 250}, stats, 200)
    assert breach.inconclusive
    assert breach.low_sample
    assert breach.message == (
        "inconclusive: p95 of all operations rests on 67 calls (< 200, min_samples): 100.0ms met "
        "the limit 250.0ms, on too few calls to judge; run longer or with more users, or lower "
        "min_samples"
    )


def test_min_samples_makes_a_missed_percentile_inconclusive() -> None:
    (breach,) = _min({"p95": 250}, FakeStats(total=67, percentiles={95.0: 451.0}), 100)
    assert breach.inconclusive
    assert "p95 of all operations rests on 67 calls (< 100, min_samples): 451.0ms missed" in (
        breach.message
    )


@pytest.mark.parametrize(("calls", "judged"), [(199, False), (200, True), (5000, True)])
def test_min_samples_is_a_floor_of_calls(calls: int, judged: bool) -> None:
    breaches = _min({"p95": 250}, FakeStats(total=calls, percentiles={95.0: 100.0}), 200)
    assert (breaches == []) is judged


def test_min_samples_never_applies_to_non_percentiles() -> None:
    stats = FakeStats(total=3, max=5.0, mean=5.0, error_rate=0.0, throughput=50.0)
    spec = {"max": 10, "mean": 10, "error_rate": 0, "throughput_min": 1}
    assert _min(spec, stats, 1000) == []


def test_min_samples_counts_each_operation_on_its_own_calls() -> None:
    few, many = FakeStats(total=10), FakeStats(total=500)
    sla = parse_sla({"p95": 100, "operations": {"rare": {"p95": 100}, "busy": {"p99": 100}}})
    (breach,) = sla.evaluate(FakeStats(total=510), {"rare": few, "busy": many}, 100)
    assert (breach.operation, breach.inconclusive) == ("rare", True)
    assert "p95 of operation rare rests on 10 calls (< 100, min_samples)" in breach.message


def test_inconclusive_round_trips() -> None:
    (breach,) = _min({"p95": 250}, FakeStats(total=67), 100)
    assert Breach.from_dict(breach.to_dict()) == breach
    assert not Breach.from_dict({**breach.to_dict(), "inconclusive": None}).inconclusive


def test_low_sample_never_applies_to_non_percentiles() -> None:
    stats = FakeStats(total=1, max=5.0, mean=5.0, error_rate=1.0, throughput=0.5)
    spec = {"max": 1, "mean": 1, "error_rate": 0, "throughput_min": 1}
    breaches = _evaluate(spec, stats)
    assert len(breaches) == 4
    assert not any(b.low_sample for b in breaches)


def test_low_sample_checks_include_passing_ones() -> None:
    sla = parse_sla({"p50": 100, "p95": 1, "max": 1, "operations": {"a": {"p99": 100}}})
    overall = FakeStats(total=100, percentiles={95.0: 0.5})
    flagged = sla.low_sample_checks(overall, {"a": FakeStats(total=10)})
    assert flagged == [Check("p95", 1.0), Check("p99", 100.0, "a")]
    assert sla.low_sample_checks(overall, {}) == [Check("p95", 1.0)]


def test_check_describe() -> None:
    assert Check("p95", 200.0).describe() == "p95 <= 200.0ms"
    assert Check("throughput_min", 50.0, "a").describe() == "a.throughput_min >= 50.0 calls/s"
    assert Check("error_rate", 0.01).describe() == "error_rate <= 1.00%"


def test_breach_to_dict() -> None:
    breach = Breach("p95", "a", 2.0, 1.0, "msg", True)
    assert breach.to_dict() == {
        "metric": "p95",
        "operation": "a",
        "measured": 2.0,
        "threshold": 1.0,
        "message": "msg",
        "low_sample": True,
        "inconclusive": False,
    }


def test_empty_sla_has_no_breaches() -> None:
    assert parse_sla({}) == SLA(())
    assert SLA(()).evaluate(FakeStats(total=0), {}) == []


@pytest.mark.parametrize(
    ("spec", "stats", "shown"),
    [
        # each pair rounds to the same text in the usual form
        (
            {"p95": "1s"},
            FakeStats(percentiles={95.0: 1000.4}),
            "was 1.0004s, above the limit 1.0000s",
        ),
        (
            {"p95": "1s"},
            FakeStats(percentiles={95.0: 1004.0}),
            "was 1.004s, above the limit 1.000s",
        ),
        (
            {"p95": 5},
            FakeStats(percentiles={95.0: 5.0001}),
            "was 5.0001ms, above the limit 5.0000ms",
        ),
        (
            {"error_rate": "1%"},
            FakeStats(error_rate=0.010001),
            "was 1.0001%, above the limit 1.0000%",
        ),
        (
            {"throughput_min": 100},
            FakeStats(throughput=99.99),
            "was 99.99 calls/s, below the minimum 100.00 calls/s",
        ),
        # the usual form where it already tells them apart
        ({"p95": "1s"}, FakeStats(percentiles={95.0: 1200.0}), "was 1.20s, above the limit 1.00s"),
    ],
)
def test_breach_message_shows_the_measured_value_beyond_the_limit(
    spec: dict[str, object], stats: FakeStats, shown: str
) -> None:
    (breach,) = _evaluate(spec, stats)
    assert shown in breach.message
