"""The seeds line(s) of the terminal summary: what repeats a run (issue 18)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._report._seeds import MAX_LISTED, seed_lines

from helpers.report_samples import synthetic_result


@pytest.fixture(scope="module")
def sample() -> LoadResult:
    return synthetic_result(seconds=2)


def _with(sample: LoadResult, test_id: str, seed: object, source: str) -> LoadResult:
    settings = {"seed": seed, "sources": {"seed": source}}
    return replace(sample, test_id=test_id, name="run", settings=settings)


def test_one_seed_shared_by_every_run_is_one_line(sample: LoadResult) -> None:
    source = "pytest-randomly (--randomly-seed=1)"
    results = [_with(sample, f"t.py::test_{i}", 1, source) for i in range(3)]
    assert seed_lines(results) == [
        "seed 1 for all 3 runs (pytest-randomly (--randomly-seed=1)): --load-seed=1 repeats it"
    ]


def test_a_default_seed_is_said_to_be_random(sample: LoadResult) -> None:
    lines = seed_lines([_with(sample, "t.py::test_a", 77, "default")])
    assert lines == ["seed 77 for the run (chosen at random): --load-seed=77 repeats it"]


def test_different_seeds_are_listed_by_run_with_hostile_names_escaped(sample: LoadResult) -> None:
    results = [
        _with(sample, "t.py::test_a", 5, "default"),
        _with(sample, "t.py::test_\x1b[31mred", 123456, "default"),
    ]
    assert seed_lines(results) == [
        "seeds (--load-seed=SEED repeats a run):",
        "            5  t.py::test_a [run]",
        "       123456  t.py::test_\\x1b[31mred [run]",
    ]


def test_a_run_outside_a_test_is_named_alone(sample: LoadResult) -> None:
    results = [_with(sample, "", 5, "default"), _with(sample, "t.py::test_b", 6, "default")]
    assert seed_lines(results)[1:] == ["            5  run", "            6  t.py::test_b [run]"]


def test_many_runs_are_cut_and_counted(sample: LoadResult) -> None:
    results = [_with(sample, f"t.py::test_{i}", i, "default") for i in range(MAX_LISTED + 5)]
    lines = seed_lines(results)
    assert len(lines) == 1 + MAX_LISTED + 1
    assert lines[-1] == "  ... and 5 more runs (results.json has every seed)"


def test_results_without_a_seed_print_nothing(sample: LoadResult) -> None:
    assert seed_lines([]) == []
    assert seed_lines([replace(sample, settings={})]) == []
