"""Fuzzing baseline loading: whatever a run file holds, ``load_run`` returns a usable baseline
or raises ``BaselineError`` naming the file; nothing else escapes, nothing hangs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_loadtest._baseline._metadata import RunMetadata
from pytest_loadtest._baseline._storage import Baseline, BaselineError, load_run, save_run

from helpers.baseline_samples import result

MACHINE = "Linux-CPython-3.11-64bit"
FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

#: Values a corrupt or hostile file may hold where a number belongs.
ODD: st.SearchStrategy[Any] = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([0, -1, 2**63, 2**64, 10**400, True, False, None]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["NaN", "inf", "-1", "1e400", "", "x" * 300]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.integers(min_value=1, max_value=200).map(lambda n: "[" * n + "]" * n),  # marked below
)
JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=30,
)


#: Where loading reads a benchmark entry: drawn as often as any other place in the file.
_STATS = ("stats", "loadtest")
FIELDS: list[tuple[str | int, ...]] = [
    ("stats",),
    _STATS,
    *((*_STATS, key) for key in ("histogram", "errors", "duration", "window", "window_calls")),
    (*_STATS, "window_calls", 0),
    *((*_STATS, "histogram", key) for key in ("hdr", "count", "min_ns", "max_ns", "mean_ns", "m2")),
    ("extra_info", "loadtest"),
    *(
        ("extra_info", "loadtest", key)
        for key in ("format", "test_id", "run", "operation", "kind", "load", "plugin_version")
    ),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    storage = tmp_path_factory.mktemp("template")
    meta = RunMetadata.collect(MACHINE, machine_info={}, commit_info={})
    path = save_run(storage, MACHINE, "main", [result(1, operations={"a": 1.0, "b": 2.0})], meta)
    assert path is not None
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [path] + [p for k, v in node.items() for p in _leaves(v, (*path, k))]
    if isinstance(node, list):
        return [path] + [p for i, v in enumerate(node) for p in _leaves(v, (*path, i))]
    return [path]


def _load(storage: Path, text: str | bytes) -> None:
    path = storage / MACHINE / "0001_main.json"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    try:
        baseline = load_run(storage, MACHINE, 1)
    except BaselineError as exc:
        error = exc
    else:
        _check_usable(baseline)
        return
    assert error.path == path
    assert str(path) in str(error)


def _check_usable(baseline: Baseline) -> None:
    for entry in baseline.entries.values():  # what was accepted can be compared with
        assert entry.duration > 0
        assert 0 <= entry.errors <= entry.total
        for metric in ("p50", "p95", "max", "mean", "throughput", "error_rate"):
            value = entry.value(metric)
            assert math.isnan(value) or math.isfinite(value)
        baseline.metadata.describe()


@FUZZ
@given(data=st.data(), value=ODD)
def test_any_value_anywhere_in_a_run_file(
    tmp_path: Path, template: dict[str, Any], data: st.DataObject, value: Any
) -> None:
    document = json.loads(json.dumps(template))
    fields = [
        ("benchmarks", i, *field) for i in range(len(document["benchmarks"])) for field in FIELDS
    ]
    where = data.draw(st.sampled_from(fields) | st.sampled_from(_leaves(document)[1:]))
    parent = document
    for step in where[:-1]:
        parent = parent[step]
    text = json.dumps(value) if not isinstance(value, str) or not value.startswith("[") else ""
    parent[where[-1]] = "PLACEHOLDER"
    raw = json.dumps(document).replace('"PLACEHOLDER"', text or value, 1)
    _load(tmp_path, raw)


@FUZZ
@given(document=JSON)
def test_any_json_document(tmp_path: Path, document: Any) -> None:
    _load(tmp_path, json.dumps(document))


@FUZZ
@given(benchmarks=st.lists(JSON, max_size=3))
def test_any_benchmark_entries(
    tmp_path: Path, template: dict[str, Any], benchmarks: list[Any]
) -> None:
    _load(tmp_path, json.dumps({**template, "benchmarks": template["benchmarks"] + benchmarks}))


@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes(tmp_path: Path, raw: bytes | str) -> None:
    _load(tmp_path, raw)
