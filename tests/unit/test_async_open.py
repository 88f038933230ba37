"""The open model for async targets: iterations started at a rate as tasks on one event loop.

The fake clock is moved by the engine's main loop (``moved_by="main"``); a target that takes
time awaits :func:`pass_time`, which waits for the clock on a worker thread so that the loop
goes on meanwhile.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
from typing import Any

import pytest

from pytest_loadtest._engine._async_open import AsyncOpenDriver
from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._engine._users import VirtualUser
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._scenario._target import Scenario, build_plan
from pytest_loadtest._settings._layers import resolve_settings

from helpers.clock import NS, FakeClock


def _engine(target: object, clock: FakeClock | None = None, **settings: Any) -> Engine:
    settings.setdefault("max_users", 10)
    resolved = resolve_settings([("test", {"seed": 1, "stop_timeout": 2.0, **settings})])
    return Engine(build_plan(target), resolved, clock=clock)


def _run(target: object, clock: FakeClock | None = None, **settings: Any) -> LoadResult:
    return _engine(target, clock, **settings).run()


async def pass_time(clock: FakeClock, seconds: float) -> None:
    """A call taking ``seconds`` of the fake clock, without blocking the loop."""
    await asyncio.get_running_loop().run_in_executor(None, clock.pass_time, seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(moved_by="main")


def test_constant_rate_starts_each_iteration_on_schedule(clock: FakeClock) -> None:
    start = clock.now_ns()
    starts: list[float] = []
    threads: set[int] = set()

    async def fetch() -> None:
        starts.append((clock.now_ns() - start) / NS)
        threads.add(threading.get_ident())

    # a user for every iteration: on a busy machine the main thread may move the fake clock on
    # while the loop thread waits for a core, and iterations then fall due together
    engine = _engine(fetch, clock, rate=100, duration=1.0, max_users=100)
    assert isinstance(engine.driver, AsyncOpenDriver)
    result = engine.run()
    assert result.model == "open"
    assert (result.scheduled, result.dropped, result.total) == (100, 0, 100)
    assert len(threads) == 1
    lags = [t - k / 100 for k, t in enumerate(sorted(starts))]
    # never early; on time but for a loop thread that waited for a core while the main thread
    # moved the fake clock on (a busy machine), which delays a few
    assert all(lag >= -1e-9 for lag in lags), lags
    assert statistics.median(lags) <= 0.05, lags
    assert result.start_lag is not None
    assert result.service_time is not None


def test_iterations_due_when_every_user_is_busy_are_dropped_and_counted(clock: FakeClock) -> None:
    async def work() -> None:
        await pass_time(clock, 0.05)  # two users serve at most 40/s

    result = _run(work, clock, rate=100, duration=1.0, max_users=2)
    assert result.scheduled == 100
    assert result.dropped >= 40
    assert result.total + result.dropped == result.scheduled
    assert sum(row.dropped for row in result.timeline) == result.dropped
    assert result.peak_active == 2


def test_latency_is_measured_from_the_intended_start(clock: FakeClock) -> None:
    async def work() -> None:
        await pass_time(clock, 0.03)

    result = _run(work, clock, rate=100, duration=0.5, max_users=10)
    assert result.service_time is not None
    assert result.service_time.p50 == pytest.approx(30.0, rel=0.1)
    assert result.p50 >= result.service_time.p50


def test_iterations_limit_a_run(clock: FakeClock) -> None:
    async def fetch() -> None:
        pass

    result = _run(fetch, clock, rate=100, iterations=30, duration=60.0)
    assert result.total == 30
    assert result.duration < 1.0


def test_hooks_and_a_failed_on_start(clock: FakeClock) -> None:
    events: list[tuple[str, int]] = []
    shop = Scenario("shop")

    @shop.on_start
    async def login(vu: VirtualUser) -> None:
        events.append(("login", vu.id))
        if vu.id == 0:
            raise PermissionError("no")

    @shop.on_stop
    def logout(vu: VirtualUser) -> None:
        events.append(("logout", vu.id))

    @shop.task
    async def browse(vu: VirtualUser) -> None:
        assert vu.id != 0

    result = _run(shop, clock, rate=50, duration=0.5)
    assert result.operations["browse"].errors == 0
    assert result.operations["login"].errors == 1
    assert result.dropped == 1  # the iteration handed to user 0
    assert result.total + result.dropped == result.scheduled
    logins = {u for kind, u in events if kind == "login"}
    assert logins == {u for kind, u in events if kind == "logout"}


def test_a_lock_made_in_the_test_body_is_shared() -> None:
    lock = asyncio.Lock()

    async def locked() -> None:
        async with lock:
            await asyncio.sleep(0.002)

    result = _run(locked, rate=200, duration=0.5, max_users=50)
    assert result.errors == 0
    assert result.total > 0


def test_pending_calls_are_cancelled_after_stop_timeout_and_reported_hung() -> None:
    never = asyncio.Event()

    async def stuck(vu: VirtualUser) -> None:
        if vu.id == 0:
            await never.wait()

    result = _run(stuck, rate=20, duration=0.3, stop_timeout=0.2, max_users=4)
    assert result.hung == {"stuck": 1}
