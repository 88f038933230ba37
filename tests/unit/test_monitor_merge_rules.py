"""The detectors and build_result on what several processes saw, merged (scale-out): a summed
series must not trip a rule about one process, and a merged ``watched`` builds a result."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pytest

from pytest_loadtest._engine._build import build_result
from pytest_loadtest._engine._record import RunRecord
from pytest_loadtest._engine._recorder import Recorder
from pytest_loadtest._model._metrics import NS
from pytest_loadtest._monitor import merge_watched, watched_from_dict, watched_to_dict
from pytest_loadtest._monitor._db_rules import SlowStatement
from pytest_loadtest._monitor._facts import RunFacts, Window
from pytest_loadtest._monitor._leaks import soak_trend
from pytest_loadtest._monitor._process_rules import CpuBound, MemorySpike
from pytest_loadtest._monitor._resources import ResourceSampler
from pytest_loadtest._monitor._samples import ResourceSample, ResourceSamples
from pytest_loadtest._settings._layers import resolve_settings

from helpers.monitor_merge import NAN, memory_engine, sampled, samples_of, watched_db, watched_of

MB = 1_000_000
MS = 1_000_000


def part(cpu: Sequence[float], rss: Sequence[int] | None = None, skip: Sequence[int] = ()) -> Any:
    """One process's samples, one a second (``rss`` per sample, the first included); the
    instants in ``skip`` not sampled (a starved sampler)."""
    rss = rss if rss is not None else [150 * MB] * (len(cpu) + 1)
    rows = [(0.0, 0.0, NAN, rss[0], 5)]
    rows += [(float(i), 1.0, c, rss[i], 5) for i, c in enumerate(cpu, start=1) if i not in skip]
    return samples_of(1.0, *rows)


def ramp(users: Sequence[int], calls: int = 1000) -> list[Window]:
    return [Window(float(t), calls, u) for t, u in enumerate(users)]


RAMP = ramp([2, 2, 4, 8, 16, 16])  # users of all processes; calls/s flat


def merged(*parts: ResourceSamples) -> ResourceSamples:
    resources: ResourceSamples = merge_watched([{"resources": p} for p in parts])["resources"]
    return resources


# -- CPU: one process's, not the sum ------------------------------------------------------------
def test_two_processes_at_half_a_core_are_not_one_process_at_one_core() -> None:
    half = merged(part([55] * 6), part([55] * 6))
    assert half.samples[1].cpu_percent == 110  # all processes: 1.1 cores
    assert CpuBound().check(RunFacts(timeline=RAMP, resources=half)) == []
    # without the count of processes the same series would read as one GIL-bound process
    one = ResourceSamples(1.0, 2, tuple(ResourceSample(**_fields(s, 1)) for s in half.samples))
    assert [f.kind for f in CpuBound().check(RunFacts(timeline=RAMP, resources=one))] == [
        "cpu_bound"
    ]


def _fields(sample: ResourceSample, processes: int) -> dict[str, Any]:
    names = ("t", "span", "cpu_percent", "system_cpu_percent", "rss_bytes", "threads")
    more = ("open_fds", "read_bytes", "write_bytes")
    return {n: getattr(sample, n) for n in (*names, *more)} | {"processes": processes}


def test_processes_each_at_one_core_are_cpu_bound_per_process() -> None:
    busy = merged(part([98] * 6), part([98] * 6))
    [finding] = CpuBound().check(RunFacts(timeline=RAMP, resources=busy))
    assert "process CPU 98% of one core per process (the mean of 2)" in finding.evidence
    assert finding.data["cpu_cores"] == pytest.approx(0.98)
    assert finding.data["processes"] == 2


def test_one_user_per_process_is_no_gil_contention() -> None:
    busy = merged(part([98] * 4), part([98] * 4))
    solo = ramp([1, 1, 2, 2])  # two processes, one user each at the top
    assert CpuBound(require_scaling=False).check(RunFacts(timeline=solo, resources=busy)) == []


def test_the_gil_allowance_of_slow_statements_counts_one_processs_users() -> None:
    busy = merged(part([95] * 4), part([95] * 4))
    facts = RunFacts(timeline=ramp([20] * 4), resources=busy)
    assert SlowStatement().threshold_ms(facts) == 100 + 10 * 5.0  # 20 users, 10 per process


# -- memory: only the instants every process sampled ---------------------------------------------
def test_an_instant_one_process_missed_is_no_memory_spike() -> None:
    gap = merged(part([20] * 5), part([20] * 5, skip=[3]))
    assert [s.rss_bytes // MB for s in gap.samples] == [300, 300, 300, 150, 300, 300]
    assert MemorySpike().check(RunFacts(resources=gap)) == []
    summed = ResourceSamples(1.0, 2, tuple(ResourceSample(**_fields(s, 1)) for s in gap.samples))
    assert MemorySpike().check(RunFacts(resources=summed)) != []  # what the count prevents


def test_a_jump_in_every_process_is_a_memory_spike_of_their_sum() -> None:
    rss = [150 * MB] * 4 + [210 * MB] * 2
    [finding] = MemorySpike().check(
        RunFacts(resources=merged(part([20] * 5, rss), part([20] * 5, rss)))
    )
    assert finding.data["jump_bytes"] == 120 * MB


def test_the_rss_trend_leaves_out_instants_some_processes_missed() -> None:
    tail = merged(part([20] * 9), part([20] * 9, skip=[8, 9]))  # one process stopped early
    trend = soak_trend(tail, duration=9.0, warmup_s=0.0, warmup_fraction=0.0)
    assert trend is not None
    assert trend.samples == 8
    assert trend.growth_mb == pytest.approx(0.0, abs=1e-6)


# -- build_result ------------------------------------------------------------------------------
def record(calls: int) -> RunRecord:
    """A process's record: ``calls`` calls of ``get`` in the first window."""
    recorder = Recorder(0, exact_windows=True)
    get = recorder.operation("get", "task")
    recorder.submit(get, NS // 10, [5 * MS] * calls)
    recorder.finish(2 * NS)
    return RunRecord.from_recorder(recorder, name="plan", duration=2.0, started_at=1.0)


def test_build_result_reads_a_merged_watched() -> None:
    with memory_engine() as engine:
        a, b = watched_of(engine), watched_of(engine)
        a["database"] = [watched_db(engine, gets=12)]  # N+1: 22 SELECTs in 4 calls of get
        b["database"] = [watched_db(engine, gets=10)]
    resources = sampled(ResourceSampler(0.05), ResourceSampler(0.05), seconds=0.3)
    a["resources"], b["resources"] = resources
    watched = merge_watched([a, b])
    settings = resolve_settings([("test", {"users": 4, "seed": 1})])
    whole = RunRecord.merge([record(2), record(2)])
    carried = watched_from_dict(json.loads(json.dumps(watched_to_dict(watched))))
    for seen in (watched, carried):
        result = build_result(whole, settings, watched=seen)
        assert result.resources is not None
        assert result.resources["processes"] == 2
        assert result.resources["rss_peak_bytes"] > max(r.rss_peak for r in resources)
        assert result.timeline[0].rss_mb is not None
        assert result.timeline[0].rss_mb > 0
        [database] = result.databases
        [get] = [s for s in database["statements"] if s["sql"].startswith("SELECT v FROM")]
        assert get["calls"] == 22
        assert get["by_operation"] == {"get": 22}
        [n_plus_one] = [f for f in result.findings if f.kind == "n_plus_one"]
        assert (n_plus_one.data["executions"], n_plus_one.data["calls"]) == (22, 4)
        assert result.reference_ms == 2.0
        assert result.reference_cpu_ms == 2.0
        assert json.loads(json.dumps(result.to_dict(), default=str))  # the reports' input
        assert not math.isnan(result.resources["rss_mean_bytes"])
