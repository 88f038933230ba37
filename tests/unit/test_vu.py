"""The virtual user: its seeded random generator, steps and hand-over of durations."""

from __future__ import annotations

import pytest

from pytest_loadtest._engine._recorder import Recorder
from pytest_loadtest._engine._users import VirtualUser

S = 1_000_000_000


class Ticks:
    """A clock that moves 1 ms each time it is read."""

    def __init__(self) -> None:
        self.ns = 0

    def __call__(self) -> int:
        self.ns += 1_000_000
        return self.ns


def _draws(seed: int, user_id: int) -> list[float]:
    vu = VirtualUser(user_id, seed, Recorder(0), Ticks())
    return [vu.random.random() for _ in range(5)]


def test_random_depends_on_seed_and_id_only() -> None:
    assert _draws(3, 0) == _draws(3, 0)
    assert _draws(3, 0) != _draws(3, 1)
    assert _draws(3, 0) != _draws(4, 0)
    assert _draws(0, 1) != _draws(1, 0)


def test_step_times_and_records_errors() -> None:
    recorder = Recorder(0, window_ns=S)
    vu = VirtualUser(0, 1, recorder, Ticks())
    vu.current = "checkout"
    with vu.step("pay"):
        pass
    with pytest.raises(ZeroDivisionError), vu.step("pay"):
        _ = 1 / 0
    vu.flush(S)
    assert vu.span_start == S
    recorder.finish(S)
    (record,) = recorder.operations
    assert (record.name, record.kind, record.parent) == ("pay", "step", "checkout")
    assert record.histogram.count == 2
    assert record.histogram.max_ms == 1.0  # one tick between enter and exit
    assert record.errors == 1
    sample = record.errors_by_type["ZeroDivisionError"]
    assert sample.message == "division by zero"
    assert "ZeroDivisionError" in sample.traceback


def test_flush_hands_over_only_non_empty_buffers() -> None:
    recorder = Recorder(0, window_ns=S)
    vu = VirtualUser(0, 1, recorder, Ticks())
    a, b = recorder.operation("a"), recorder.operation("b")
    vu.buffer(a).extend([1, 2])
    vu.buffer(b)
    vu.flush(5)
    assert [(o, s, list(d), u) for o, s, d, u in recorder._pending] == [(a, 0, [1, 2], vu)]
    assert list(vu.buffer(a)) == []
    assert vu.span_start == 5


def test_first_error_of_each_type_is_kept_once() -> None:
    recorder = Recorder(0, window_ns=S)
    vu = VirtualUser(0, 1, recorder, Ticks())
    op = recorder.operation("a")
    for n in range(3):
        vu.record_error(op, 0, ValueError(f"v{n}"))
    recorder.drain()
    assert recorder.operations[op].errors == 0  # counts wait in the user's table until a flush
    vu.flush(0)
    recorder.drain()
    sample = recorder.operations[op].errors_by_type["ValueError"]
    assert (sample.count, sample.message) == (3, "v0")


def test_run_async_reuses_one_loop_until_closed() -> None:
    vu = VirtualUser(0, 1, Recorder(0), Ticks())

    async def answer() -> int:
        return 42

    assert vu.run_async(answer()) == 42
    loop = vu._loop
    assert vu.run_async(answer()) == 42
    assert vu._loop is loop
    vu.close()
    assert vu._loop is None
    assert repr(vu) == "<VirtualUser 0 iteration=0>"
