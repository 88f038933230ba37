"""The run record: serialisable, and records of one plan made in several places merge exactly."""

from __future__ import annotations

import json
import math
import random

import pytest

from pytest_loadtest._engine._driver import DriverFigures
from pytest_loadtest._engine._record import RunRecord
from pytest_loadtest._engine._recorder import Recorder
from pytest_loadtest._model._metrics import NS

MS = 1_000_000


def _record(recorder: Recorder, **figures: object) -> RunRecord:
    recorder.finish(5 * NS)
    base: dict[str, object] = {"name": "plan", "duration": 5.0, "started_at": 1.0}
    return RunRecord.from_recorder(recorder, **{**base, **figures})


def _feed(recorders: list[Recorder], seed: int) -> None:
    """The same calls, each handed to one of ``recorders`` at random, in the same windows."""
    rng, spread = random.Random(seed), random.Random(seed + 1)
    ops = [(r.operation("get", "task"), r.operation("parse", "step", "get")) for r in recorders]
    for window in range(5):
        for _ in range(40):
            which = spread.randrange(len(recorders))
            get, parse = ops[which]
            start = window * NS + rng.randrange(NS // 2)
            durations = [rng.randrange(1, 300) * MS for _ in range(rng.randrange(1, 20))]
            recorders[which].submit(get, start, durations)
            recorders[which].submit(parse, start, [d // 3 for d in durations])
            if rng.random() < 0.2:
                recorders[which].submit_errors(start, {(get, "TimeoutError"): 1})


def test_records_of_parts_merge_into_the_record_of_the_whole() -> None:
    whole = Recorder(0, exact_windows=True)
    parts = [Recorder(0, exact_windows=True) for _ in range(3)]
    _feed([whole], seed=7)
    _feed(parts, seed=7)  # same calls, spread over three places
    expected = _record(whole, figures=DriverFigures(peak_active=9))
    merged = RunRecord.merge(
        [_record(p, figures=DriverFigures(peak_active=3), hung={"get": 1}) for p in parts]
    )
    assert merged.figures.peak_active == 9
    assert merged.hung == {"get": 3}
    for got, want in zip(merged.operations, expected.operations, strict=True):
        assert (got.name, got.kind, got.parent) == (want.name, want.kind, want.parent)
        assert got.histogram.count == want.histogram.count > 0
        assert got.errors == want.errors
        assert got.histogram.percentiles_ms([50, 95, 99, 100]) == pytest.approx(
            want.histogram.percentiles_ms([50, 95, 99, 100])
        )
        assert got.histogram.mean_ms == pytest.approx(want.histogram.mean_ms)
        assert [r.calls for r in got.timeline] == [r.calls for r in want.timeline]
        assert [(r.p50, r.p95, r.p99, r.max) for r in got.timeline] == [
            (r.p50, r.p95, r.p99, r.max) for r in want.timeline
        ]
        assert {k: v.count for k, v in got.errors_by_type.items()} == {
            k: v.count for k, v in want.errors_by_type.items()
        }
    assert [(r.t, r.calls, r.errors, r.p95) for r in merged.timeline] == [
        (r.t, r.calls, r.errors, r.p95) for r in expected.timeline
    ]


def test_without_window_histograms_a_merged_window_takes_the_highest_percentile() -> None:
    parts = [Recorder(0), Recorder(0)]
    _feed(parts, seed=3)
    records = [_record(p) for p in parts]
    merged = RunRecord.merge(records)
    assert merged.windows is None
    for row in merged.timeline:
        same = [r for rec in records for r in rec.timeline if r.t == row.t]
        assert row.calls == sum(r.calls for r in same)
        known = [r.p95 for r in same if not math.isnan(r.p95)]
        assert row.p95 == max(known) if known else math.isnan(row.p95)


def test_a_record_survives_json_and_back() -> None:
    recorder = Recorder(0, exact_windows=True)
    _feed([recorder], seed=1)
    record = _record(
        recorder,
        figures=DriverFigures(4, 100, 3, {2: 3}, corrected=True, threads=2),
        hung={"get": 2},
        idle_users=1,
        interrupted=True,
        cpu_utilisation=0.5,
    )
    again = RunRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again.to_dict() == record.to_dict()
    assert again.figures == record.figures


def test_nothing_to_merge_and_mismatched_windows_are_errors() -> None:
    with pytest.raises(ValueError, match="no record"):
        RunRecord.merge([])
    one = _record(Recorder(0))
    other = _record(Recorder(0, window_ns=NS // 2))
    with pytest.raises(ValueError, match="different timeline windows"):
        RunRecord.merge([one, other])
    with pytest.raises(ValueError, match="version"):
        RunRecord.from_dict({"record_version": 99})


@pytest.mark.parametrize(("threads", "flagged"), [(0, True), (1, False), (4, False)])
def test_gil_contention_counts_threads_not_async_users(threads: int, flagged: bool) -> None:
    """1,000 users at 95% CPU: GIL contention with a thread each (0: one per user), none with
    the one or few event-loop threads of async users."""
    from pytest_loadtest._engine._build import build_result
    from pytest_loadtest._settings._layers import resolve_settings

    recorder = Recorder(0, exact_windows=True)
    _feed([recorder], seed=3)
    record = _record(recorder, figures=DriverFigures(1000, threads=threads), cpu_utilisation=0.95)
    settings = resolve_settings([("test", {"users": 1000, "seed": 1})])
    assert build_result(record, settings).gil_contention is flagged
