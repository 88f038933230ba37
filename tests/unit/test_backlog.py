"""The backlog between users and the collector stays bounded (issue 12, point 1): what a user
hands over at once, what a waiting user keeps alive, and no user waiting on the others for good."""

from __future__ import annotations

import threading
import weakref
from array import array
from typing import Any

import pytest

from pytest_loadtest._engine._backlog import HAND_OVER, Durations, Owner
from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._engine._recorder import Recorder
from pytest_loadtest._engine._users import VirtualUser
from pytest_loadtest._scenario._target import build_plan
from pytest_loadtest._settings._settings import LoadSettings

from helpers.clock import FakeClock


class HandedOver:
    """Spies on a recorder: the size of every chunk handed over, and whether each is still
    alive when a user waits for the collector (after a fold, nothing should keep one alive)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.sizes: list[int] = []
        self.chunks: list[weakref.ref[array[int]]] = []
        self.alive_while_waiting: list[int] = []  # per wait: chunks folded yet still alive
        submit = recorder.submit

        def spy_submit(
            op: int, span_start_ns: int, durations_ns: Durations, owner: Owner | None = None
        ) -> None:
            self.sizes.append(len(durations_ns))
            if isinstance(durations_ns, array):
                self.chunks.append(weakref.ref(durations_ns))
            submit(op, span_start_ns, durations_ns, owner)

        def fold_then_look(owner: Owner) -> None:
            recorder.drain()  # everything handed over so far is folded: the recorder drops it
            self.alive_while_waiting.append(sum(ref() is not None for ref in self.chunks))

        recorder.submit = spy_submit  # type: ignore[method-assign]
        recorder.relieve = fold_then_look  # type: ignore[method-assign]


def test_a_waiting_user_keeps_no_buffer_it_handed_over() -> None:
    """A user waiting for the collector holds none of what it handed over: folded, it is freed.
    (1,000 users each holding its last buffer while they waited grew the heap for a whole run.)"""
    recorder = Recorder(0, backlog_limit=0)
    recorder.users = 1
    spy = HandedOver(recorder)
    ops = [recorder.operation("a", "task"), recorder.operation("b", "step")]
    vu = VirtualUser(0, 1, recorder, lambda: 0)
    for _ in range(5):
        for op in ops:
            vu.buffer(op).extend([1_000] * 100)
        vu.flush(0)
    assert len(spy.chunks) == 10
    assert spy.alive_while_waiting == [0] * 5
    recorder.finish(0)
    assert sum(recorder.operations[op].histogram.count for op in ops) == 1_000


def _engine(target: Any, clock: FakeClock, **settings: Any) -> Engine:
    settings.setdefault("users", 1)
    settings.setdefault("seed", 1)
    engine = Engine(build_plan(target), LoadSettings(**settings), clock=clock)
    engine.recorder.backlog_limit = 0  # every hand-over waits for the collector
    return engine


def test_the_fast_loop_keeps_no_buffer_it_handed_over_while_it_waits() -> None:
    """The closed model's loop for a simple target drops its buffer before it waits."""
    clock = FakeClock()
    engine = _engine(lambda: clock.advance(0.001), clock, duration=1.0)
    spy = HandedOver(engine.recorder)
    result = engine.run()
    assert spy.alive_while_waiting  # the user waited at its ticks
    assert set(spy.alive_while_waiting) == {0}
    assert result.total == sum(spy.sizes)


def _noop() -> None:
    pass


def _noop_with_user(vu: VirtualUser) -> None:
    pass


@pytest.mark.parametrize("target", [_noop, _noop_with_user], ids=["fast loop", "generic loop"])
def test_a_user_alone_on_a_fast_target_hands_over_every_hand_over_calls(target: Any) -> None:
    """However long a tick lasts (here time stands still: no tick ever ends), a user hands over
    at most HAND_OVER durations at once: larger buffers, grown in the user thread's heap and
    freed on the collector's, fragmented the heap for as long as a run lasted."""
    clock = FakeClock()
    calls = 3 * HAND_OVER + 5
    engine = _engine(target, clock, iterations=calls)
    spy = HandedOver(engine.recorder)
    result = engine.run()
    assert result.total == calls == sum(spy.sizes)
    assert max(spy.sizes) <= HAND_OVER
    assert len(spy.sizes) >= 4


def test_a_waiting_user_goes_on_after_a_fold_though_others_keep_the_backlog_high() -> None:
    """A user past its share waits for a fold of what it handed over, not for everyone's
    backlog to fall: with 1,000 users on a no-op, others handed over more while it waited,
    the backlog seldom fell below half the limit, and some users waited for the whole run."""
    # woken by the fold's notice, not by a timeout between the fold and the other's hand-over
    recorder = Recorder(0, backlog_limit=10_000, relieve_wait=5.0)
    recorder.users = 2
    recorder.collecting = True
    op = recorder.operation("noop", "task")
    waiting, other = (VirtualUser(i, 1, recorder, lambda: 0) for i in range(2))
    drain = recorder._drain

    def drain_then_other_hands_over(now_ns: int | None) -> None:
        drain(now_ns)
        other.buffer(op).extend([1_000] * 20_000)  # more than half the limit, not folded
        other.flush(0, wait=False)

    recorder._drain = drain_then_other_hands_over  # type: ignore[method-assign]

    def flood() -> None:
        waiting.buffer(op).extend([1_000] * 20_000)
        waiting.flush(0)

    user = threading.Thread(target=flood, name="user", daemon=True)
    user.start()
    try:
        while not recorder.wanted.wait(0.01):  # the user asks for a fold...
            assert user.is_alive()
        collector = threading.Thread(target=recorder.drain, args=(0,), name="collector")
        collector.start()
        collector.join()
        user.join(30)  # ...and goes on once it is done
        assert not user.is_alive()
    finally:
        recorder.stop_collecting()  # a user still waiting folds for itself and ends
    assert recorder.pending_total == 20_000 > recorder.backlog_limit // 2
    assert waiting.backlog == 0
    recorder._drain = drain  # type: ignore[method-assign]
    recorder.finish(0)
    assert recorder.operations[op].histogram.count == 40_000
