"""When async users hand their durations to the recorder: once a window, and at the end of
warm-up, not at every check (a chunk per user and check was most of the collector's work)."""

from __future__ import annotations

import pytest

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._engine._recorder import Recorder
from pytest_loadtest._scenario._target import build_plan
from pytest_loadtest._settings._layers import resolve_settings

from helpers.clock import FakeClock


def _chunks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of durations in each chunk users hand over, in order."""
    chunks: list[int] = []
    submit = Recorder.submit

    def counted(
        self: Recorder, op: int, span: int, durations: object, owner: object = None
    ) -> None:
        chunks.append(len(durations))  # type: ignore[arg-type]
        submit(self, op, span, durations, owner)  # type: ignore[arg-type]

    monkeypatch.setattr(Recorder, "submit", counted)
    return chunks


def _run(clock: FakeClock, **settings: object) -> Engine:
    async def five_ms() -> None:
        clock.advance(0.005)

    resolved = resolve_settings([("test", {"seed": 1, "users": 1, **settings})])
    return Engine(build_plan(five_ms), resolved, clock=clock)


def test_a_user_hands_over_once_a_window(monkeypatch: pytest.MonkeyPatch) -> None:
    chunks = _chunks(monkeypatch)
    result = _run(FakeClock(), duration=3.0).run()
    assert result.total == 600
    assert sum(chunks) == 600
    # a check every tick (0.1 s) would hand over 30 chunks of 20
    assert len(chunks) <= 4
    assert [row.calls for row in result.timeline][:3] == [200, 200, 200]


def test_a_user_hands_over_at_the_end_of_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    chunks = _chunks(monkeypatch)
    result = _run(FakeClock(), duration=2.0, warmup=0.5).run()
    assert result.total == 300  # the calls started in the first 0.5 s are left out
    assert chunks[:2] == [100, 100]  # warm-up, then the rest of the first window
