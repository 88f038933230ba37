"""``abort_on_breach``: the rolling SLA check, its grace, and a run that stops early.

The monitor's tests feed an engine's recorder by hand, one window at a time, and ask the monitor
at chosen times; one test runs an engine on the fake clock and lets the monitor stop it.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_loadtest._engine._abort import AbortMonitor
from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._engine._recorder import Recorder
from pytest_loadtest._engine._users import VirtualUser
from pytest_loadtest._model._abort import Abort
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._scenario._target import build_plan
from pytest_loadtest._settings._layers import resolve_settings

from helpers.clock import NS, FakeClock

TICK = 0.1


class Fed:
    """A recorder and an abort monitor as an engine sets them up, never run: the recorder is fed
    windows by hand."""

    def __init__(self, **settings: Any) -> None:
        settings.setdefault("sla", {"p95": 100, "error_rate": "10%"})
        settings.setdefault("abort_on_breach", True)
        resolved = resolve_settings([("test", {"seed": 1, "users": 1, **settings})])
        monitor = AbortMonitor.create(resolved, NS)
        assert monitor is not None
        self.monitor = monitor
        self.recorder = Recorder(0, window_ns=NS, keep_windows=monitor.windows)
        self.warmup_end = int(resolved.warmup * NS)
        self.op = self.recorder.operation("<lambda>", "task")

    def window(self, index: int, ms: float, calls: int = 300, errors: int = 0) -> None:
        """``calls`` calls of ``ms`` each in window ``index``, the first ``errors`` failing."""
        recorder = self.recorder
        recorder.submit(self.op, index * NS, [int(ms * 1e6)] * calls)
        if errors:
            recorder.submit_errors(index * NS, {(self.op, "IOError"): errors})

    def observe(self, seconds: float) -> bool:
        now = int(seconds * NS)
        self.recorder.drain(now)
        return self.monitor.observe(self.recorder, int(TICK * NS), self.warmup_end, now)


def test_no_monitor_without_abort_on_breach_or_sla() -> None:
    settings = resolve_settings([("t", {"sla": {"p95": 1}, "seed": 1})])
    assert AbortMonitor.create(settings, NS) is None
    settings = resolve_settings([("t", {"abort_on_breach": True, "seed": 1})])
    assert AbortMonitor.create(settings, NS) is None
    settings = resolve_settings(
        [("t", {"abort_on_breach": True, "sla": {"p95": 1}, "abort_window": "3s", "seed": 1})]
    )
    monitor = AbortMonitor.create(settings, NS)
    assert monitor is not None
    assert (monitor.windows, monitor.window_s, monitor.grace) == (3, 1.0, 0.0)


@pytest.mark.parametrize(("abort_window", "windows"), [("500ms", 1), ("1s", 1), ("2.4s", 2)])
def test_the_rolling_window_is_a_whole_number_of_windows(abort_window: str, windows: int) -> None:
    fed = Fed(abort_window=abort_window)
    assert fed.monitor.windows == windows


def test_a_breach_aborts_at_once_without_grace() -> None:
    fed = Fed(abort_window="1s")
    for index in range(2):
        fed.window(index, 10)
    fed.window(2, 500)
    assert not fed.observe(1.0 + TICK + 0.05)  # window 0: fine
    assert not fed.observe(2.0 + TICK + 0.05)  # window 1: fine
    assert fed.observe(3.0 + TICK + 0.05)  # window 2: p95 500 ms
    abort = fed.monitor.result
    assert abort is not None
    assert abort.at == pytest.approx(3.15)
    assert abort.since == 3.0
    assert (abort.grace, abort.window) == (0.0, 1.0)
    assert abort.breaches == ("p95 of all operations was 500.0ms, above the limit 100.0ms",)


def test_a_window_is_judged_only_once_it_is_complete() -> None:
    fed = Fed(abort_window="1s")
    fed.window(0, 500)
    assert not fed.observe(1.05)  # window 0 ended, but calls may still come in for a tick
    assert fed.observe(1.0 + TICK + 0.01)


def test_the_breach_must_last_the_grace() -> None:
    fed = Fed(abort_window="1s", abort_grace="2s")
    fed.window(0, 10)
    for index in range(1, 5):
        fed.window(index, 500)
    assert not fed.observe(1.15)
    assert not fed.observe(2.15)  # breached since 2 s
    assert not fed.observe(3.15)
    assert fed.observe(4.15)  # 2 s of grace used up
    abort = fed.monitor.result
    assert abort is not None
    assert (abort.since, abort.grace) == (2.0, 2.0)
    assert abort.at == pytest.approx(4.15)


def test_a_recovery_within_the_grace_starts_it_again() -> None:
    fed = Fed(abort_window="1s", abort_grace="1s")
    for index, ms in enumerate([500, 10, 500, 10, 500, 500]):
        fed.window(index, ms)
    assert [fed.observe(i + 1.15) for i in range(6)] == [False] * 5 + [True]
    abort = fed.monitor.result
    assert abort is not None
    assert abort.since == 5.0


def test_windows_skipped_between_observations_are_judged_as_one_rolling_window() -> None:
    fed = Fed(abort_window="2s")
    fed.window(0, 10)
    fed.window(1, 10)
    fed.window(2, 500)
    fed.window(3, 10)
    # one look at 4.15 s judges windows 2 and 3 together: half the calls are slow
    assert fed.observe(4.15)
    abort = fed.monitor.result
    assert abort is not None
    assert abort.window == 2.0


def test_the_rolling_window_must_be_full_before_judging() -> None:
    fed = Fed(abort_window="3s")
    fed.window(0, 500)
    fed.window(1, 500)
    assert not fed.observe(1.15)
    assert not fed.observe(2.15)
    fed.window(2, 500)
    assert fed.observe(3.15)


def test_thin_percentiles_are_not_judged_but_error_rates_are() -> None:
    fed = Fed(abort_window="1s", sla={"p95": 100, "p99": 100, "error_rate": "10%"})
    fed.window(0, 500, calls=150)  # p95 needs 200 calls, p99 1,000
    assert not fed.observe(1.15)
    fed.window(1, 500, calls=300)  # enough for p95, not for p99
    assert fed.observe(2.15)
    abort = fed.monitor.result
    assert abort is not None
    assert [b.split(" ")[0] for b in abort.breaches] == ["p95"]
    errors = Fed(abort_window="1s")
    errors.window(0, 10, calls=20, errors=5)
    assert errors.observe(1.15)
    assert errors.monitor.result is not None
    assert errors.monitor.result.breaches[0].startswith("error_rate of all operations was 25.00%")


def test_windows_in_the_warmup_are_not_judged() -> None:
    fed = Fed(abort_window="1s", warmup="2s", duration=10)
    for index in range(4):
        fed.window(index, 500 if index < 2 else 10)
    assert [fed.observe(i + 1.15) for i in range(4)] == [False] * 4
    fed.window(4, 500)
    assert fed.observe(5.15)


def test_operation_targets_are_judged_too() -> None:
    fed = Fed(abort_window="1s", sla={"operations": {"<lambda>": {"max": 50}}})
    fed.window(0, 60, calls=5)
    assert fed.observe(1.15)
    assert fed.monitor.result is not None
    assert "operation <lambda> was" in fed.monitor.result.breaches[0]


def test_abort_message_and_round_trip() -> None:
    abort = Abort(at=12.34, since=10.0, grace=2.0, window=5.0, breaches=("p95 bad", "errors"))
    assert abort.message(60.0) == (
        "aborted at 12.3s of 60s (abort_on_breach): the SLA was breached over a rolling 5s "
        "window from 10.0s on, for at least the grace of 2s: p95 bad; errors"
    )
    assert Abort.from_dict(abort.to_dict()) == abort


# -- a whole run -------------------------------------------------------------------------------


def _run_failing_after(seconds: float, **settings: Any) -> LoadResult:
    clock = FakeClock(moved_by="main")
    start = clock.now_ns()

    def fails_later(vu: VirtualUser) -> None:
        clock.pass_time(0.01)
        if clock.now_ns() - start >= seconds * NS:
            raise TimeoutError("backend gave up")

    resolved = resolve_settings(
        [("test", {"seed": 1, "users": 2, "sla": {"error_rate": "5%"}, **settings})]
    )
    return Engine(build_plan(fails_later), resolved, clock=clock, poll=0.02).run()


def test_a_run_stops_early_and_says_so() -> None:
    result = _run_failing_after(1.0, duration=30, abort_on_breach=True, abort_window="1s")
    aborted = result.aborted
    assert aborted is not None
    # window 1 (1..2 s) fails; it is judged a tick after it ends, when the collector next looks
    assert 2.0 < aborted.at < 4.0
    assert aborted.since == 2.0
    assert result.duration == pytest.approx(aborted.at, abs=0.2)
    assert result.settings["duration"] == 30.0
    metrics = [b.metric for b in result.sla_breaches]
    assert "aborted" in metrics
    assert "error_rate" in metrics
    breach = next(b for b in result.sla_breaches if b.metric == "aborted")
    assert breach.message.startswith(f"aborted at {aborted.at:.1f}s of 30s (abort_on_breach)")
    assert "error_rate of all operations was" in breach.message
    assert not result.passed
    again = LoadResult.from_dict(result.to_dict())
    assert again.aborted == aborted


def test_a_breach_within_the_grace_at_the_end_does_not_abort() -> None:
    result = _run_failing_after(
        2.0, duration=3, abort_on_breach=True, abort_window="1s", abort_grace="5s"
    )
    assert result.aborted is None
    assert result.duration == pytest.approx(3.0)
    assert [b.metric for b in result.sla_breaches] == ["error_rate"]


def test_a_target_that_fails_at_once_is_aborted_too() -> None:
    def refused() -> None:
        raise ConnectionError("refused")

    settings = {"users": 1, "duration": 4, "abort_on_breach": True, "abort_window": "1s"}
    resolved = resolve_settings([("t", {"seed": 1, "sla": {"error_rate": "1%"}, **settings})])
    result = Engine(build_plan(refused), resolved).run()
    assert result.aborted is not None
    # judged after the first second (plus a tick), long before the end even on a busy machine
    assert result.duration < 3.0
