"""The open model, engine-level: arrivals on schedule, dropped iterations, and latency measured
from each iteration's intended start (coordinated omission corrected).

The fake clock is driven by the dispatcher (the engine's main thread): it moves time to each
iteration's due time, so a target that does not move time starts exactly when it is due.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._engine._users import VirtualUser
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._model._shapes import Arrivals, Profile
from pytest_loadtest._scenario._target import Scenario, build_plan
from pytest_loadtest._settings._layers import resolve_settings

from helpers.clock import NS, FakeClock


def _run(target: object, clock: FakeClock | None = None, **settings: Any) -> LoadResult:
    settings.setdefault("max_users", 10)
    resolved = resolve_settings([("test", {"seed": 1, "stop_timeout": 2.0, **settings})])
    return Engine(build_plan(target), resolved, clock=clock).run()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(moved_by="main")


# rate 100/s for 0.8 s, then nothing: no call is in flight when the run ends
BURST = [("0s", 100), ("0.8s", 100), ("0s", 0), ("0.2s", 0)]


class Starts:
    """When (seconds since the start) each call of the target began, and by which user."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.start = clock.now_ns()
        self.seen: list[tuple[int, float]] = []

    def __call__(self, vu: VirtualUser) -> None:
        self.seen.append((vu.id, (self.clock.now_ns() - self.start) / NS))

    @property
    def times(self) -> list[float]:
        return sorted(t for _, t in self.seen)


def test_constant_rate_starts_each_iteration_on_schedule(clock: FakeClock) -> None:
    starts = Starts(clock)
    result = _run(starts, clock, rate=100, duration=1.0)
    assert result.model == "open"
    assert result.scheduled == 100  # due at 0, 10 ms, ..., 990 ms
    assert result.dropped == 0
    assert result.total == 100
    assert result.achieved_rate == pytest.approx(100.0)
    # on time, but for a user thread that misses the dispatcher's steps on a busy machine
    lags = [t - k / 100 for k, t in enumerate(starts.times)]
    assert all(-1e-9 <= lag <= 0.1 for lag in lags)
    assert sum(1 for lag in lags if lag < 1e-9) >= 50
    assert result.users == 10  # the pool
    assert result.peak_active >= 1
    assert result.settings["rate"] == 100.0
    assert result.settings["max_users"] == 10


def test_latencies_add_up_from_the_intended_start(clock: FakeClock) -> None:
    def work() -> None:
        clock.pass_time(0.03)

    # the dispatcher moves time from one due time to the next: 10 ms steps at 100/s
    result = _run(work, clock, rate_stages=BURST)
    assert result.service_time is not None
    assert result.start_lag is not None
    assert result.total == result.service_time.total == result.start_lag.total == 80
    assert result.start_lag.p50 < 0.001  # iterations start when they are due
    assert result.service_time.p50 == pytest.approx(30.0, rel=1e-3)
    assert result.p50 == pytest.approx(30.0, rel=1e-3)  # nothing to correct
    # each call's latency is its start lag plus its service time (a thread that misses a step
    # of the fake clock on a busy machine adds a step to one or the other)
    assert result.mean == pytest.approx(result.service_time.mean + result.start_lag.mean, rel=1e-2)
    op = result.operations["work"]
    assert op.service_time is not None
    assert op.service_time.p50 == pytest.approx(30.0, rel=1e-3)
    assert op.service_time.total == 80


def test_rate_stages_follow_the_ramp(clock: FakeClock) -> None:
    starts = Starts(clock)
    result = _run(starts, clock, rate_stages="1s:100")
    arrivals = Arrivals(Profile.from_stages([(1.0, 100.0)]))
    # 0 -> 100/s over 1 s: 50 arrivals, the k-th at sqrt(k / 50)
    assert result.scheduled == 50
    due = [arrivals.time_of(k) for k in range(50)]
    assert due[1] == pytest.approx(math.sqrt(1 / 50))
    assert len(starts.times) == 50
    late = [t - d for t, d in zip(starts.times, due, strict=True) if abs(t - d) > 1e-6]
    assert all(0 < lag <= 0.2 for lag in late)  # a thread that missed a dispatcher step
    assert len(late) <= 25
    assert result.settings["rate_stages"] == "1s:100"
    assert result.spike_end is None


def test_a_spike_of_rate_stages_has_an_end(clock: FakeClock) -> None:
    result = _run(Starts(clock), clock, rate_stages="0.2s:50,0.2s:10,0.1s:10")
    assert result.spike_end == pytest.approx(0.4)


def test_iterations_due_when_every_user_is_busy_are_dropped_and_counted(clock: FakeClock) -> None:
    def work() -> None:
        clock.pass_time(0.05)  # two users serve at most 40/s

    result = _run(work, clock, rate_stages=BURST, max_users=2)
    assert result.scheduled == 80
    assert result.total + result.dropped == 80
    assert 40 <= result.dropped <= 70  # ideally 52: users free themselves a step late here
    assert result.users == 2
    assert result.peak_active == 2
    assert sum(row.dropped for row in result.timeline) == result.dropped
    assert result.timeline[0].dropped == result.dropped  # all were due in the first second
    assert result.achieved_rate == pytest.approx(result.total / 1.0)
    assert result.start_lag is not None
    assert result.start_lag.p50 < 0.001  # served iterations start on time; the rest are dropped


def test_no_iteration_is_dropped_while_users_are_free(clock: FakeClock) -> None:
    def work() -> None:
        clock.pass_time(0.05)

    result = _run(work, clock, rate_stages=BURST, max_users=10)
    assert (result.scheduled, result.dropped, result.total) == (80, 0, 80)
    assert 5 <= result.peak_active <= 10  # 100/s x 50 ms: about 5 (or 6) busy at once


def test_a_stall_is_charged_to_every_call_that_should_have_started_during_it(
    clock: FakeClock,
) -> None:
    calls = itertools.count()

    def work() -> None:
        if next(calls) == 10:
            clock.advance(0.5)  # the process stalls (a GIL hog, a GC pause) for 0.5 s

    result = _run(work, clock, rate=100, duration=2.0, max_users=100)
    assert result.dropped == 0
    assert result.total == 200
    service, lag = result.service_time, result.start_lag
    assert service is not None
    assert lag is not None
    # the ~50 calls due during the stall started late, by up to 0.5 s
    assert service.p99 < 1.0
    assert service.max == pytest.approx(500.0, rel=1e-3)
    assert lag.p99 > 400.0
    assert result.p99 > 400.0
    assert result.p99 > 100 * max(service.p99, 0.01)
    assert result.max == pytest.approx(500.0, rel=1e-2)
    # each call's latency is its start lag plus its service time
    assert result.mean == pytest.approx(service.mean + lag.mean, rel=1e-2)
    late = [row for row in result.timeline if row.p99 > 400.0]
    assert [row.t for row in late] == [0.0]


def test_users_are_reused_last_in_first_out(clock: FakeClock) -> None:
    starts = Starts(clock)
    hooks: list[int] = []
    scenario = Scenario("pool")

    @scenario.on_start
    def hello(vu: VirtualUser) -> None:
        hooks.append(vu.id)

    scenario.task(starts)
    result = _run(scenario, clock, rate=20, duration=1.0, max_users=50)
    # one call at a time: the top of the stack serves them all; user 1 only when user 0 was
    # not back on the stack in time (its thread, on a busy machine), then it is the top. A pool
    # taken first in, first out would cycle through every user it had started.
    users = [user for user, _ in starts.seen]
    assert set(users) <= {0, 1}
    assert sorted(hooks) == sorted(set(users))  # on_start once for each user that served
    assert result.operations["hello"].total == len(hooks)
    assert result.total == 20


def test_an_iterations_limit_ends_the_open_run(clock: FakeClock) -> None:
    starts = Starts(clock)
    result = _run(starts, clock, rate=100, duration=10.0, iterations=30)
    assert result.scheduled == 30
    assert result.total == 30
    assert result.duration < 1.0


def test_errors_are_counted_and_still_measured(clock: FakeClock) -> None:
    calls = itertools.count()

    def flaky() -> None:
        clock.pass_time(0.01)
        if next(calls) % 2:
            raise ConnectionError("refused")

    result = _run(flaky, clock, rate=50, duration=1.0)
    assert result.total == 50
    assert result.errors == 25
    assert result.errors_by_type["ConnectionError"].count == 25
    assert result.service_time is not None
    assert result.service_time.total == 50


def test_each_task_has_its_service_time_and_shadows_stay_hidden(clock: FakeClock) -> None:
    def fast() -> None:
        clock.pass_time(0.01)

    def slow() -> None:
        clock.pass_time(0.04)

    result = _run({"fast": fast, "slow": slow}, clock, rate=100, duration=1.0)
    assert set(result.operations) == {"fast", "slow"}
    fast_time, slow_time = (result.operations[name].service_time for name in ("fast", "slow"))
    assert fast_time is not None
    assert slow_time is not None
    assert fast_time.p50 == pytest.approx(10.0, rel=1e-3)
    assert slow_time.p50 == pytest.approx(40.0, rel=1e-3)
    assert fast_time.total + slow_time.total == result.total == 100


def test_open_results_survive_to_dict_and_back(clock: FakeClock) -> None:
    def work() -> None:
        clock.pass_time(0.05)

    result = _run(work, clock, rate_stages=BURST, max_users=2)
    again = LoadResult.from_dict(result.to_dict())
    assert (again.model, again.dropped, again.scheduled) == ("open", result.dropped, 80)
    assert again.service_time is not None
    assert result.service_time is not None
    assert again.service_time.p99 == result.service_time.p99
    assert again.start_lag is not None
    assert again.operations["work"].service_time is not None
    assert [row.dropped for row in again.timeline] == [row.dropped for row in result.timeline]
    assert again.achieved_rate == result.achieved_rate


def test_closed_results_have_no_open_figures() -> None:
    resolved = resolve_settings([("test", {"users": 1, "iterations": 5, "seed": 1})])
    result = Engine(build_plan(lambda: None), resolved).run()
    assert result.model == "closed"
    assert (result.dropped, result.scheduled, result.achieved_rate) == (0, 0, 0.0)
    assert result.service_time is None
    assert result.start_lag is None


def test_system_clock_holds_the_rate() -> None:
    result = _run(lambda: None, rate=200, duration=0.3, max_users=4)
    # every iteration due is started or dropped, however late the dispatching thread was
    assert result.scheduled == 60
    assert result.total + result.dropped == 60
    assert result.total > 0
    assert sum(row.dropped for row in result.timeline) == result.dropped
    assert result.achieved_rate == pytest.approx(result.total / 0.3)
    assert result.start_lag is not None
    assert result.start_lag.p50 < 20.0
