"""The closed model's shapes, engine-level: stages, ramp-down, parking users, and pacing.

The fake clock is driven by the engine's main loop: time moves by one poll at a time, and each
call of a target records which user made it and when, so the tests can read off who ran when.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._engine._users import VirtualUser
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._scenario._target import Scenario, build_plan
from pytest_loadtest._settings._layers import resolve_settings

from helpers.clock import NS, FakeClock

TICK = 0.1  # how often a user looks up from its loop to see whether it is still wanted
POLL = 0.02  # fake seconds the main loop moves time by per step
SLACK = 3 * POLL  # how late a user thread may notice on a busy machine (it misses a few steps)


class Calls:
    """Who called the target when (seconds since the start of the run)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.start = clock.now_ns()  # the run starts at the clock's reading when it is made
        self.seen: list[tuple[int, float]] = []

    def __call__(self, vu: VirtualUser) -> None:
        self.seen.append((vu.id, (self.clock.now_ns() - self.start) / NS))
        threading.Event().wait(0.0005)  # real time for other users; fake time stands still

    def times(self, user: int) -> list[float]:
        return [t for u, t in self.seen if u == user]

    def users_between(self, begin: float, end: float) -> set[int]:
        return {u for u, t in self.seen if begin <= t <= end}


def _run(target: object, clock: FakeClock, **settings: Any) -> LoadResult:
    resolved = resolve_settings([("test", {"seed": 1, "stop_timeout": 2.0, **settings})])
    return Engine(build_plan(target), resolved, clock=clock, poll=POLL).run()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(moved_by="main")


def test_users_start_as_the_stages_rise(clock: FakeClock) -> None:
    calls = Calls(clock)
    result = _run(calls, clock, stages="1s:4,0.5s:4")
    assert result.duration == pytest.approx(1.5)
    assert result.users == 4
    assert result.peak_active == 4
    for user in range(4):
        first = min(calls.times(user))
        # the profile passes the user's number at user/4 seconds
        assert user / 4 - 1e-9 <= first <= user / 4 + POLL + SLACK, (user, first)
    assert calls.users_between(1.0, 1.5) == {0, 1, 2, 3}


def test_users_stop_as_the_stages_fall(clock: FakeClock) -> None:
    calls = Calls(clock)
    _run(calls, clock, stages="0.5s:4,0.5s:4,1s:0")
    for user in (1, 2, 3):
        last = max(calls.times(user))
        # 4 -> 0 over 1..2 s passes the user's number at 2 - user/4 s; a user notices at its
        # next tick and finishes the iteration it is in
        stop = 2.0 - user / 4
        assert stop - TICK <= last <= stop + TICK + SLACK, (user, last)
    assert calls.users_between(1.8, 2.0) <= {0}


@pytest.mark.parametrize(
    ("stages", "plateau", "expected"),
    [("0.5s:4,0.5s:2,1s:2", (1.2, 2.0), {0, 1}), ("0.5s:2,0.5s:0,1s:0", (1.2, 2.0), set())],
)
def test_only_users_below_the_target_run_on_a_plateau(
    clock: FakeClock, stages: str, plateau: tuple[float, float], expected: set[int]
) -> None:
    calls = Calls(clock)
    _run(calls, clock, stages=stages)
    assert calls.users_between(*plateau) == expected


def test_a_parked_user_stops_and_starts_again_with_its_hooks(clock: FakeClock) -> None:
    calls = Calls(clock)
    starts: list[tuple[int, float]] = []
    stops: list[tuple[int, float]] = []
    scenario = Scenario("waves")

    @scenario.on_start
    def hello(vu: VirtualUser) -> None:
        starts.append((vu.id, (clock.now_ns() - calls.start) / NS))

    @scenario.on_stop
    def bye(vu: VirtualUser) -> None:
        stops.append((vu.id, (clock.now_ns() - calls.start) / NS))

    scenario.task(calls)
    # 2 users, down to 0 (1.0..1.5 s), held at 0 until 2.5 s, back up to 2 at 3 s
    result = _run(scenario, clock, stages="0.5s:2,0.5s:2,0.5s:0,1s:0,0.5s:2,0.5s:2")
    user_1 = calls.times(1)
    # user 1 is wanted while the profile is above 1: until 1.25 s and again from 2.75 s
    assert [t for t in user_1 if 1.25 + TICK + SLACK < t < 2.75 - 1e-9] == []
    assert min(t for t in user_1 if t > 2.0) <= 2.75 + POLL + SLACK
    first_start, second_start = (t for u, t in starts if u == 1)
    assert 0.25 <= first_start <= 0.25 + POLL + SLACK
    assert 2.75 <= second_start <= 2.75 + POLL + SLACK
    user_1_stops = [t for u, t in stops if u == 1]
    assert len(user_1_stops) == 2
    assert 1.25 <= user_1_stops[0] <= 1.25 + TICK + SLACK
    assert user_1_stops[1] == pytest.approx(3.5)  # the end of the run
    assert result.operations["hello"].total == len(starts)
    assert result.operations["bye"].total == len(stops)
    assert len(starts) == len(stops)


def test_stages_starting_with_a_jump_start_each_user_once(clock: FakeClock) -> None:
    starts: list[int] = []
    scenario = Scenario("jump")

    @scenario.on_start
    def hello(vu: VirtualUser) -> None:
        starts.append(vu.id)

    scenario.task(Calls(clock))
    _run(scenario, clock, stages="0s:3,0.2s:3")
    assert sorted(starts) == [0, 1, 2]


def test_ramp_down_stops_users_over_the_end_of_the_run(clock: FakeClock) -> None:
    calls = Calls(clock)
    result = _run(calls, clock, users=4, duration=2.0, ramp_down=1.0)
    assert result.duration == pytest.approx(2.0)
    assert calls.users_between(0.0, 0.9) == {0, 1, 2, 3}
    for user in (1, 2, 3):
        stop = 2.0 - user / 4
        assert stop - TICK <= max(calls.times(user)) <= stop + TICK + SLACK, user
    assert result.spike_end is None  # not a stage profile


def test_ramp_up_and_ramp_down_together(clock: FakeClock) -> None:
    calls = Calls(clock)
    _run(calls, clock, users=2, duration=1.6, ramp_up=0.4, ramp_down=0.4)
    assert 0.2 - 1e-9 <= min(calls.times(1)) <= 0.2 + POLL + SLACK
    assert 1.4 - TICK <= max(calls.times(1)) <= 1.4 + TICK + SLACK


def test_stage_result_knows_its_spike(clock: FakeClock) -> None:
    calls = Calls(clock)
    result = _run(calls, clock, stages="0.5s:3,0.3s:1,0.2s:1")
    assert result.spike_end == pytest.approx(0.8)
    assert result.settings["stages"] == "0.5s:3,0.3s:1,0.2s:1"
    assert result.settings["model"] == "closed"
    assert result.settings["profile"] == [[0.0, 0.0], [0.5, 3.0], [0.8, 1.0], [1.0, 1.0]]
    assert result.users == 3


def test_iterations_are_honoured_with_stages(clock: FakeClock) -> None:
    calls = Calls(clock)
    result = _run(calls, clock, stages="0.2s:3,10s:3", iterations=40)
    assert result.total == len(calls.seen) == 40


def test_fractional_targets_run_the_users_below_them(clock: FakeClock) -> None:
    calls = Calls(clock)
    result = _run(calls, clock, stages="0s:1.5,0.5s:1.5")
    assert result.users == 2  # threads for the peak, rounded up
    assert calls.users_between(0.0, 0.5) == {0, 1}


def _assert_paced(times: list[float], interval: float) -> None:
    """Iterations start ``interval`` apart: never sooner, and mostly exactly (a user thread
    that misses a step of the fake clock on a busy machine starts its next one a little late)."""
    ordered = sorted(times)
    gaps = [round(b - a, 9) for a, b in itertools.pairwise(ordered)]
    assert gaps, times
    assert all(interval - 1e-9 <= gap <= interval + SLACK for gap in gaps), gaps
    assert sum(1 for gap in gaps if gap == interval) >= len(gaps) / 2, gaps


def test_pacing_starts_an_iteration_every_interval(clock: FakeClock) -> None:
    calls = Calls(clock)
    result = _run(calls, clock, users=2, duration=1.0, pacing="100ms")
    for user in (0, 1):
        times = calls.times(user)
        assert min(times) <= POLL + SLACK
        _assert_paced(times, 0.1)
        assert 8 <= len(times) <= 10, user
    assert result.total == len(calls.seen)


def test_pacing_does_not_pause_after_an_iteration_slower_than_it(clock: FakeClock) -> None:
    starts: list[float] = []
    t0 = clock.now_ns()

    def slow() -> None:
        starts.append((clock.now_ns() - t0) / NS)
        clock.pass_time(0.14)

    result = _run(slow, clock, users=1, duration=0.6, pacing="100ms")
    # back to back every 0.14 s, not 0.1 s; the call in flight at 0.6 s ends with the run
    _assert_paced(starts, 0.14)
    assert 4 <= len(starts) <= 5
    assert result.p50 == pytest.approx(140.0, rel=1e-3)


def test_pacing_with_stages(clock: FakeClock) -> None:
    calls = Calls(clock)
    _run(calls, clock, stages="0.1s:2,0.9s:2", pacing="200ms")
    for user in (0, 1):
        times = calls.times(user)
        _assert_paced(times, 0.2)
        assert 4 <= len(times) <= 5, user
    # the profile passes 1 at 0.05 s; the fake clock gets there at 0.06 s
    assert 0.05 <= min(calls.times(1)) <= 0.06 + SLACK
