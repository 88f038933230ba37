"""Loop health: the lag probe's book-keeping, step timing of a target's coroutine (fake clock),
the summary, the ``event_loop_blocked`` rule, and how the reports tell it."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Generator
from typing import Any

import pytest

from pytest_loadtest._engine._driver import DriverFigures
from pytest_loadtest._engine._lag import (
    QUIET_WAKES,
    REST_WAKES,
    STEPPING_LAG_NS,
    LoopMeter,
    timed,
)
from pytest_loadtest._engine._record import RunRecord
from pytest_loadtest._model._loop import BlockingSteps, LoopHealth, percentile
from pytest_loadtest._monitor._facts import RunFacts
from pytest_loadtest._monitor._loop_rules import EventLoopBlocked

from helpers.clock import FakeClock
from helpers.loop_health import health_of

MS = 1_000_000


# -- the meter: lag, blame, windows ------------------------------------------------------------
def test_a_late_wake_up_is_blamed_only_for_the_part_blocking_steps_overlap() -> None:
    meter = LoopMeter()
    meter.begin(start_ns=0, window_ns=1000 * MS)
    # a 30 ms step ending at 120 ms: of the wake-up due at 100 and run at 130, it overlaps
    # 100..120; the 10 ms after it are someone else's (the harness, the machine)
    meter.blocked("checkout", end_ns=120 * MS, length_ns=30 * MS)
    meter.wake(due_ns=100 * MS, woke_ns=130 * MS)
    # a long step that ended before the next wake-up was due caused none of its lag
    meter.blocked("checkout", end_ns=150 * MS, length_ns=20 * MS)
    meter.wake(due_ns=180 * MS, woke_ns=190 * MS)
    # on time: no lag at all
    meter.wake(due_ns=240 * MS, woke_ns=240 * MS)
    health = meter.health()
    assert health is not None
    assert health.wakes == 3
    assert health.lag_max == pytest.approx(30.0)
    assert health.blamed_max == pytest.approx(20.0)
    assert health.operations == {"checkout": BlockingSteps(2, 50.0, 30.0)}
    assert health.windows == {0: pytest.approx(30.0)}


def test_harness_lag_is_never_blamed() -> None:
    meter = LoopMeter()
    meter.begin(start_ns=0, window_ns=1000 * MS)
    for i in range(100):
        meter.wake(due_ns=i * 100 * MS, woke_ns=i * 100 * MS + 40 * MS)  # late, no step held it
    health = meter.health()
    assert health is not None
    assert health.lag_p99 == pytest.approx(40.0)
    assert health.blamed_p99 == 0.0
    assert health.operations == {}
    assert EventLoopBlocked().check(RunFacts(duration=10.0, loop=health)) == []


def test_each_window_keeps_its_worst_lag() -> None:
    meter = LoopMeter()
    meter.begin(start_ns=5_000 * MS, window_ns=1000 * MS)
    meter.wake(5_100 * MS, 5_102 * MS)
    meter.wake(5_200 * MS, 5_207 * MS)
    meter.wake(6_500 * MS, 6_501 * MS)
    health = meter.health()
    assert health is not None
    assert health.windows == {0: pytest.approx(7.0), 1: pytest.approx(1.0)}
    assert health.lag_at(1.0, 1.0) == pytest.approx(1.0)
    assert math.isnan(health.lag_at(2.0, 1.0))


def test_steps_are_timed_from_a_late_wake_up_until_the_loop_is_quiet() -> None:
    lagging: set[LoopMeter] = set()
    meter = LoopMeter(lagging=lagging)

    def wake(lag: int) -> None:
        meter.blocked("op", end_ns=lag, length_ns=lag)  # the target's lag: timing stays on
        meter.wake(0, lag)

    seen = [meter.stepping]  # a healthy loop pays no step timing
    wake(STEPPING_LAG_NS - 1)
    seen.append(meter.stepping)
    wake(STEPPING_LAG_NS)
    seen.append(meter.stepping)
    assert lagging == {meter}  # calls of every loop look for their loop's meter
    for _ in range(QUIET_WAKES - 1):
        wake(0)
    seen.append(meter.stepping)
    wake(STEPPING_LAG_NS)  # lag again: counting starts over
    for _ in range(QUIET_WAKES - 1):
        wake(0)
    seen.append(meter.stepping)
    wake(0)
    seen.append(meter.stepping)
    assert seen == [False, False, True, True, True, False]
    assert lagging == set()


def test_timing_backs_off_when_it_finds_no_blocking_step() -> None:
    """Lag the target's steps do not explain (the harness, the machine): timing stops after
    QUIET_WAKES and lag does not turn it on again for REST_WAKES; a target whose steps cause
    the lag keeps it on."""
    meter = LoopMeter()
    for _ in range(QUIET_WAKES + 1):  # the first turns timing on
        meter.wake(0, STEPPING_LAG_NS)
    seen = [meter.stepping]
    for _ in range(REST_WAKES):
        meter.wake(0, STEPPING_LAG_NS)
    seen.append(meter.stepping)
    meter.wake(0, STEPPING_LAG_NS)
    seen.append(meter.stepping)
    for _ in range(3 * QUIET_WAKES):
        meter.blocked("op", end_ns=STEPPING_LAG_NS, length_ns=STEPPING_LAG_NS)
        meter.wake(0, STEPPING_LAG_NS)
    seen.append(meter.stepping)
    assert seen == [False, False, True, True]


def test_a_meter_that_saw_nothing_has_no_health() -> None:
    assert LoopMeter().health() is None


# -- step timing of a target's coroutine ---------------------------------------------------------
class _Yield:
    """An awaitable that suspends its coroutine once (yields to the driver)."""

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield "suspended")


def _iterator(awaitable: Any) -> Any:
    """What ``await`` drives: a generator-based coroutine is its own iterator."""
    return awaitable.__await__() if hasattr(awaitable, "__await__") else awaitable


def _drive(awaitable: Any, *sent: Any) -> list[Any]:
    """Run ``awaitable``'s steps by hand: what each step yielded, then the return value."""
    gen = _iterator(awaitable)
    out = [gen.send(None)]
    try:
        for value in sent:
            out.append(gen.send(value))
    except StopIteration as stop:
        out.append(("returned", stop.value))
    return out


def test_each_step_of_the_target_is_timed_on_the_clock() -> None:
    clock = FakeClock(moved_by="test")
    meter = LoopMeter()

    async def target() -> str:
        clock.advance(0.030)  # a time.sleep(0.03): the loop is held
        got = await _Yield()
        clock.advance(0.001)  # a short step: not noted
        await _Yield()
        clock.advance(0.007)
        return f"done {got}"

    driven = _drive(timed(target(), meter, "checkout", clock.now_ns), "a", "b")
    assert driven == ["suspended", "suspended", ("returned", "done a")]
    health = meter.health()
    assert health is not None
    steps = health.operations["checkout"]
    assert steps.steps == 2
    assert steps.total_ms == pytest.approx(37.0)
    assert steps.longest_ms == pytest.approx(30.0)


def test_timed_hands_exceptions_and_cancellation_to_the_target() -> None:
    clock = FakeClock(moved_by="test")
    meter = LoopMeter()
    seen: list[str] = []

    async def target() -> None:
        try:
            await _Yield()
        except asyncio.CancelledError:
            seen.append("cancelled")
            clock.advance(0.010)  # its clean-up blocks too: still timed
            raise

    gen = _iterator(timed(target(), meter, "op", clock.now_ns))
    gen.send(None)
    with pytest.raises(asyncio.CancelledError):
        gen.throw(asyncio.CancelledError())
    assert seen == ["cancelled"]
    assert meter._ops["op"].longest_ms == pytest.approx(10.0)

    async def failing() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        _drive(timed(failing(), meter, "op", clock.now_ns))


def test_closing_the_timed_awaitable_closes_the_target() -> None:
    closed: list[bool] = []

    async def target() -> None:
        try:
            await _Yield()
        finally:
            closed.append(True)

    gen = _iterator(timed(target(), LoopMeter(), "op"))
    gen.send(None)
    gen.close()
    assert closed == [True]


def test_any_awaitable_can_be_timed() -> None:
    clock = FakeClock(moved_by="test")
    steps = _drive(timed(_Yield(), LoopMeter(), "op", clock.now_ns), 7)
    assert steps == ["suspended", ("returned", 7)]


def test_the_probe_sees_a_loop_blocked_by_a_timed_step() -> None:
    """On a real loop: a ``time.sleep`` inside a timed step holds the loop past the probe's
    wake-up; the lag it caused is at least most of the sleep (more only on a busy machine)."""
    import time

    meter = LoopMeter(interval=0.01)
    meter.stepping = True

    async def blocker() -> None:
        await asyncio.sleep(0.02)
        time.sleep(0.1)
        await asyncio.sleep(0.05)

    async def main() -> None:
        async with meter.probing(
            time.perf_counter_ns, start_ns=time.perf_counter_ns(), window_ns=10**9
        ):
            await timed(blocker(), meter, "blocker")

    asyncio.run(main())
    health = meter.health()
    assert health is not None
    assert health.lag_max >= 80.0  # the probe was due at most 10 ms into the 100 ms sleep
    assert health.blamed_max >= 80.0
    assert health.operations["blocker"].longest_ms >= 100.0


def test_a_probe_that_is_off_notes_nothing() -> None:
    meter = LoopMeter(interval=0.001)

    async def main() -> None:
        async with meter.probing(lambda: 0, start_ns=0, window_ns=10**9, enabled=False):
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert meter.health() is None


# -- the summary -------------------------------------------------------------------------------
def test_percentile_by_nearest_rank() -> None:
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0
    assert percentile(list(range(1, 101)), 99) == 99
    assert math.isnan(percentile([], 99))


def test_health_round_trips_and_merges_as_the_worst_loop() -> None:
    health = health_of()
    assert LoopHealth.from_dict(json.loads(json.dumps(health.to_dict()))) == health
    calm = health_of(
        lag_p99=1.0,
        lag_max=90.0,
        blamed_p99=0.0,
        blamed_max=0.0,
        blamed_top=[],
        windows={0: 1.0, 1: 3.0},
        operations={"checkout": BlockingSteps(1, 6.0, 6.0)},
    )
    merged = LoopHealth.merge([calm, health])
    assert merged is not None
    assert (merged.lag_p99, merged.lag_max, merged.blamed_p99) == (60.0, 90.0, 50.0)
    assert merged.windows == {0: 70.0, 1: 3.0}
    assert merged.operations == {"checkout": BlockingSteps(101, 5_006.0, 51.0)}
    assert (merged.loops, merged.wakes) == (2, 200)
    assert merged.blamed_top == [55.0, 52.0, 51.0, 50.0, 50.0, 50.0]
    doubled = LoopHealth.merge([health, health])
    assert doubled is not None
    assert doubled.blamed_top[:3] == [55.0, 55.0, 52.0]
    assert LoopHealth.merge([]) is None
    empty = LoopHealth.of([], [], interval_ms=50.0, step_floor_ms=5.0)
    assert LoopHealth.from_dict(empty.to_dict()).wakes == 0


def test_the_run_record_keeps_and_merges_loop_health() -> None:
    record = _record("r", DriverFigures(loop=health_of()))
    again = RunRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again.figures.loop == health_of()
    assert RunRecord.merge([record, again]).figures.loop == LoopHealth.merge([health_of()] * 2)
    assert RunRecord.from_dict(_record("t", DriverFigures()).to_dict()).figures.loop is None


def _record(name: str, figures: DriverFigures) -> RunRecord:
    return RunRecord(
        name=name,
        window=1.0,
        duration=1.0,
        started_at=0.0,
        operations=[],
        timeline=[],
        figures=figures,
    )
