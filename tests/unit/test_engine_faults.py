"""Hostile targets: what they raise, what their messages hold, calls that hang; the figures are
never lost (issue 12)."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from typing import Any

import pytest

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._engine._recorder import Recorder
from pytest_loadtest._engine._users import VirtualUser
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._scenario._target import Scenario, build_plan
from pytest_loadtest._settings._settings import LoadSettings

from helpers.clock import FakeClock


def _run(target: object, clock: FakeClock | None = None, **settings: Any) -> LoadResult:
    settings.setdefault("users", 1)
    settings.setdefault("seed", 1)
    return Engine(build_plan(target), LoadSettings(**settings), clock=clock).run()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


class NotText(Exception):
    def __str__(self) -> Any:
        return 42


class Custom(BaseException):
    """A BaseException of the user's own."""


@pytest.mark.parametrize(
    ("exc", "type_name", "message"),
    [
        (Unprintable(), "Unprintable", "<Unprintable object: str() raised RuntimeError>"),
        (NotText(), "NotText", "<NotText object: str() raised TypeError>"),
        (GeneratorExit("bye"), "GeneratorExit", "bye"),
        (asyncio.CancelledError("gone"), "CancelledError", "gone"),
        (Custom("mine"), "Custom", "mine"),
        (ValueError("bad \udcff byte"), "ValueError", "bad \\udcff byte"),
    ],
)
def test_what_a_target_raises_is_an_error_of_its_operation(
    clock: FakeClock, exc: BaseException, type_name: str, message: str
) -> None:
    calls = itertools.count()

    def target() -> None:
        clock.advance(0.01)
        if next(calls) % 2:
            raise exc

    result = _run(target, clock, iterations=10)
    assert result.total == 10
    assert result.errors == 5
    sample = result.errors_by_type[type_name]
    assert sample.count == 5
    assert sample.message == message
    json.dumps(result.to_dict()).encode("utf-8")  # every text is valid UTF-8


def test_system_exit_stops_the_run_and_keeps_its_figures(clock: FakeClock) -> None:
    calls = itertools.count()

    def exits() -> None:
        clock.advance(0.001)
        if next(calls) == 9:
            raise SystemExit(3)

    result = _run(exits, clock, duration=60.0)
    assert result.total == 9
    assert result.stopped_by == "SystemExit(3) raised in operation 'exits'"
    stopped = [b for b in result.sla_breaches if b.metric == "stopped"]
    assert len(stopped) == 1
    assert "SystemExit(3)" in stopped[0].message
    assert not result.passed
    again = LoadResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.stopped_by == result.stopped_by


def test_lone_surrogates_in_names_stay_valid_text(clock: FakeClock) -> None:
    name = "conf-\udcff.toml"

    def task(vu: VirtualUser) -> None:
        with vu.step(f"read {name}"):
            clock.advance(0.01)
            raise OSError(f"cannot read {name}")

    result = _run({name: task}, clock, iterations=3)
    text = json.dumps(result.to_dict(), ensure_ascii=False)
    text.encode("utf-8")
    assert result.operations["conf-\\udcff.toml"].errors == 3
    step = result.operations["read conf-\\udcff.toml"]
    assert step.errors_by_type["OSError"].message == "cannot read conf-\\udcff.toml"


def test_a_hung_call_in_a_limited_run_holds_it_stop_timeout_not_its_duration() -> None:
    """With iterations and no duration (at most 600 s), one call that never returns ends the
    run stop_timeout after the last other call finished."""
    release = threading.Event()
    calls = itertools.count()

    def target() -> None:
        if next(calls) == 5:
            release.wait(60)
        time.sleep(0.001)

    start = time.monotonic()
    try:
        result = _run(target, users=2, iterations=40, stop_timeout=0.3)
    finally:
        release.set()
    elapsed = time.monotonic() - start
    assert result.hung == {"target": 1}
    assert result.total == 39
    assert elapsed < 30, f"{elapsed:.1f}s: the run waited for its 600 s cap"
    # the measured run ended with the last finished call, not after the wait
    assert result.duration < elapsed


def test_a_hung_call_in_a_step_is_reported_under_the_step(clock: FakeClock) -> None:
    release = threading.Event()

    def task(vu: VirtualUser) -> None:
        with vu.step("inner"):
            clock.advance(5.0)
            release.wait(10)

    try:
        result = _run(task, clock, duration=1.0, stop_timeout=0.2)
    finally:
        release.set()
    assert result.hung == {"inner": 1}
    assert result.operations["inner"].parent == "task"


def test_nested_steps_keep_the_task_as_their_parent(clock: FakeClock) -> None:
    def task(vu: VirtualUser) -> None:
        with vu.step("outer"):
            with vu.step("inner"):
                clock.advance(0.01)
            clock.advance(0.01)

    result = _run(task, clock, iterations=2)
    assert result.operations["outer"].parent == "task"
    assert result.operations["inner"].parent == "task"


def test_open_model_iterations_given_to_a_user_whose_on_start_failed_are_dropped() -> None:
    shop = Scenario("shop")

    @shop.on_start
    def login(vu: VirtualUser) -> None:
        raise ConnectionError("refused")

    @shop.task
    def browse(vu: VirtualUser) -> None:
        pass

    clock = FakeClock(moved_by="main")
    result = Engine(
        build_plan(shop),
        LoadSettings(rate=100, duration=1.0, max_users=3, seed=1, stop_timeout=1.0),
        clock=clock,
    ).run()
    assert result.total == 0
    assert result.scheduled > 0
    assert result.dropped == result.scheduled  # none started: every one counted
    assert sum(row.dropped for row in result.timeline) == result.dropped


def test_a_user_folds_its_own_backlog_when_the_collector_falls_behind() -> None:
    """Backpressure: with no collector at all, a user's flushes fold what waits once it passes
    the user's share of the backlog limit; every duration is counted once."""
    recorder = Recorder(0, backlog_limit=50_000, relieve_wait=0.0)
    recorder.users = 1
    op = recorder.operation("noop", "task")
    vu = VirtualUser(0, 1, recorder, lambda: 0)
    pending_peak = 0
    for _ in range(200):
        vu.buffer(op).extend([1_000] * 1_000)
        vu.flush(0)
        pending_peak = max(pending_peak, sum(len(chunk) for _, _, chunk, _ in recorder._pending))
    assert pending_peak <= 50_000 + 1_000
    recorder.finish(0)
    assert recorder.operations[op].histogram.count == 200_000
    assert vu.drained == 200_000


def test_many_users_together_stay_under_the_backlog_limit() -> None:
    """Each of 100 users stays under its own share (USER_BACKLOG_MIN), yet together they
    would pass the limit: the limit on everyone's backlog holds."""
    recorder = Recorder(0, backlog_limit=50_000, relieve_wait=0.0)
    recorder.users = 100
    op = recorder.operation("noop", "task")
    users = [VirtualUser(i, 100, recorder, lambda: 0) for i in range(100)]
    peak = 0
    for _ in range(10):
        for vu in users:
            vu.buffer(op).extend([1_000] * 1_000)
            vu.flush(0)
            peak = max(peak, recorder.pending_total)
    assert peak <= 50_000 + 1_000
    recorder.finish(0)
    assert recorder.operations[op].histogram.count == 1_000_000
    assert recorder.pending_total == 0


def test_with_a_collector_a_user_over_the_limit_waits_for_it() -> None:
    """Folding stays on the collector's thread while there is one (a user waits past
    relieve_wait, again and again); once it stops, a waiting user folds its backlog itself."""
    recorder = Recorder(0, backlog_limit=10_000, relieve_wait=0.001)
    recorder.users = 1
    op = recorder.operation("noop", "task")
    vu = VirtualUser(0, 1, recorder, lambda: 0)
    folders: list[str] = []
    drain = recorder._drain

    def traced(now_ns: int | None) -> None:
        folders.append(threading.current_thread().name)
        drain(now_ns)

    recorder._drain = traced  # type: ignore[method-assign]
    recorder.collecting = True
    user = threading.Thread(target=_flood, args=(vu, op), name="user")
    user.start()
    while not recorder.wanted.wait(0.01):  # the user asks for a fold...
        assert user.is_alive()
    user.join(0.05)
    assert user.is_alive()  # ...and waits for it, past many relieve_waits
    assert folders == []
    collector = threading.Thread(target=recorder.drain, args=(0,), name="collector")
    collector.start()
    collector.join()
    user.join(30)
    assert not user.is_alive()
    assert folders == ["collector"]

    recorder.collecting = True  # again, and this time the collector stops instead
    recorder.wanted.clear()
    user = threading.Thread(target=_flood, args=(vu, op), name="user")
    user.start()
    while not recorder.wanted.wait(0.01):
        pass
    recorder.stop_collecting()
    user.join(30)
    assert not user.is_alive()
    assert folders[-1] == "user"
    recorder.finish(0)
    assert recorder.operations[op].histogram.count == vu.drained == 2 * 20_000


def _flood(vu: VirtualUser, op: int) -> None:
    vu.buffer(op).extend([1_000] * 20_000)
    vu.flush(0)
