"""The engine driven by a fake clock: time moves only when a target or a sleep moves it."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._engine._users import VirtualUser
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._model._sla import parse_sla
from pytest_loadtest._scenario._target import Scenario, build_plan
from pytest_loadtest._settings._parsers import ThinkTime
from pytest_loadtest._settings._settings import LoadSettings

from helpers.clock import FakeClock

NS = 1_000_000_000


def _settings(**kwargs: Any) -> LoadSettings:
    kwargs.setdefault("users", 1)
    kwargs.setdefault("seed", 1)
    kwargs.setdefault("stop_timeout", 2.0)
    return LoadSettings(**kwargs)


def _run(target: object, clock: FakeClock | None = None, **settings: Any) -> LoadResult:
    return Engine(build_plan(target), _settings(**settings), clock=clock).run()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_fixed_latency_with_one_user(clock: FakeClock) -> None:
    def ten_ms() -> None:
        clock.advance(0.010)

    result = _run(ten_ms, clock, iterations=100)
    assert result.total == 100
    assert result.errors == 0
    assert result.p50 == pytest.approx(10.0, rel=1e-3)
    assert result.p99 == pytest.approx(10.0, rel=1e-3)
    assert (result.min, result.max, result.mean) == (10.0, 10.0, 10.0)
    assert result.stdev == 0.0
    assert result.duration == pytest.approx(1.0)
    assert result.throughput == pytest.approx(100.0)
    assert result.users == 1
    assert result.peak_active == 1
    assert result.idle_users == 0
    assert not result.interrupted
    assert result.hung == {}
    assert result.passed
    assert list(result.operations) == ["ten_ms"]
    assert result.operations["ten_ms"].kind == "task"
    assert result.name == "ten_ms"
    assert result.settings["iterations"] == 100


def test_duration_ends_the_run(clock: FakeClock) -> None:
    def five_ms() -> None:
        clock.advance(0.005)

    result = _run(five_ms, clock, duration=2.0)
    # the call that crosses the deadline still counts: 400 calls end exactly at 2 s
    assert result.total == 400
    assert result.duration == pytest.approx(2.0)
    assert [row.t for row in result.timeline] == [0.0, 1.0, 2.0]
    assert [row.calls for row in result.timeline][:2] == [200, 200]


def test_timeline_rows_cover_each_second(clock: FakeClock) -> None:
    calls = itertools.count()

    def slower_later() -> None:
        clock.advance(0.010 if next(calls) < 100 else 0.020)

    result = _run(slower_later, clock, iterations=150)
    rows = [row for row in result.timeline if row.calls]
    assert [(row.t, row.calls) for row in rows] == [(0.0, 100), (1.0, 50)]
    assert rows[0].p99 == pytest.approx(10.0, rel=1e-3)
    assert rows[1].p50 == pytest.approx(20.0, rel=1e-3)
    assert all(row.users == 0 or row.users == 1 for row in result.timeline)
    assert result.duration == pytest.approx(2.0)


def test_errors_are_counted_by_type_with_first_message_and_traceback(clock: FakeClock) -> None:
    calls = itertools.count()

    def flaky() -> None:
        n = next(calls)
        clock.advance(0.001)
        if n % 4 == 1:
            raise ValueError(f"bad value {n}")
        if n % 4 == 3:
            raise KeyError(n)

    result = _run(flaky, clock, iterations=40)
    assert result.total == 40
    assert result.errors == 20
    assert result.error_rate == 0.5
    errors = result.errors_by_type
    assert {name: e.count for name, e in errors.items()} == {"ValueError": 10, "KeyError": 10}
    assert errors["ValueError"].message == "bad value 1"
    assert errors["KeyError"].message == "3"
    assert "ValueError: bad value 1" in errors["ValueError"].traceback
    assert "in flaky" in errors["ValueError"].traceback
    assert result.operations["flaky"].errors == 20


def test_sla_is_evaluated(clock: FakeClock) -> None:
    def ten_ms() -> None:
        clock.advance(0.010)

    sla = parse_sla({"p50": 5, "max": 20, "throughput_min": 200})
    result = _run(ten_ms, clock, iterations=50, sla=sla)
    assert [b.metric for b in result.sla_breaches] == ["p50", "throughput_min"]
    assert not result.passed
    assert result.sla_breaches[0].low_sample is False


def test_keyboard_interrupt_in_a_target_interrupts_the_run(clock: FakeClock) -> None:
    calls = itertools.count()

    def interrupted() -> None:
        if next(calls) == 4:
            raise KeyboardInterrupt
        clock.advance(0.010)

    result = _run(interrupted, clock, duration=60.0)
    assert result.interrupted
    assert result.total == 4
    assert result.duration == pytest.approx(0.04)


def test_system_exit_in_a_target_stops_the_run_with_an_error(clock: FakeClock) -> None:
    def exits() -> None:
        clock.advance(0.001)
        raise SystemExit(3)

    result = _run(exits, clock, duration=60.0)  # the figures are kept (issue 12)
    assert result.stopped_by == "SystemExit(3) raised in operation 'exits'"
    assert any("stopped early by SystemExit(3)" in b.message for b in result.sla_breaches)
    assert not result.passed


def test_iterations_are_exactly_honoured_with_several_users() -> None:
    counter = itertools.count()

    def counted() -> None:
        next(counter)

    result = _run(counted, users=8, iterations=1000, duration=30.0)
    assert result.total == 1000
    assert next(counter) == 1000


def test_iterations_are_exactly_honoured_in_the_generic_loop() -> None:
    seen: list[int] = []

    def counted(vu: VirtualUser) -> None:
        seen.append(vu.id)

    result = _run(counted, users=4, iterations=500, duration=30.0)
    assert result.total == len(seen) == 500


def test_think_time_callable_receives_the_user(clock: FakeClock) -> None:
    seen: list[tuple[int, int]] = []

    def pause(vu: VirtualUser) -> float:
        seen.append((vu.id, vu.iteration))
        return 0.5

    def work() -> None:
        clock.advance(0.010)

    result = _run(work, clock, iterations=5, think_time=ThinkTime(func=pause))
    assert seen == [(0, 1), (0, 2), (0, 3), (0, 4), (0, 5)]
    assert clock.sleeps == [0.5] * 5
    assert result.total == 5
    assert result.p50 == pytest.approx(10.0, rel=1e-3)  # pauses are not part of the latency


def test_uniform_think_time_draws_from_the_range(clock: FakeClock) -> None:
    def work() -> None:
        clock.advance(0.001)

    _run(work, clock, iterations=50, think_time=ThinkTime(0.01, 0.05))
    assert len(clock.sleeps) == 50
    assert all(0.01 <= s <= 0.05 for s in clock.sleeps)
    assert len(set(clock.sleeps)) > 40


def test_on_start_failure_stops_that_user_and_is_reported_under_the_hook(
    clock: FakeClock,
) -> None:
    scenario = Scenario("app")
    ran: list[int] = []
    stopped: list[int] = []
    both = threading.Barrier(2, timeout=5)

    @scenario.on_start
    def login(vu: VirtualUser) -> None:
        both.wait()  # user 0 must not use up the iterations before user 1 starts
        clock.advance(0.002)
        if vu.id == 1:
            raise PermissionError("wrong password")

    @scenario.task
    def work(vu: VirtualUser) -> None:
        ran.append(vu.id)
        clock.advance(0.010)

    @scenario.on_stop
    def logout(vu: VirtualUser) -> None:
        stopped.append(vu.id)

    result = _run(scenario, clock, users=2, iterations=20)
    assert set(ran) == {0}
    assert stopped == [0]  # a user that never started does not stop either
    assert result.total == 20
    hook = result.operations["login"]
    assert hook.kind == "hook"
    assert hook.total == 2
    assert hook.errors == 1
    assert hook.errors_by_type["PermissionError"].message == "wrong password"
    assert result.operations["logout"].total == 1
    assert result.errors == 0  # hooks are not calls of the target
    assert result.errors_by_type["PermissionError"].count == 1


def test_steps_are_operations_of_their_own(clock: FakeClock) -> None:
    def checkout(vu: VirtualUser) -> None:
        with vu.step("cart"):
            clock.advance(0.002)
        with vu.step("pay"):
            clock.advance(0.003)
            if vu.iteration % 2:
                raise TimeoutError("bank")

    result = _run(checkout, clock, iterations=10)
    assert list(result.operations) == ["checkout", "cart", "pay"]
    cart, pay = result.operations["cart"], result.operations["pay"]
    assert (cart.kind, cart.parent, cart.total) == ("step", "checkout", 10)
    assert (pay.kind, pay.parent, pay.total, pay.errors) == ("step", "checkout", 10, 5)
    assert cart.p50 == pytest.approx(2.0, rel=1e-3)
    assert pay.p50 == pytest.approx(3.0, rel=1e-3)
    assert result.total == 10  # steps are not extra calls
    assert result.p50 == pytest.approx(5.0, rel=1e-3)
    assert result.errors == 5
    assert result.errors_by_type["TimeoutError"].count == 5  # counted once, not per step too
    assert sum(row.calls for row in result.timeline) == 10


def _first_draws(seed: int) -> dict[int, list[float]]:
    draws: dict[int, list[float]] = {}
    everyone = threading.Barrier(3, timeout=5)
    scenario = Scenario()

    @scenario.on_start
    def draw(vu: VirtualUser) -> None:
        draws[vu.id] = [vu.random.random() for _ in range(3)]
        everyone.wait()  # keeps every user alive until all have started

    @scenario.task
    def noop() -> None:
        pass

    _run(scenario, users=3, iterations=3, seed=seed, duration=30.0)
    return draws


def test_user_random_is_seeded_by_seed_and_id() -> None:
    first, again, other = _first_draws(7), _first_draws(7), _first_draws(8)
    assert set(first) == {0, 1, 2}
    assert first == again
    assert first != other
    assert first[0] != first[1] != first[2]


def _idle() -> None:
    threading.Event().wait(0.0005)  # lets other threads run; the fake time stands still


def test_ramp_up_starts_users_over_time() -> None:
    clock = FakeClock(moved_by="main")
    started: dict[int, int] = {}
    scenario = Scenario()

    @scenario.on_start
    def note_start(vu: VirtualUser) -> None:
        started[vu.id] = vu.span_start  # set by the engine as the user enters its loop

    scenario.task(_idle)
    start = clock.now_ns()
    result = _run(scenario, clock, users=4, ramp_up=1.0, duration=2.0)
    assert sorted(started) == [0, 1, 2, 3]
    for user_id, due in enumerate([0.0, 0.25, 0.5, 0.75]):
        assert (started[user_id] - start) / NS >= due - 1e-9, user_id
    assert result.peak_active == 4
    assert result.users == 4
    assert result.idle_users == 0


def test_ramp_up_longer_than_the_run_starts_fewer_users() -> None:
    clock = FakeClock(moved_by="main")
    started: list[int] = []
    scenario = Scenario()

    @scenario.on_start
    def note_start(vu: VirtualUser) -> None:
        started.append(vu.id)

    scenario.task(_idle)
    result = _run(scenario, clock, users=10, ramp_up=5.0, duration=1.5)
    assert sorted(started) == [0, 1, 2]  # slots at 0, 0.5 and 1 s; the 4th is at the end
    assert result.users == 10
    assert result.peak_active == 3
    assert result.idle_users == 7


def test_hung_calls_are_reported(clock: FakeClock) -> None:
    release = threading.Event()
    calls = itertools.count()

    def blocking() -> None:
        if next(calls) < 3:
            clock.advance(0.1)  # one tick a call: each is handed over before the next starts
            return
        clock.advance(10.0)  # past the end of the run
        release.wait(10)

    try:
        result = _run(blocking, clock, duration=1.0, stop_timeout=0.2)
    finally:
        release.set()
    assert result.hung == {"blocking": 1}
    assert result.total == 3
    assert result.p50 == pytest.approx(100.0, rel=1e-3)
    hung = [b for b in result.sla_breaches if b.metric == "hung"]
    assert len(hung) == 1
    assert hung[0].measured == 1.0
    assert "blocking x1" in hung[0].message
    assert not result.passed


def test_calls_completed_just_before_a_hang_are_counted(clock: FakeClock) -> None:
    release = threading.Event()
    calls = itertools.count()

    def blocking() -> None:
        if next(calls) < 3:
            clock.advance(0.010)  # three calls inside one 100 ms tick
            return
        clock.advance(10.0)
        release.wait(10)

    try:
        result = _run(blocking, clock, duration=1.0, stop_timeout=0.2)
    finally:
        release.set()
    assert result.hung == {"blocking": 1}
    # only the hung call is left out of the statistics
    assert result.total == 3


def test_hung_calls_name_the_running_task(clock: FakeClock) -> None:
    release = threading.Event()

    def stuck(vu: VirtualUser) -> None:
        clock.advance(5.0)
        release.wait(10)

    def fine() -> None:
        clock.advance(0.001)

    try:
        result = _run({"stuck": stuck, "fine": fine}, clock, duration=1.0, stop_timeout=0.2)
    finally:
        release.set()
    assert result.hung == {"stuck": 1}


def test_window_must_be_a_whole_number_of_ticks() -> None:
    with pytest.raises(ValueError, match="whole number of ticks"):
        Engine(build_plan(lambda: None), _settings(), tick=0.3, window=1.0)


def test_async_target_runs_on_the_user_loop(clock: FakeClock) -> None:
    seen: list[int] = []

    async def fetch(vu: VirtualUser) -> None:
        seen.append(vu.id)
        clock.advance(0.004)

    result = _run(fetch, clock, iterations=6)
    assert seen == [0] * 6
    assert result.p50 == pytest.approx(4.0, rel=1e-3)


def test_warmup_calls_are_left_out(clock: FakeClock) -> None:
    def ten_ms() -> None:
        clock.advance(0.010)

    result = _run(ten_ms, clock, duration=2.0, warmup=1.0)
    assert result.total == 100
    assert result.duration == pytest.approx(1.0)
    assert [row.warmup for row in result.timeline] == [True, False, False]
    assert result.timeline[0].calls == 100
