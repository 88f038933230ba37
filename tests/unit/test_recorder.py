"""The recorder fed by hand: windows, warm-up, errors, lateness and memory."""

from __future__ import annotations

import math

import pytest

from pytest_loadtest._engine._recorder import Recorder
from pytest_loadtest._model._timeline import ErrorSample, TimelineRow

S = 1_000_000_000
MS = 1_000_000


def _recorder(*, warmup_end_ns: int | None = None, lateness_windows: int = 5) -> Recorder:
    return Recorder(0, window_ns=S, warmup_end_ns=warmup_end_ns, lateness_windows=lateness_windows)


def test_calls_go_to_the_window_of_their_span_start() -> None:
    rec = _recorder()
    op = rec.operation("create")
    rec.submit(op, 500 * MS, [1 * MS, 2 * MS, 3 * MS])
    rec.submit(op, 999 * MS, [4 * MS])  # ends after 1 s, still window 0
    rec.submit(op, 1000 * MS, [10 * MS])
    rec.submit(op, 3 * S + 1, [20 * MS, 30 * MS])
    rec.finish(4 * S)
    rows = rec.operations[op].timeline
    assert [(r.t, r.calls) for r in rows] == [(0.0, 4), (1.0, 1), (3.0, 2)]
    assert rows[0].max == 4.0
    assert rows[0].p50 == pytest.approx(2.0, rel=1e-3)
    assert rows[2].p99 == 30.0
    assert [(r.t, r.calls) for r in rec.timeline] == [
        (0.0, 4),
        (1.0, 1),
        (2.0, 0),
        (3.0, 2),
        (4.0, 0),
    ]
    assert math.isnan(rec.timeline[2].p50)
    assert math.isnan(rec.timeline[2].max)
    assert rec.operations[op].histogram.count == 7
    assert rec.overall_histogram().count == 7


def test_window_of() -> None:
    rec = Recorder(10 * S, window_ns=2 * S)
    assert [rec.window_of(t) for t in (0, 10 * S, 12 * S - 1, 12 * S, 21 * S)] == [0, 0, 0, 1, 5]


def test_operation_registration_is_idempotent() -> None:
    rec = _recorder()
    a = rec.operation("a")
    step = rec.operation("a.step", "step", "a")
    assert rec.operation("a") == a
    assert rec.operation("a.step", "step", "a") == step
    assert a != step
    record = rec.operations[step]
    assert (record.name, record.kind, record.parent) == ("a.step", "step", "a")


def test_warmup_calls_are_in_the_timeline_but_not_the_histogram() -> None:
    rec = _recorder(warmup_end_ns=2 * S)
    op = rec.operation("a")
    rec.submit(op, 100 * MS, [1 * MS] * 3)
    rec.submit(op, 1900 * MS, [50 * MS])
    rec.submit(op, 2 * S, [2 * MS, 2 * MS])
    rec.submit_errors(150 * MS, {(op, "ValueError"): 1})  # a warm-up error
    rec.submit_errors(2100 * MS, {(op, "ValueError"): 1})
    rec.finish(3 * S)
    record = rec.operations[op]
    assert record.histogram.count == 2
    assert record.histogram.max_ms == 2.0
    assert record.warmup_calls == 4
    assert record.errors == 1
    assert record.errors_by_type["ValueError"].count == 1
    assert [(r.t, r.calls, r.errors, r.warmup) for r in record.timeline] == [
        (0.0, 3, 1, True),
        (1.0, 1, 0, True),
        (2.0, 2, 1, False),
    ]
    assert [(r.calls, r.warmup) for r in rec.timeline] == [
        (3, True),
        (1, True),
        (2, False),
        (0, False),
    ]
    assert rec.overall_histogram().count == 2


def test_warmup_ending_inside_a_window() -> None:
    rec = _recorder(warmup_end_ns=500 * MS)
    op = rec.operation("a")
    rec.submit(op, 100 * MS, [9 * MS])
    rec.submit(op, 600 * MS, [1 * MS, 1 * MS])
    rec.finish(S)
    record = rec.operations[op]
    assert (record.histogram.count, record.warmup_calls) == (2, 1)
    assert record.histogram.max_ms == 1.0
    (row, _) = rec.timeline
    assert (row.calls, row.max, row.warmup) == (3, 9.0, True)
    assert record.timeline[0].calls == 3


def test_errors_are_counted_per_type_with_the_first_sample() -> None:
    rec = _recorder()
    op = rec.operation("a")
    rec.submit(op, 0, [MS] * 5)
    for type_name in ("ValueError", "KeyError", "ValueError", "ValueError"):
        rec.submit_errors(10 * MS, {(op, type_name): 1})
    rec.first_error(op, "ValueError", "first", "tb1")
    rec.first_error(op, "ValueError", "second", "tb2")
    rec.finish(S)
    record = rec.operations[op]
    assert record.errors == 4
    assert record.errors_by_type == {
        "ValueError": ErrorSample("ValueError", 3, "first", "tb1"),
        "KeyError": ErrorSample("KeyError", 1),
    }
    assert record.timeline[0].errors == 4
    assert rec.timeline[0].errors == 4


def test_overall_timeline_sums_tasks_and_leaves_out_steps_and_hooks() -> None:
    rec = _recorder()
    a = rec.operation("a")
    b = rec.operation("b")
    step = rec.operation("a.query", "step", "a")
    hook = rec.operation("login", "hook")
    rec.submit(a, 0, [1 * MS, 2 * MS])
    rec.submit(b, 0, [3 * MS])
    rec.submit(step, 0, [100 * MS] * 4)
    rec.submit(hook, 0, [200 * MS])
    rec.submit_errors(0, {(b, "KeyError"): 1})
    rec.submit_errors(0, {(step, "KeyError"): 1})
    rec.finish(S)
    (row, _) = rec.timeline
    assert (row.calls, row.errors, row.max) == (3, 1, 3.0)
    assert rec.operations[step].timeline[0].calls == 4
    assert rec.overall_histogram().count == 3
    assert rec.overall_histogram().max_ms == 3.0


def test_windows_are_finalized_only_after_the_lateness_allowance() -> None:
    rec = _recorder(lateness_windows=2)
    op = rec.operation("a")
    rec.submit(op, 0, [MS])
    rec.drain(0)
    rec.drain(2 * S + 999 * MS)  # window 2: window 0 may still receive calls
    assert rec.timeline == []
    assert rec.operations[op].timeline == []
    rec.submit(op, 10 * MS, [MS])  # not late
    rec.drain(3 * S)
    assert [(r.t, r.calls) for r in rec.timeline] == [(0.0, 2)]
    assert rec.late_calls == 0
    assert rec.operations[op].histogram.count == 2


def test_late_calls_are_counted() -> None:
    rec = _recorder(lateness_windows=1)
    op = rec.operation("a")
    rec.submit(op, 0, [MS])
    rec.drain(5 * S)  # windows 0..3 are rows now
    rec.submit(op, 1500 * MS, [7 * MS, 8 * MS])
    rec.submit_errors(1600 * MS, {(op, "TimeoutError"): 1})
    rec.finish(5 * S)
    assert rec.late_calls == 2
    record = rec.operations[op]
    assert record.histogram.count == 3  # late calls stay in the totals
    assert record.errors_by_type["TimeoutError"].count == 1
    late_row = next(r for r in record.timeline if r.t == 1.0)
    assert (late_row.calls, late_row.errors) == (2, 1)
    assert [r.t for r in record.timeline] == sorted(r.t for r in record.timeline)


def test_late_calls_reach_the_overall_timeline_too() -> None:
    rec = _recorder(lateness_windows=1)
    op = rec.operation("a")
    rec.submit(op, 0, [MS])
    rec.drain(5 * S)
    rec.submit(op, 1500 * MS, [7 * MS, 8 * MS])
    rec.finish(5 * S)
    # the overall timeline is the sum of the tasks' rows, window by window
    per_window = {r.t: r.calls for r in rec.operations[op].timeline}
    assert {r.t: r.calls for r in rec.timeline if r.calls} == per_window
    assert sum(r.calls for r in rec.timeline) == rec.overall_histogram().count


def test_open_windows_stay_bounded() -> None:
    lateness = 3
    rec = _recorder(lateness_windows=lateness)
    op = rec.operation("a")
    for window in range(200):
        rec.submit(op, window * S + 1, [MS, 2 * MS])
        rec.drain(window * S + S // 2)
        assert len(rec._open) <= lateness + 1
    rec.finish(200 * S)
    assert len(rec._open) == 0
    assert len(rec.timeline) == 201
    assert sum(r.calls for r in rec.timeline) == 400
    assert rec.operations[op].histogram.count == 400


def test_finish_finalises_windows_beyond_the_end() -> None:
    rec = _recorder()
    op = rec.operation("a")
    rec.submit(op, 3 * S, [MS])  # a chunk started after the given end
    rec.finish(S)
    assert [r.t for r in rec.timeline] == [0.0, 1.0, 2.0, 3.0]
    assert rec.timeline[-1].calls == 1


def test_users_are_the_peak_seen_in_each_window() -> None:
    active = [3]
    rec = Recorder(0, window_ns=S, lateness_windows=0, active_users=lambda: active[0])
    op = rec.operation("a")
    rec.submit(op, 0, [MS])
    rec.drain(100 * MS)
    active[0] = 5
    rec.drain(200 * MS)
    active[0] = 1
    rec.drain(300 * MS)
    rec.drain(S + 1)
    assert rec.timeline[0].users == 5
    assert rec.operations[op].timeline[0].users == 5
    rec.finish(S + 2)
    assert rec.timeline[1].users == 1


def test_timeline_row_to_dict() -> None:
    row = TimelineRow(1.0, 3, 1, 2, 1.5, math.nan, 3.0, 4.0, warmup=True)
    assert row.to_dict() == {
        "t": 1.0,
        "calls": 3,
        "errors": 1,
        "users": 2,
        "p50": 1.5,
        "p95": None,
        "p99": 3.0,
        "max": 4.0,
        "warmup": True,
        "dropped": 0,
        "cpu": None,
        "rss_mb": None,
        "loop_lag": None,
    }
    assert ErrorSample("E", 2, "m", "tb").to_dict() == {
        "type": "E",
        "count": 2,
        "message": "m",
        "traceback": "tb",
    }
