"""What the watchers saw, carried between processes and merged (scale-out): round trips of real
watcher output, exact merges, and malformed data refused with ValueError. The detectors and
build_result on merged data: test_monitor_merge_rules.py."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any, cast

import pytest
import sqlalchemy as sa

from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._monitor import merge_watched, watched_from_dict, watched_to_dict
from pytest_loadtest._monitor._leaks import AllocationSite
from pytest_loadtest._monitor._resources import ResourceSampler
from pytest_loadtest._monitor._samples import ResourceSamples
from pytest_loadtest._monitor._speed import ReferenceTimes
from pytest_loadtest._monitor._statements import NO_OPERATION

from helpers.monitor_merge import (
    GET_SQL,
    NAN,
    memory_engine,
    sampled,
    samples_of,
    watched_db,
    watched_of,
)


@pytest.fixture(scope="module")
def engine() -> Iterator[sa.Engine]:
    """An in-memory SQLite database behind a QueuePool."""
    with memory_engine() as engine:
        yield engine


@pytest.fixture(scope="module")
def watched(engine: sa.Engine) -> dict[str, Any]:
    """One process's ``Engine.watched``, every kind real (no test changes it)."""
    return watched_of(engine)


def assert_plain(value: object, where: str = "data") -> None:
    """Only JSON's types, string keys, finite numbers."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), f"{where}: key {key!r}"
            assert_plain(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            assert_plain(item, f"{where}[{i}]")
    else:
        assert value is None or isinstance(value, str | int | float | bool), f"{where}: {value!r}"
        assert not isinstance(value, float) or math.isfinite(value), f"{where}: {value!r}"


def figures(watched: dict[str, Any]) -> dict[str, Any]:
    """Everything a watched dict holds, comparable (nan as None, histograms encoded)."""
    return {
        "resources": watched["resources"].to_dict() if watched.get("resources") else None,
        "database": [db.to_dict() for db in watched.get("database", [])],
        "allocations": list(watched.get("allocations", [])),
        "speed": watched.get("speed"),
    }


# -- round trips -------------------------------------------------------------------------------
def test_every_kind_survives_json_unchanged(watched: dict[str, Any]) -> None:
    data = watched_to_dict(watched)
    assert_plain(data)
    back = watched_from_dict(json.loads(json.dumps(data, allow_nan=False)))
    assert set(back) == set(watched)
    assert figures(back) == figures(watched)
    [db], [was] = back["database"], watched["database"]
    assert db.statements.keys() == was.statements.keys()
    for sql, statement in db.statements.items():
        assert statement.plan == was.statements[sql].plan
        assert statement.by_operation == was.statements[sql].by_operation
        assert statement.histogram.to_sparse() == was.statements[sql].histogram.to_sparse()
    assert db.pool.wait.to_sparse() == was.pool.wait.to_sparse()
    assert db.pool.peak_by_window == was.pool.peak_by_window
    assert back["resources"].samples[1:] == watched["resources"].samples[1:]  # [0]: nan CPU
    assert back["allocations"] == watched["allocations"]
    assert back["speed"] == watched["speed"] == ReferenceTimes(2.0, 2.0)


def test_the_real_watchers_saw_what_the_round_trip_has_to_carry(watched: dict[str, Any]) -> None:
    [db] = watched["database"]
    assert db.statements[GET_SQL].by_operation == {"get": 4}
    [scan] = [s for s in db.statements.values() if "tag = ?" in s.sql and s.verb == "SELECT"]
    assert scan.by_operation == {NO_OPERATION: 1}
    assert scan.plan is not None
    assert [(s.table, s.columns) for s in scan.plan.scans] == [("items", ("tag",))]
    assert db.pool.checkouts >= 7
    assert db.pool.capacity == 3
    assert db.pool.hold.count >= 7
    assert len(watched["resources"].samples) >= 2
    assert watched["allocations"]
    assert watched["allocations"][0].file.endswith("monitor_merge.py")


def test_execnet_carries_the_plain_form(watched: dict[str, Any]) -> None:
    execnet = pytest.importorskip("execnet")
    data = watched_to_dict(watched)
    assert figures(watched_from_dict(execnet.loads(execnet.dumps(data)))) == figures(watched)


def test_kinds_left_out_stay_out_and_none_stays_none() -> None:
    assert watched_from_dict(watched_to_dict({})) == {}
    both = {"resources": None, "speed": None}
    assert watched_from_dict(watched_to_dict(both)) == both


def test_a_merged_watched_round_trips_with_its_process_counts(watched: dict[str, Any]) -> None:
    merged = merge_watched([watched, watched])
    back = watched_from_dict(json.loads(json.dumps(watched_to_dict(merged))))
    assert figures(back) == figures(merged)
    assert back["resources"].processes == 2
    assert back["resources"].to_dict()["processes"] == 2


# -- merging -----------------------------------------------------------------------------------
def sparse_counts(histogram: LatencyHistogram) -> Counter[int]:
    """The histogram's counts by bucket: exactly what adding histograms must add."""
    sparse = histogram.to_sparse()
    indices, counts = cast("list[int]", sparse["indices"]), cast("list[int]", sparse["counts"])
    return Counter(dict(zip(indices, counts, strict=True)))


def test_databases_merge_statement_by_statement_exactly(engine: sa.Engine) -> None:
    a = watched_db(engine, gets=6, tags=1, explain=0)  # no plans in the first part
    b = watched_db(engine, gets=4, tags=3)
    [db] = merge_watched([{"database": [a]}, {"database": [b]}])["database"]
    assert db.statements.keys() == a.statements.keys() | b.statements.keys()
    get = db.statements[GET_SQL]
    assert get.calls == 10
    assert get.by_operation == {"get": 10}
    assert db.statements_by_operation() == {"get": 10, "tag": 4, NO_OPERATION: 2}
    for sql, statement in db.statements.items():
        assert sparse_counts(statement.histogram) == sparse_counts(
            a.statements[sql].histogram
        ) + sparse_counts(b.statements[sql].histogram)
        parts = [a.statements[sql].histogram, b.statements[sql].histogram]
        assert statement.histogram.min_ns == min(h.min_ns for h in parts)
        assert statement.histogram.max_ns == max(h.max_ns for h in parts)
        assert statement.plan == b.statements[sql].plan  # the first part that has one
    assert db.pool.checkouts == a.pool.checkouts + b.pool.checkouts
    assert db.pool.wait.count == a.pool.wait.count + b.pool.wait.count
    assert db.pool.peak_checked_out == max(a.pool.peak_checked_out, b.pool.peak_checked_out)
    assert db.pool.capacity == 3  # one process's pool, not the sum of theirs
    assert db.errors == a.errors + b.errors


def test_the_first_plan_wins(engine: sa.Engine) -> None:
    a, b = watched_db(engine, gets=2), watched_db(engine, gets=2)
    [db] = merge_watched([{"database": [a]}, {"database": [b]}])["database"]
    for sql, statement in db.statements.items():
        assert statement.plan is a.statements[sql].plan


def test_resources_sum_at_aligned_instants() -> None:
    a = samples_of(
        1.0, (0.0, 0.0, NAN, 100, 10), (1.0, 1.0, 50, 110, 10), (2.0, 1.0, 70, 120, 10),
        (2.6, 0.6, 40, 121, 10),
    )  # fmt: skip
    b = samples_of(  # its own clock is a little late; starved past 2 s
        1.0, (0.001, 0.0, NAN, 200, None), (1.01, 1.01, 30, 205, None), (3.1, 2.09, 60, 210, 4)
    )
    merged = merge_watched([{"resources": a}, {"resources": b}])["resources"]
    rows = [
        (s.processes, s.cpu_percent, s.rss_bytes, s.threads, s.open_fds) for s in merged.samples
    ]
    assert rows[1:] == [(2, 80, 315, 10, 10), (1, 70, 120, 5, 10), (2, 100, 331, 10, 14)]
    assert rows[0][0] == 2
    assert math.isnan(rows[0][1])  # no CPU figure yet
    assert rows[0][2:] == (300, 10, 10)
    assert [s.t for s in merged.samples] == pytest.approx([0.0005, 1.005, 2.0, 2.85])
    assert [s.read_bytes for s in merged.samples] == [1, 2010, 2000, 5700]
    assert merged.samples[1].system_cpu_percent == 12.5  # the busier machine's, not a sum
    assert merged.processes == 2
    assert [s.t for s in merged.complete()] == [s.t for s in merged.samples if s.processes == 2]
    assert (merged.interval, merged.cpu_count, merged.missed) == (1.0, 2, 2)
    assert merged.rss_peak == 331
    assert merged.cpu_peak == 100
    assert merged.by_window(2.0)[0.0].rss_bytes == 315  # not the later one lacking a process
    c = samples_of(1.0, (0.0, 0.0, NAN, 1000, 1), (1.0, 1.0, 5, 1000, 1))
    nested = ResourceSamples.merge([merged, c])
    assert [(s.processes, s.rss_bytes) for s in nested.samples] == [
        (3, 1300), (3, 1315), (1, 120), (2, 331)
    ]  # fmt: skip


def test_only_the_watchers_objects_serialise() -> None:
    with pytest.raises(TypeError, match="watched resources is dict, not ResourceSamples"):
        watched_to_dict({"resources": {}})
    with pytest.raises(TypeError, match="watched database is str, not a list"):
        watched_to_dict({"database": "sqlite://"})
    with pytest.raises(TypeError, match=re.escape("watched allocations[0] is int")):
        watched_to_dict({"allocations": [1]})
    with pytest.raises(ValueError, match="unknown watched kind 'gpu'"):
        watched_to_dict({"gpu": 1.0})


def test_two_samples_of_one_process_at_one_instant_become_one() -> None:
    starved = samples_of(1.0, (0.0, 0.0, NAN, 1, 1), (9.6, 0.6, 100, 2, 1), (10.1, 0.5, 34, 3, 1))
    [_first, joined] = ResourceSamples.merge([starved]).samples
    assert (joined.t, joined.rss_bytes) == (10.1, 3)
    assert joined.span == pytest.approx(1.1)
    assert joined.cpu_percent == pytest.approx((100 * 0.6 + 34 * 0.5) / 1.1)


def test_real_samplers_merge() -> None:
    a, b = sampled(ResourceSampler(0.05), ResourceSampler(0.05), seconds=0.2)
    merged = ResourceSamples.merge([a, b])
    assert merged.samples[0].processes == 2
    assert merged.samples[0].rss_bytes == a.samples[0].rss_bytes + b.samples[0].rss_bytes
    assert {s.processes for s in merged.samples} <= {1, 2}
    assert merged.rss_peak <= a.rss_peak + b.rss_peak


def test_allocations_merge_by_line_and_speed_takes_the_median() -> None:
    here, there = ("a.py", 3), ("b.py", 9)
    a = [AllocationSite(*here, 100, 2, 500), AllocationSite(*there, 50, 1, 60)]
    b = [AllocationSite(*there, 70, 3, 80)]
    one = ReferenceTimes(1.0, 0.5)
    merged = merge_watched([{"allocations": a, "speed": one}, {"allocations": b, "speed": None}])
    assert merged["allocations"] == [
        AllocationSite(*there, 120, 4, 140),
        AllocationSite(*here, 100, 2, 500),
    ]
    assert merged["speed"] == one
    times = [(3.0, 1.0), None, (1.0, 0.9), (2.5, 2.0), (9.0, 0.8)]
    speeds = [{"speed": None if t is None else ReferenceTimes(*t)} for t in times]
    # the median of the median times, and of the CPU times, each on its own
    assert merge_watched(speeds)["speed"] == ReferenceTimes(2.75, 0.95)
    assert merge_watched([{"speed": None}, {}]) == {"speed": None}


def test_what_cannot_merge_is_a_value_error(engine: sa.Engine) -> None:
    db = watched_db(engine, gets=1)
    with pytest.raises(ValueError, match="no watched data"):
        merge_watched([])
    with pytest.raises(ValueError, match=re.escape("different numbers of databases: [1, 0]")):
        merge_watched([{"database": [db]}, {}])
    with pytest.raises(ValueError, match="unknown watched kind 'gpu'"):
        merge_watched([{"gpu": 1}])
    fast = samples_of(0.5, (0.0, 0.0, NAN, 1, 1))
    slow = samples_of(1.0, (0.0, 0.0, NAN, 1, 1))
    with pytest.raises(ValueError, match="different intervals"):
        merge_watched([{"resources": fast}, {"resources": slow}])


# -- malformed data ----------------------------------------------------------------------------
def _broken(data: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    broken = copy.deepcopy(data)
    into: Any = broken
    for key in path[:-1]:
        into = into[key]
    if value is _DELETE:
        del into[path[-1]]
    else:
        into[path[-1]] = value
    return broken


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("watched_version",), 1, "unsupported watched data version 1"),
        (("watched_version",), _DELETE, "unsupported watched data version None"),
        (("gpu",), {}, "unknown watched kind 'gpu'"),
        (("resources",), [], "watched resources is list, not a mapping"),
        (("resources", "interval"), _DELETE, "watched resources: missing field 'interval'"),
        (("resources", "interval"), 0, "interval 0.0 is not positive"),
        (("resources", "interval"), "often", "watched resources: could not convert"),
        (("resources", "samples"), {"t": 1}, "resources samples is dict, not a list"),
        (("resources", "samples", 0), 7, "resources sample 0 is int, not a mapping"),
        (("resources", "samples", 1, "rss_bytes"), _DELETE, "missing field 'rss_bytes'"),
        (("resources", "samples", 1, "rss_bytes"), None, "watched resources: int()"),
        (("resources", "samples", 1, "processes"), 0, "at least one process, not 0"),
        (("database",), {"name": "x"}, "watched database is dict, not a list"),
        (("database", 0), "db", "watched database[0] is str, not a mapping"),
        (("database", 0, "pool"), _DELETE, "watched database[0] pool is NoneType"),
        (("database", 0, "pool", "wait"), _DELETE, "database[0]: missing field 'wait'"),
        (("database", 0, "pool", "wait", "hdr"), "AAAA", "corrupt HDR histogram encoding"),
        (("database", 0, "statements", 0), [], "database[0] statement 0 is list"),
        (("database", 0, "statements", 0, "histogram", "count"), -1, "outside 0..2**63"),
        (("database", 0, "statements", 0, "by_operation"), [1], "database[0]: 'list'"),
        (("database", 0, "statements", 0, "plan"), "x", "database[0]: string indices"),
        (("allocations", 0, "line"), _DELETE, "allocations[0]: missing field 'line'"),
        (("allocations", 0), None, "allocations[0] is NoneType, not a mapping"),
        (("speed",), "fast", "watched speed is str, not a mapping"),
        (("speed", "median_ms"), "fast", "watched speed.median_ms is str, not a number of ms"),
        (("speed", "cpu_ms"), -1.0, "watched speed.cpu_ms = -1.0 is not a time in ms"),
        (("speed", "cpu_ms"), _DELETE, "watched speed.cpu_ms is NoneType"),
        (("speed", "median_ms"), True, "watched speed.median_ms is bool"),
    ],
)
def test_malformed_data_is_a_value_error_saying_what(
    watched: dict[str, Any], path: tuple[str | int, ...], value: object, message: str
) -> None:
    data = watched_to_dict(watched)
    with pytest.raises(ValueError, match=re.escape(message)):
        watched_from_dict(_broken(data, path, value))


def test_a_statement_listed_twice_and_data_not_a_mapping_are_value_errors(
    watched: dict[str, Any],
) -> None:
    data = watched_to_dict(watched)
    statements = data["database"][0]["statements"]
    statements.append(statements[0])
    with pytest.raises(ValueError, match="listed twice"):
        watched_from_dict(data)
    with pytest.raises(ValueError, match="watched data is list, not a mapping"):
        watched_from_dict([])  # type: ignore[arg-type]


def _paths(value: object, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, dict):
        items: Iterator[tuple[str | int, object]] = iter(value.items())
    elif isinstance(value, list):
        items = iter(enumerate(value[:2]))  # the first two of a list stand for the rest
    else:
        return
    for key, item in items:
        yield (*path, key)
        yield from _paths(item, (*path, key))


def test_any_field_replaced_by_junk_parses_or_is_a_value_error(watched: dict[str, Any]) -> None:
    data = watched_to_dict(watched)
    paths = list(_paths(data))
    assert len(paths) > 100
    for path in paths:
        for junk in (_DELETE, None, "x", -1, 1e300, [], {}, [[1, 2]]):
            with contextlib.suppress(ValueError):
                watched_from_dict(_broken(data, path, junk))
