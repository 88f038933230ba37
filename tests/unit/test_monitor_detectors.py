"""Each detector on hand-made run facts: one run that should trip it and one that should not."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._monitor._db_rules import MissingIndex, NPlusOne, PoolSaturation, SlowStatement
from pytest_loadtest._monitor._detectors import DEFAULT_RULES, build_rules, detect
from pytest_loadtest._monitor._facts import RunFacts, Window
from pytest_loadtest._monitor._leaks import AllocationSite
from pytest_loadtest._monitor._process_rules import CpuBound, MemorySpike, SoakLeak
from pytest_loadtest._monitor._resources import ResourceSample, ResourceSamples
from pytest_loadtest._monitor._statements import (
    NO_OPERATION,
    DatabaseStats,
    PoolStats,
    QueryPlan,
    Scan,
    StatementStats,
)

MB = 1_000_000
SCAN_SQL = "SELECT ... FROM projects WHERE projects.client_id = ?"
LOOKUP_SQL = "SELECT projects.id FROM projects WHERE projects.id = ?"


def _statement(
    sql: str,
    ms: float,
    calls: int,
    ops: dict[str, int] | None = None,
    plan: QueryPlan | None = None,
) -> StatementStats:
    histogram = LatencyHistogram()
    histogram.fold_ns(np.full(calls, round(ms * 1e6), dtype=np.int64))
    return StatementStats(sql, histogram, ops if ops is not None else {"op": calls}, plan)


def _db(*statements: StatementStats, pool: PoolStats | None = None) -> DatabaseStats:
    return DatabaseStats(
        "sqlite:///app.db",
        "sqlite",
        {s.sql: s for s in statements},
        pool if pool is not None else PoolStats("QueuePool", size=5, max_overflow=10),
    )


def _unindexed() -> QueryPlan:
    return QueryPlan("sqlite", ("SCAN projects",), (Scan("projects", ("client_id",), ("id",)),))


def _indexed() -> QueryPlan:
    return QueryPlan("sqlite", ("SEARCH projects USING INDEX ix (client_id=?)",), ())


# -- slow statement ----------------------------------------------------------------------------
def test_slow_statement_reports_the_top_by_total_time_with_p95_and_calls() -> None:
    facts = RunFacts(
        databases=[
            _db(
                _statement(SCAN_SQL, 800, 10, {"get_client_projects": 10}, _unindexed()),
                _statement("SELECT 2", 150, 100),
                _statement(LOOKUP_SQL, 0.5, 10_000),
            )
        ]
    )
    findings = SlowStatement().check(facts)
    assert [f.data["sql"] for f in findings] == ["SELECT 2", SCAN_SQL]  # 15 s before 8 s
    slow = findings[1]
    assert slow.title.startswith("Slow query in get_client_projects: SELECT")
    assert "800.0ms avg, p95 800.0ms, 10 calls" in slow.evidence
    assert slow.recommendation == "Add an index on projects(client_id)"
    assert slow.severity == "high"
    assert findings[0].severity == "medium"
    assert "EXPLAIN ANALYZE" in findings[0].recommendation


def test_fast_statements_and_rare_slow_ones_are_not_reported() -> None:
    facts = RunFacts(
        databases=[_db(_statement(LOOKUP_SQL, 2, 5000), _statement("CREATE INDEX x", 900, 1))]
    )
    assert SlowStatement().check(facts) == []
    assert SlowStatement(p95_ms=1).check(facts) != []  # the threshold is what decides


# -- missing index -----------------------------------------------------------------------------
def test_missing_index_names_table_and_column() -> None:
    facts = RunFacts(databases=[_db(_statement(SCAN_SQL, 3, 1000, {"list": 1000}, _unindexed()))])
    [finding] = MissingIndex().check(facts)
    assert finding.recommendation == "Add an index on projects(client_id)"
    assert finding.title == f"Full scan of projects in list: {SCAN_SQL}"
    assert "plan: SCAN projects" in finding.evidence
    assert finding.data["columns"] == ["client_id"]


def test_indexed_plans_and_minor_statements_give_no_missing_index() -> None:
    indexed = RunFacts(databases=[_db(_statement(SCAN_SQL, 3, 1000, plan=_indexed()))])
    assert MissingIndex().check(indexed) == []
    minor = RunFacts(
        databases=[
            _db(
                _statement(SCAN_SQL, 0.1, 10, plan=_unindexed()),  # 1 ms of 10 s
                _statement(LOOKUP_SQL, 1, 10_000),
            )
        ]
    )
    assert MissingIndex().check(minor) == []
    assert MissingIndex(min_share=0).check(minor) != []


def test_a_slow_statement_and_its_missing_index_are_reported_once() -> None:
    facts = RunFacts(databases=[_db(_statement(SCAN_SQL, 500, 20, plan=_unindexed()))])
    assert [f.kind for f in detect(facts)] == ["slow_statement"]
    assert [f.kind for f in detect(facts, [MissingIndex()])] == ["missing_index"]


# -- N+1 ---------------------------------------------------------------------------------------
def test_n_plus_one_names_the_operation_and_advises_eager_loading() -> None:
    child = "SELECT ... FROM projects WHERE ? = projects.client_id"
    facts = RunFacts(
        operation_calls={"list_clients": 50, "other": 50},
        databases=[
            _db(
                _statement(child, 0.2, 1000, {"list_clients": 1000}),
                _statement("SELECT ... FROM clients LIMIT ?", 0.2, 50, {"list_clients": 50}),
            )
        ],
    )
    [finding] = NPlusOne().check(facts)
    assert finding.title.startswith("N+1 queries in list_clients: SELECT")
    assert finding.evidence == (
        "20.0 times per call (1,000 executions in 50 calls of list_clients)"
    )
    assert "selectinload()" in finding.recommendation
    assert "projects rows of list_clients" in finding.recommendation
    assert finding.severity == "high"


def test_eager_loading_writes_and_unattributed_statements_are_not_n_plus_one() -> None:
    facts = RunFacts(
        operation_calls={"list_clients": 50, "save": 10},
        databases=[
            _db(
                _statement("SELECT ... FROM clients", 0.2, 50, {"list_clients": 50}),
                _statement("SELECT ... WHERE client_id IN (?)", 0.2, 50, {"list_clients": 50}),
                _statement("INSERT INTO audit (a) VALUES (?)", 0.1, 100, {"save": 100}),
                _statement("SELECT 1", 0.1, 900, {NO_OPERATION: 900}),
            )
        ],
    )
    assert NPlusOne().check(facts) == []


# -- pool saturation ---------------------------------------------------------------------------
def _pool(peak: int, waits_ms: Sequence[float], timeouts: int = 0) -> PoolStats:
    pool = PoolStats(
        "QueuePool", size=2, max_overflow=0, timeout_s=30.0, timeouts=timeouts, peak_waiting=19
    )
    pool.peak_checked_out = peak
    pool.wait.fold_ns(np.array([round(ms * 1e6) for ms in waits_ms], dtype=np.int64))
    pool.hold.fold_ns(np.full(10, 4_000_000, dtype=np.int64))
    return pool


def test_pool_at_capacity_with_waits_suggests_a_size_with_the_numbers() -> None:
    facts = RunFacts(databases=[_db(pool=_pool(2, [30.0] * 100))])
    [finding] = PoolSaturation().check(facts)
    assert finding.title == "Connection pool at its limit"
    assert "checked out 2/2 at peak, up to 19 callers waiting" in finding.evidence
    assert "mean 30.0ms" in finding.evidence
    assert finding.recommendation.startswith("Increase the connection pool to 25 ")
    assert "now 2 + 0" in finding.recommendation
    assert "hold p95 4.00ms" in finding.recommendation


def test_gil_shaped_waits_count_by_their_mean() -> None:
    # most checkouts instant, a few waiting seconds: the p95 hides it, the mean does not
    facts = RunFacts(databases=[_db(pool=_pool(2, [0.01] * 97 + [2000.0] * 3))])
    assert PoolSaturation().check(facts) != []


def test_timeouts_alone_are_saturation() -> None:
    facts = RunFacts(databases=[_db(pool=_pool(1, [0.01] * 10, timeouts=3))])
    [finding] = PoolSaturation().check(facts)
    assert finding.severity == "high"
    assert "3 timeouts after 30s" in finding.evidence


def test_a_pool_with_headroom_or_without_waits_is_fine() -> None:
    roomy = PoolStats("QueuePool", size=20, max_overflow=10)
    roomy.peak_checked_out = 20
    roomy.wait.fold_ns(np.full(100, 50_000, dtype=np.int64))
    exact = _pool(2, [0.05] * 100)  # at capacity, but nobody waited
    facts = RunFacts(databases=[_db(pool=roomy), _db(pool=exact)])
    assert PoolSaturation().check(facts) == []
    assert PoolSaturation().check(RunFacts(databases=[_db()])) == []  # no checkouts at all


# -- CPU-bound ---------------------------------------------------------------------------------
def _samples(cpu: Sequence[float], rss: Sequence[float] | None = None) -> ResourceSamples:
    rss = rss if rss is not None else [100 * MB] * (len(cpu) + 1)
    samples = [ResourceSample(0.0, 0.0, math.nan, math.nan, int(rss[0]), 5, 5, 0, 0)]
    samples += [
        ResourceSample(float(i + 1), 1.0, c, c / 2, int(r), 5, 5, 0, 0)
        for i, (c, r) in enumerate(zip(cpu, rss[1:], strict=True))
    ]
    return ResourceSamples(interval=1.0, cpu_count=2, samples=tuple(samples))


def _ramp(calls: Sequence[int], users: Sequence[int]) -> list[Window]:
    return [Window(float(t), c, u) for t, (c, u) in enumerate(zip(calls, users, strict=True))]


def test_one_core_busy_while_throughput_stays_flat_is_cpu_bound() -> None:
    facts = RunFacts(
        timeline=_ramp([1000, 1010, 990, 1000, 1005, 995], [1, 1, 2, 4, 8, 8]),
        resources=_samples([97, 99, 99, 98, 99, 98]),
    )
    [finding] = CpuBound().check(facts)
    assert finding.title == "CPU-bound on one core (the GIL) at 8 users"
    assert "process CPU 98% of one core" in finding.evidence
    assert "; 4 users gave 1000 calls/s, 8 gave 1000 (0% of the linear gain)" in finding.evidence
    assert "processes" in finding.recommendation
    assert finding.severity == "medium"


def test_cpu_bound_without_a_ramp_needs_asking_and_is_then_low_severity() -> None:
    facts = RunFacts(timeline=_ramp([500] * 4, [8] * 4), resources=_samples([95, 96, 97, 95]))
    assert CpuBound().check(facts) == []  # busy, but no evidence that threads stopped paying off
    [finding] = CpuBound(require_scaling=False).check(facts)
    assert finding.severity == "low"
    assert "no lower user level" in finding.evidence


def test_scaling_throughput_or_idle_cpu_is_not_cpu_bound() -> None:
    scaling = RunFacts(
        timeline=_ramp([100, 100, 200, 400, 800, 800], [1, 1, 2, 4, 8, 8]),
        resources=_samples([90, 92, 95, 95, 96, 95]),  # one core, but calls/s grow with users
    )
    idle = RunFacts(
        timeline=_ramp([100, 100, 100, 100], [1, 8, 8, 8]), resources=_samples([5, 6, 4, 5])
    )
    many_cores = RunFacts(
        timeline=_ramp([100, 100, 100, 100], [1, 8, 8, 8]),
        resources=_samples([190, 195, 198, 190]),  # numpy releasing the GIL: not one core
    )
    for facts in (scaling, idle, many_cores, RunFacts(timeline=_ramp([1], [8]))):
        assert CpuBound().check(facts) == []


# -- memory spike ------------------------------------------------------------------------------
def test_memory_spike_names_the_operation_of_the_window() -> None:
    facts = RunFacts(
        operation_calls={"browse": 400, "bulk_delete": 2},
        operation_timelines={
            "browse": _ramp([100, 100, 100, 100], [0] * 4),
            "bulk_delete": _ramp([0, 0, 2, 0], [0] * 4),
        },
        resources=_samples([50] * 4, [100 * MB, 101 * MB, 102 * MB, 502 * MB, 110 * MB]),
    )
    [finding] = MemorySpike().check(facts)
    assert finding.title == "Memory spike during bulk_delete - 400MB"
    assert "RSS 102MB -> 502MB between 2.0s and 3.0s" in finding.evidence
    assert finding.recommendation.startswith("Process bulk_delete in batches")


def test_steady_memory_has_no_spike() -> None:
    rss = [100 * MB + i * 2 * MB for i in range(6)]
    facts = RunFacts(operation_calls={"op": 10}, resources=_samples([50] * 5, rss))
    assert MemorySpike().check(facts) == []
    assert MemorySpike(min_jump_mb=1).check(facts) != []


# -- soak leak ---------------------------------------------------------------------------------
def _soak(rss_per_second: float, seconds: int = 60, noise_mb: float = 0.5) -> ResourceSamples:
    rng = np.random.default_rng(3)
    rss = [200 * MB + rss_per_second * t + rng.normal(0, noise_mb * MB) for t in range(seconds)]
    return _samples([50.0] * (seconds - 1), rss)


def test_growing_rss_in_a_soak_is_a_leak_with_its_allocation_sites() -> None:
    site = AllocationSite("/app/cache.py", 42, 30 * MB, 3000, 31 * MB)
    facts = RunFacts(
        duration=60, soak=True, resources=_soak(0.5 * MB), allocations=[site]
    )  # 0.5 MB/s = 1800 MB/h
    [finding] = SoakLeak().check(facts)
    assert re.fullmatch(r"Memory leak: RSS grows 1,[78]\d\d MB/h", finding.title)
    assert "95% CI" in finding.evidence
    assert "/app/cache.py:42 +30.0MB" in finding.evidence
    assert "/app/cache.py:42" in finding.recommendation
    assert SoakLeak(soak_only=False).check(RunFacts(duration=60, resources=_soak(0.5 * MB)))


def test_flat_rss_load_tests_and_small_growth_are_not_leaks() -> None:
    flat = RunFacts(duration=60, soak=True, resources=_soak(0.0))
    load_test = RunFacts(duration=60, soak=False, resources=_soak(0.5 * MB))
    small = RunFacts(duration=60, soak=True, resources=_soak(0.05 * MB, noise_mb=0.01))  # 3 MB
    for facts in (flat, load_test, small):
        assert SoakLeak().check(facts) == []
    assert SoakLeak(min_growth_mb=1).check(small) != []
    assert "--load-tracemalloc" in SoakLeak(min_growth_mb=1).check(small)[0].recommendation


# -- configuration -----------------------------------------------------------------------------
def test_build_rules_tunes_and_disables_by_name() -> None:
    rules = build_rules({"n_plus_one": {"per_call": 3, "min_calls": 1}, "cpu_bound": False})
    names = [rule.name for rule in rules]
    assert "cpu_bound" not in names
    assert len(names) == len(DEFAULT_RULES) - 1
    [n_plus_one] = [rule for rule in rules if isinstance(rule, NPlusOne)]
    assert (n_plus_one.per_call, n_plus_one.min_calls) == (3.0, 1)
    assert build_rules({"soak_leak": {"soak_only": False}})[-1] == SoakLeak(soak_only=False)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"n_plus_two": {}}, "unknown detector 'n_plus_two' \\(known: cpu_bound, "),
        ({"n_plus_one": {"per_cal": 3}}, "no threshold 'per_cal' \\(known: min_calls, per_call\\)"),
        ({"n_plus_one": {"min_calls": 1.5}}, "'min_calls' must be a whole number, got 1.5"),
        ({"n_plus_one": {"per_call": "many"}}, "'per_call' must be a number"),
        ({"soak_leak": {"soak_only": "yes"}}, "'soak_only' must be true or false"),
        ({"cpu_bound": "off"}, "expected true, false or a mapping"),
    ],
)
def test_build_rules_rejects_bad_configuration(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_rules(config)  # type: ignore[arg-type]


def test_a_healthy_run_has_no_findings() -> None:
    pool = PoolStats("QueuePool", size=20, max_overflow=10)
    pool.peak_checked_out = 12
    pool.wait.fold_ns(np.full(1000, 30_000, dtype=np.int64))
    facts = RunFacts(
        duration=60,
        soak=True,
        timeline=_ramp([100, 200, 400, 800], [1, 2, 4, 8]),
        operation_calls={"get": 1000},
        resources=_samples([10, 20, 30, 40]),
        databases=[_db(_statement(LOOKUP_SQL, 0.3, 1000, {"get": 1000}, _indexed()), pool=pool)],
    )
    assert detect(facts) == []


def test_a_cpu_bound_run_allows_for_waiting_on_the_gil() -> None:
    gil_bound = RunFacts(
        timeline=_ramp([500] * 4, [20] * 4),
        resources=_samples([90, 95, 92, 94]),
        databases=[_db(_statement(LOOKUP_SQL, 150, 500))],  # 150 ms: 20 users x 5 ms is 100
    )
    rule = SlowStatement()
    assert rule.threshold_ms(gil_bound) == 200.0
    assert rule.check(gil_bound) == []
    assert SlowStatement(gil_wait_ms=0).check(gil_bound) != []
    waiting_on_io = replace(gil_bound, resources=_samples([20, 25, 22, 24]))
    assert rule.threshold_ms(waiting_on_io) == 100.0
    assert rule.check(waiting_on_io) != []
