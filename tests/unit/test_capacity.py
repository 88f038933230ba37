"""The breaking-point search: ``Capacity`` read off steps, and ``LoadRunner.find_capacity``.

The searches run short real-clock steps against a target whose latency rises with the number of
calls in flight, so that where it breaks is known in advance.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np
import pytest

from pytest_loadtest._model._capacity import DROPPED_LIMIT, Capacity, CapacityStep, step_verdict
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._model._sla import Breach
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._runner import LoadRunner


def _result(
    *,
    calls: int = 100,
    duration: float = 1.0,
    breaches: list[Breach] | None = None,
    model: str = "closed",
    dropped: int = 0,
    scheduled: int = 0,
    users: int = 4,
) -> LoadResult:
    histogram = LatencyHistogram()
    histogram.fold_ns(np.full(calls, 1_000_000, dtype=np.int64))
    return LoadResult(
        name="step",
        histogram=histogram,
        errors=0,
        duration=duration,
        operations={},
        sla_breaches=breaches or [],
        model=model,
        dropped=dropped,
        scheduled=scheduled,
        users=users,
    )


SLOW = Breach("p95", None, 300.0, 200.0, "p95 of all operations was 300.0ms, above the limit")


# -- step_verdict / Capacity ------------------------------------------------------------------


def test_a_step_that_met_its_sla_held() -> None:
    assert step_verdict(_result()) == ""


def test_a_breach_breaks_a_step_with_its_message() -> None:
    other = Breach("error_rate", None, 0.5, 0.01, "error_rate was 50%")
    assert step_verdict(_result(breaches=[SLOW, other])) == SLOW.message


@pytest.mark.parametrize(
    ("dropped", "scheduled", "broke"),
    [(0, 1000, False), (10, 1000, False), (11, 1000, True), (500, 1000, True), (3, 0, False)],
)
def test_an_open_step_that_drops_over_one_percent_broke(
    dropped: int, scheduled: int, broke: bool
) -> None:
    verdict = step_verdict(_result(model="open", dropped=dropped, scheduled=scheduled, users=8))
    assert bool(verdict) is broke
    if broke:
        assert verdict.startswith(f"{dropped} of {scheduled} iterations (")
        assert "were dropped: all 8 users were busy (more than 1%)" in verdict
    assert DROPPED_LIMIT == 0.01


def test_drops_do_not_break_a_closed_step() -> None:
    assert step_verdict(_result(model="closed", dropped=50, scheduled=100)) == ""


def test_capacity_of_steps() -> None:
    search = Capacity(
        "users",
        [
            CapacityStep(10, _result(calls=100)),
            CapacityStep(20, _result(calls=190)),
            CapacityStep(30, _result(calls=200), reason="p95 too slow"),
        ],
    )
    assert [s.passed for s in search.steps] == [True, True, False]
    assert [s.load for s in search.held] == [10, 20]
    assert search.capacity == 20
    assert search.throughput == pytest.approx(190.0)
    assert search.breaking_load == 30
    assert search.reason == "p95 too slow"
    assert search.summary() == (
        "capacity: held 20 users at 190 calls/s; broke at 30 users: p95 too slow"
    )
    data = search.to_dict()
    assert data == {
        "by": "users",
        "capacity": 20,
        "throughput": pytest.approx(190.0),
        "breaking_load": 30,
        "reason": "p95 too slow",
        "steps": [
            {"load": 10, "passed": True, "reason": "", "result": "step"},
            {"load": 20, "passed": True, "reason": "", "result": "step"},
            {"load": 30, "passed": False, "reason": "p95 too slow", "result": "step"},
        ],
    }


def test_capacity_when_nothing_held_or_nothing_broke() -> None:
    broke = Capacity("rate", [CapacityStep(50, _result(), reason="dropped")])
    assert (broke.capacity, broke.throughput, broke.breaking_load) == (None, 0.0, 50)
    assert broke.summary() == (
        "capacity: no load held (the first step, 50.0 iterations/s, broke); broke at "
        "50.0 iterations/s: dropped"
    )
    held = Capacity("rate", [CapacityStep(50, _result(calls=50)), CapacityStep(600, _result())])
    assert (held.capacity, held.breaking_load, held.reason) == (600, None, "")
    assert held.summary() == (
        "capacity: held 600 iterations/s at 100 calls/s; nothing broke up to the limit"
    )
    assert held.unit(None) == "nothing"
    assert held.unit(12.5) == "12.5 iterations/s"


# -- find_capacity ----------------------------------------------------------------------------


class Failed(Exception):
    """What the runner's ``fail`` callback raises."""


def _fail(message: str) -> NoReturn:
    raise Failed(message)


def crowded(per_call: float) -> Callable[[], None]:
    """A target taking ``per_call`` seconds for each call in flight, its own included."""
    in_flight = [0]
    lock = threading.Lock()

    def crowded_call() -> None:
        with lock:
            in_flight[0] += 1
            n = in_flight[0]
        try:
            time.sleep(per_call * n)
        finally:
            with lock:
                in_flight[0] -= 1

    return crowded_call


def test_find_capacity_by_users_steps_up_until_the_sla_breaks() -> None:
    seen: list[LoadResult] = []
    runner = LoadRunner(
        test_id="t.py::test_cap",
        fail=_fail,
        on_result=seen.append,
        layers_below=[("marker", {"sla": {"p50": 55}, "seed": 3})],
    )
    # 10 ms per call in flight: 1 user 10 ms, 4 users 40 ms, 7 users 70 ms; the median, with
    # wide margins, does not move with a busy machine's hiccups
    search = runner.find_capacity(crowded(0.01), start=1, step=3, limit=20, step_duration="300ms")
    assert [s.load for s in search.steps] == [1, 4, 7]
    assert [s.passed for s in search.steps] == [True, True, False]
    assert search.capacity == 4
    assert search.breaking_load == 7
    assert search.reason.startswith("p50 of all operations was ")
    assert search.throughput == search.steps[1].result.throughput > 0
    first = search.steps[0].result
    assert first.name == "crowded_call @ 1 users"
    assert first.probe == {"search": "crowded_call", "by": "users", "load": 1.0, "held": True}
    assert search.steps[2].result.probe == {
        "search": "crowded_call",
        "by": "users",
        "load": 7.0,
        "held": False,
    }
    assert [r.users for r in seen] == [1, 4, 7]
    assert seen == runner.results
    for number, step in enumerate(search.steps, 1):
        settings = step.result.settings
        assert settings["duration"] == 0.3
        assert settings["abort_on_breach"] is True  # on for steps unless set
        assert settings["sources"]["users"] == f"find_capacity() step {number}"
        assert step.result.test_id == "t.py::test_cap"


def test_find_capacity_stops_at_the_limit() -> None:
    runner = LoadRunner(fail=_fail)
    search = runner.find_capacity(
        lambda: None,
        start=1,
        step=1,
        limit=2.5,
        step_duration=0.1,
        sla={"p95": "1s"},
        abort_on_breach=False,
    )
    assert [s.load for s in search.steps] == [1, 2]
    assert search.capacity == 2
    assert search.breaking_load is None
    assert search.summary().endswith("; nothing broke up to the limit")
    assert all(s.result.settings["abort_on_breach"] is False for s in search.steps)


def test_find_capacity_when_the_first_step_breaks() -> None:
    runner = LoadRunner(fail=_fail)
    search = runner.find_capacity(
        crowded(0.01), start=2, step=1, limit=5, step_duration=0.1, sla={"max": "1ms"}
    )
    assert [s.load for s in search.steps] == [2]
    assert search.capacity is None
    assert search.throughput == 0.0
    assert search.breaking_load == 2


def test_find_capacity_by_rate_breaks_on_dropped_iterations() -> None:
    def twenty_ms() -> None:
        time.sleep(0.02)

    runner = LoadRunner(fail=_fail)
    # 8 users of 20 ms serve up to 400/s: 50/s holds (even through a hiccup of a busy machine),
    # 850/s drops half of its iterations
    search = runner.find_capacity(
        twenty_ms,
        by="rate",
        start=50,
        step=800,
        limit=1000,
        step_duration="250ms",
        max_users=8,
        sla={"p95": "10s"},
    )
    assert [s.load for s in search.steps] == [50, 850]
    assert search.capacity == 50
    assert search.breaking_load == 850
    assert "iterations" in search.reason
    assert "were dropped: all 8 users were busy" in search.reason
    held, broke = (s.result for s in search.steps)
    assert (held.model, held.settings["rate"], held.users) == ("open", 50.0, 8)
    assert held.name == "twenty_ms @ 50/s"
    assert broke.dropped > 0.01 * broke.scheduled
    assert search.summary().startswith("capacity: held 50.0 iterations/s at ")
    assert " broke at 850 iterations/s: " in search.summary()


def test_the_step_load_beats_every_layer() -> None:
    runner = LoadRunner(
        fail=_fail,
        layers_above=[("command line", {"users": 9, "duration": 5})],
        layers_below=[("marker", {"rate": 100, "sla": {"p95": "1s"}})],
    )
    search = runner.find_capacity(lambda: None, start=1, step=1, limit=1, step_duration=0.1)
    (step,) = search.steps
    assert (step.result.model, step.result.users, step.result.settings["duration"]) == (
        "closed",
        1,
        0.1,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": "threads"}, "find_capacity(): by='threads' must be 'users' or 'rate'"),
        ({"start": 0}, "find_capacity(): start=0 must be a number > 0"),
        ({"step": -1}, "find_capacity(): step=-1 must be a number > 0"),
        ({"limit": True}, "find_capacity(): limit=True must be a number > 0"),
        ({"start": "10"}, "find_capacity(): start='10' must be a number > 0"),
        ({"start": 20, "limit": 10}, "find_capacity(): limit=10 is below start=20"),
        ({"limit": 10**6}, "find_capacity(): limit=1000000 is above the most users a run takes"),
        ({"by": "rate", "limit": 1e300}, "find_capacity(): limit=1e+300 is above the most rate"),
        ({"step": float("nan")}, "find_capacity(): step=nan must be a finite number"),
        ({"limit": float("inf")}, "find_capacity(): limit=inf is above the most users"),
        ({"step_duration": 0}, "find_capacity(): step_duration=0 is not > 0"),
        ({"step_duration": "a while"}, "'a while' is not a duration"),
        ({"sla": None}, "find_capacity() needs an SLA to know when the load broke"),
        ({"users": "many"}, "find_capacity() argument: invalid users='many'"),
        ({"start": 1.5}, "find_capacity() step 1: invalid users=1.5: 1.5 is not a whole number"),
    ],
)
def test_bad_searches_fail_with_a_message(kwargs: dict[str, Any], message: str) -> None:
    runner = LoadRunner(fail=_fail)
    kwargs.setdefault("sla", {"p95": 100})
    with pytest.raises(Failed) as info:
        runner.find_capacity(lambda: None, **kwargs)
    assert message in str(info.value)
    assert runner.results == []
