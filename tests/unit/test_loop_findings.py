"""Loop health as findings and reports: the ``event_loop_blocked`` rule on fake loop health, and
how the terminal, HTML notes and charts tell the loop's lag."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_loadtest._model._finding import Finding
from pytest_loadtest._model._loop import BlockingSteps, LoopHealth
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._model._timeline import TimelineRow
from pytest_loadtest._monitor._detectors import build_rules, detect
from pytest_loadtest._monitor._facts import RunFacts
from pytest_loadtest._monitor._loop_rules import EventLoopBlocked
from pytest_loadtest._report._charts import latency_figure
from pytest_loadtest._report._loop import loop_text
from pytest_loadtest._report._view import views

from helpers.loop_health import health_of

MS = 1_000_000


# -- the rule ----------------------------------------------------------------------------------
def test_a_target_holding_the_loop_is_named_with_lag_and_remedy() -> None:
    health = health_of(
        operations={
            "checkout": BlockingSteps(100, 5_000.0, 51.0),
            "browse": BlockingSteps(3, 18.0, 6.0),  # steps under min_step_ms: not named
        }
    )
    [finding] = EventLoopBlocked().check(RunFacts(duration=10.0, loop=health))
    assert finding.kind == "event_loop_blocked"
    assert finding.title == "Event loop blocked by checkout"
    assert "event loop lag p99 60 ms, max 70 ms" in finding.evidence
    assert "checkout: 100 blocking steps, longest 51 ms, 5,000 ms in all (50% of the run)" in (
        finding.evidence
    )
    assert "asyncio.to_thread" in finding.recommendation
    assert "async driver" in finding.recommendation
    assert finding.severity == "medium"
    assert list(finding.data["operations"]) == ["checkout"]
    assert Finding.from_dict(finding.to_dict()) == finding


def test_severity_and_thresholds() -> None:
    facts = RunFacts(duration=10.0, loop=health_of(blamed_p99=150.0, lag_p99=160.0))
    assert EventLoopBlocked().check(facts)[0].severity == "high"
    # blocks that recur, but too rarely to reach p99: low
    [rare] = EventLoopBlocked().check(RunFacts(loop=health_of(blamed_p99=0.0)))
    assert (rare.severity, rare.data["blamed_wakes"]) == ("low", 6)
    # a block or two (a first compile): no pattern
    twice = health_of(blamed_p99=19.0, blamed_top=[77.0, 35.0, 5.0])
    assert EventLoopBlocked().check(RunFacts(loop=twice)) == []
    assert EventLoopBlocked(min_wakes=2).check(RunFacts(loop=twice))
    assert EventLoopBlocked(min_lag_ms=60).check(RunFacts(loop=health_of())) == []
    assert EventLoopBlocked(min_step_ms=60).check(RunFacts(loop=health_of())) == []
    assert EventLoopBlocked().check(RunFacts(loop=health_of(operations={}))) == []
    assert EventLoopBlocked().check(RunFacts(loop=None)) == []
    assert EventLoopBlocked().check(RunFacts(loop=health_of(wakes=0, blamed_p99=math.nan))) == []


def test_many_short_blocks_holding_much_of_the_run_are_named_too() -> None:
    """20 ms blocks 30 times a second: the lag stays under 20 ms, but the loop is held most of
    the time."""
    health = health_of(
        lag_p99=18.0,
        blamed_p99=17.0,
        blamed_top=[18.0] * 20,
        operations={"op": BlockingSteps(60, 600.0, 21.0)},
    )
    [finding] = EventLoopBlocked().check(RunFacts(duration=2.0, loop=health))
    assert finding.data["held_share"] == pytest.approx(0.3)
    assert finding.severity == "medium"
    assert EventLoopBlocked().check(RunFacts(duration=3.0, loop=health)) == []  # 20%
    assert EventLoopBlocked(min_share=0.15).check(RunFacts(duration=3.0, loop=health))


def test_the_rule_is_a_default_detector_that_can_be_tuned_or_turned_off() -> None:
    facts = RunFacts(duration=10.0, loop=health_of())
    assert [f.kind for f in detect(facts)] == ["event_loop_blocked"]
    assert detect(facts, build_rules({"event_loop_blocked": False})) == []
    assert (
        detect(facts, build_rules({"event_loop_blocked": {"min_wakes": 7, "min_share": 1}})) == []
    )


def test_many_blocking_operations_are_listed_by_time_held() -> None:
    ops = {f"op{i}": BlockingSteps(10, 100.0 * i, 20.0) for i in range(1, 6)}
    [finding] = EventLoopBlocked().check(RunFacts(loop=health_of(operations=ops, loops=2)))
    assert finding.title == "Event loop blocked by op5, op4, op3 (+2 more)"
    assert "worst of 2 loops" in finding.evidence


# -- the reports -------------------------------------------------------------------------------
def _result(health: LoopHealth | None) -> LoadResult:
    hist = LatencyHistogram()
    hist.fold_ns(np.array([10 * MS], dtype=np.int64))
    timeline = [TimelineRow(0.0, 1, 0, 1, 10.0, 10.0, 10.0, 10.0, loop_lag=70.0)]
    return LoadResult(
        name="r",
        histogram=hist,
        errors=0,
        operations={},
        duration=1.0,
        timeline=timeline,
        loop=health.to_dict() if health else None,
    )


def test_the_reports_tell_the_loop_lag() -> None:
    result = _result(health_of())
    assert loop_text(result) == (
        "event loop lag p99 60 ms, max 70 ms (probe every 50 ms); "
        "50 ms of it at p99 from the target's blocking steps"
    )
    harness = _result(health_of(blamed_p99=0.0))
    assert "not from the target's own steps" in loop_text(harness)
    calm = _result(health_of(lag_p99=2.0, lag_max=4.5))
    assert loop_text(calm) == "event loop lag p99 2.0 ms, max 4.5 ms (probe every 50 ms)"
    assert loop_text(calm, always=False) == ""
    assert loop_text(_result(None)) == ""
    result.findings = EventLoopBlocked().check(RunFacts(loop=health_of()))
    assert loop_text(result) == ""  # the finding tells it
    [view] = views([result])
    labels = [s["label"] for s in latency_figure(view)["series"]]
    assert "event loop lag (max)" in labels
