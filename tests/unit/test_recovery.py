"""``LoadResult.recovery_time``: read off synthetic timelines, one row per window."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from typing import Any

import pytest

from pytest_loadtest._model._result import LoadResult, OperationStats
from pytest_loadtest._model._sla import parse_sla
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._model._timeline import TimelineRow

# p95 per second of a spike that peaks in second 2 and ends at 3 s; back under 200 ms from 4 s
P95 = [50.0, 300.0, 400.0, 250.0, 150.0, 120.0, 110.0, 100.0, 90.0, 80.0]


def _row(t: float, p95: float, *, calls: int = 100, errors: int = 0, **kw: float) -> TimelineRow:
    return TimelineRow(
        t=t,
        calls=calls,
        errors=errors,
        users=10,
        p50=kw.get("p50", p95 / 2),
        p95=p95,
        p99=kw.get("p99", p95 * 1.5),
        max=kw.get("max", p95 * 2),
    )


def _rows(p95: Sequence[float], window: float = 1.0, **kw: Any) -> list[TimelineRow]:
    return [_row(i * window, value, **kw) for i, value in enumerate(p95)]


def _result(
    timeline: list[TimelineRow],
    *,
    spike_end: float | None = 3.0,
    sla: object = None,
    window: float = 1.0,
    operations: dict[str, list[TimelineRow]] | None = None,
) -> LoadResult:
    ops = {
        name: OperationStats(name, "task", LatencyHistogram(), 0, 10.0, timeline=rows)
        for name, rows in (operations or {}).items()
    }
    return LoadResult(
        name="spike",
        histogram=LatencyHistogram(),
        errors=0,
        duration=len(timeline) * window,
        operations=ops,
        timeline=timeline,
        sla=parse_sla(sla) if sla is not None else None,
        spike_end=spike_end,
        window=window,
    )


@pytest.mark.parametrize(
    ("spike_end", "stable", "expected"),
    [
        (3.0, "3s", 1.0),  # windows from 4 s are fine: 1 s after the spike ended
        (2.5, "3s", 1.5),  # the window the spike ends in counts from its start
        (4.0, "3s", 0.0),
        (4.5, "3s", 0.0),  # the window holding the spike's end is fine: no wait at all
        (3.0, "1s", 1.0),
        (3.0, 3, 1.0),  # seconds as a number
        (0.0, "3s", 4.0),
    ],
)
def test_seconds_from_the_spike_end_to_stable_windows(
    spike_end: float, stable: object, expected: float
) -> None:
    result = _result(_rows(P95), spike_end=spike_end)
    assert result.recovery_time(200, stable=stable) == pytest.approx(expected)


def test_a_relapse_restarts_the_count() -> None:
    p95 = [50, 300, 400, 250, 150, 150, 900, 150, 150, 150, 150]
    result = _result(_rows(p95))
    assert result.recovery_time(200, stable="3s") == pytest.approx(4.0)  # from 7 s
    assert result.recovery_time(200, stable="2s") == pytest.approx(1.0)  # 4 s and 5 s


def test_never_recovering_is_none() -> None:
    result = _result(_rows([50, 300, 400, 250, 300, 260, 280]))
    assert result.recovery_time(200) is None


def test_recovery_in_the_last_windows_is_not_stable_enough() -> None:
    result = _result(_rows([50, 300, 400, 250, 300, 260, 150]))
    assert result.recovery_time(200, stable="3s") is None


def test_a_window_without_calls_is_no_evidence_of_recovery() -> None:
    rows = _rows(P95)
    rows[4] = _row(4.0, math.nan, calls=0, p50=math.nan, p99=math.nan, max=math.nan)
    assert _result(rows).recovery_time(200, stable="3s") == pytest.approx(2.0)


def test_a_window_without_calls_of_the_operation_is_no_evidence_either() -> None:
    # an operation's timeline has rows only for the windows it had calls in
    rows = [row for row in _rows(P95) if row.t != 5.0]
    result = _result(_rows(P95), operations={"op": rows})
    assert result.recovery_time(200, stable="2s", operation="op") == pytest.approx(3.0)
    assert result.recovery_time(200, stable="2s") == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("sla", "expected"),
    [
        (200, 1.0),  # a number is a p95 limit in ms
        (130.0, 2.0),
        ({"p95": "200ms"}, 1.0),
        ({"p95": "0.2s"}, 1.0),
        ({"p50": 60}, 2.0),  # p50 is half the p95 here
        ({"p99": 225}, 1.0),  # p99 is 1.5 x the p95
        ({"max": 250}, 2.0),  # max is 2 x the p95: <= 250 from 5 s
        ({"p95": 130, "p99": 300, "max": 250}, 2.0),  # every bound must hold
        ({"p95": 200, "p50": 50}, 4.0),
    ],
)
def test_latency_bounds(sla: object, expected: float) -> None:
    assert _result(_rows(P95)).recovery_time(sla, stable="3s") == pytest.approx(expected)


def test_error_rate_bound() -> None:
    rows = _rows([10.0] * 8)
    for row, errors in zip(rows, [0, 50, 40, 30, 20, 1, 0, 1], strict=True):
        row.errors = errors
    result = _result(rows)
    assert result.recovery_time({"error_rate": "1%"}, stable="3s") == pytest.approx(2.0)
    assert result.recovery_time({"error_rate": "25%"}, stable="3s") == pytest.approx(1.0)


def test_throughput_bound_is_calls_per_second_of_the_window() -> None:
    rows = _rows([10.0] * 8)
    for row, calls in zip(rows, [100, 20, 30, 40, 90, 95, 100, 100], strict=True):
        row.calls = calls
    result = _result(rows)
    assert result.recovery_time({"throughput_min": 90}, stable="3s") == pytest.approx(1.0)
    assert result.recovery_time({"throughput_min": 90}, stable="4s") == pytest.approx(1.0)


def test_half_second_windows() -> None:
    rows = _rows(P95, window=0.5)  # t = 0, 0.5, ..., 4.5
    result = _result(rows, spike_end=1.5, window=0.5)
    # from 2 s (index 4) the p95 is under 200; 3 s of stability is 6 windows
    assert result.recovery_time(200, stable="3s") == pytest.approx(0.5)
    assert result.recovery_time(200, stable="1.2s") == pytest.approx(0.5)  # rounds up to 3


def test_the_run_sla_is_the_default_bound() -> None:
    result = _result(_rows(P95), sla={"p95": 130, "error_rate": "5%"})
    assert result.recovery_time() == pytest.approx(2.0)


def test_an_explicit_after_replaces_the_spike_end() -> None:
    result = _result(_rows(P95), spike_end=None)
    assert result.recovery_time(200, after=2.0) == pytest.approx(2.0)
    assert result.recovery_time(200, after=6) == pytest.approx(0.0)


def test_operation_timelines() -> None:
    overall = _rows(P95)
    fast = _rows([10.0] * 10)
    slow = _rows([900, 900, 900, 900, 900, 400, 300, 100, 100, 100])
    result = _result(overall, operations={"fast": fast, "slow": slow})
    assert result.recovery_time(200, operation="fast") == pytest.approx(0.0)
    assert result.recovery_time(200, operation="slow") == pytest.approx(4.0)
    # a per-operation target in the SLA reads that operation's timeline
    sla = {"p95": 500, "operations": {"slow": {"p95": 350}}}
    assert result.recovery_time(sla) == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sla": {"mean": 100}}, "has no mean; use p50, p95, p99, max, error_rate, throughput_min"),
        ({"sla": {"p99.9": 100}}, "has no p99.9"),
        ({"sla": {"p75": 100}}, "checks each 1s window of the timeline, which has no p75"),
        ({"sla": 200, "operation": "nope"}, "no operation 'nope' in this result (have: ["),
        ({"sla": {"operations": {"nope": {"p95": 1}}}}, "no operation 'nope'"),
        ({"sla": {"p42": 1}}, "unknown SLA key 'p42'"),
        ({"sla": 200, "stable": "a while"}, "'a while' is not a duration"),
        ({"sla": True}, "SLA must be a mapping"),
    ],
)
def test_bad_requests_are_value_errors(kwargs: dict[str, Any], message: str) -> None:
    result = _result(_rows(P95), operations={"fast": _rows([1.0] * 10)})
    with pytest.raises(ValueError, match=re.escape(message)):
        result.recovery_time(**kwargs)


def test_no_bounds_at_all_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"needs bounds: this run has no SLA; give one, e\.g\."):
        _result(_rows(P95)).recovery_time()


def test_no_spike_is_a_value_error_that_suggests_after() -> None:
    with pytest.raises(ValueError, match=r"no spike .* recovery_time\(\.\.\., after=SECONDS\)"):
        _result(_rows(P95), spike_end=None).recovery_time(200)


def test_recovery_survives_to_dict_and_back() -> None:
    result = _result(_rows(P95), sla={"p95": 200})
    again = LoadResult.from_dict(result.to_dict())
    assert again.spike_end == 3.0
    assert again.window == 1.0
    assert again.recovery_time() == result.recovery_time() == pytest.approx(1.0)


def test_the_recovery_a_test_asked_for_is_kept_and_shown() -> None:
    from pytest_loadtest._report._html import render_html
    from pytest_loadtest._report._terminal import summary_lines
    from pytest_loadtest._report._view import views

    result = _result(_rows(P95))
    assert result.to_dict()["recovery"] is None
    assert result.recovery_time({"p95": 200, "error_rate": "1%"}, stable="2s") == 1.0
    assert result.recovery == {
        "seconds": 1.0,
        "after": 3.0,
        "stable": 2.0,
        "bounds": ["p95 <= 200.0ms", "error_rate <= 1.00%"],
    }
    told = "1.0s after the spike ended at 3.0s (p95 <= 200.0ms, error_rate <= 1.00%, held 2s)"
    assert f"spike: recovered {told}" in summary_lines([result])
    page = render_html(views([result]), {}, charts=None)
    assert f"<li>Recovered {html.escape(told)}</li>" in page
    again = LoadResult.from_dict(result.to_dict())
    assert again.recovery == result.recovery
    never = _result(_rows(P95))
    assert never.recovery_time(10) is None
    assert any(
        "did not recover after the spike ended at 3.0s" in line for line in summary_lines([never])
    )
