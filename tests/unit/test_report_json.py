"""``results.json``: schema, metadata and strict JSON."""

from __future__ import annotations

import datetime
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_loadtest._model._result import SCHEMA_VERSION, LoadResult
from pytest_loadtest._report._json import (
    REPORT_SCHEMA_VERSION,
    collect_metadata,
    git_commit,
    jsonable,
    results_document,
)
from pytest_loadtest._report._write import write_report

from helpers.report_samples import measured_result, synthetic_result


def _strict(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("report")
    results = [synthetic_result(), measured_result(lambda: None, test_id="t.py::test_noop")]
    write_report(directory, results, metadata={"pytest": "9.9", "python": "overridden"})
    data: dict[str, Any] = _strict((directory / "results.json").read_text(encoding="utf-8"))
    return data


def test_versions_and_top_level_keys(document: dict[str, Any]) -> None:
    assert REPORT_SCHEMA_VERSION == 1
    assert set(document) == {
        "report_schema_version",
        "result_schema_version",
        "metadata",
        "results",
    }
    assert document["report_schema_version"] == REPORT_SCHEMA_VERSION
    assert document["result_schema_version"] == SCHEMA_VERSION


def test_metadata_has_the_run_facts_and_the_callers_keys(document: dict[str, Any]) -> None:
    meta = document["metadata"]
    assert meta["pytest"] == "9.9"
    assert meta["python"] == "overridden"  # the caller's keys win
    datetime.datetime.fromisoformat(meta["created_at"])
    assert isinstance(meta["plugin_version"], str)
    assert meta["plugin_version"]
    assert meta["platform"]["machine"]
    assert meta["git"] is None or len(meta["git"]["commit"]) in (40, 64)


def test_every_result_is_its_to_dict_and_loads_back(document: dict[str, Any]) -> None:
    first, second = document["results"]
    assert second["test_id"] == "t.py::test_noop"
    again = LoadResult.from_dict(first)
    original = synthetic_result()
    assert again.total == original.total
    assert again.p99 == original.p99
    assert [b.message for b in again.sla_breaches] == [b.message for b in original.sla_breaches]
    assert set(first["operations"]) == {"browse", "list", "open", "checkout", "login"}


def test_collect_metadata_python_and_time() -> None:
    when = datetime.datetime(2025, 1, 31, 12, tzinfo=datetime.timezone.utc)
    meta = collect_metadata(now=when)
    assert meta["created_at"] == "2025-01-31T12:00:00+00:00"
    version = ".".join(str(n) for n in sys.version_info[:2])
    assert meta["python"]["version"].startswith(version)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_of_a_repository_and_outside_one(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    assert git_commit(repo) is None  # not a repository yet
    env = ["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", *env, "commit", "-q", "--allow-empty", "-m", "x"], cwd=repo, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    assert git_commit(repo) == head
    assert collect_metadata(repo)["git"] == {"commit": head}


@pytest.mark.parametrize(
    "error", [FileNotFoundError("git"), subprocess.TimeoutExpired(["git"], 2.0)]
)
def test_git_missing_or_hanging_gives_none(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def run(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(subprocess, "run", run)
    assert git_commit() is None
    assert collect_metadata()["git"] is None


class _Thing:
    def __str__(self) -> str:
        return "thing"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (math.nan, None),
        (math.inf, None),
        (1.5, 1.5),
        ((1, 2), [1, 2]),
        ({"b", "a"}, ["a", "b"]),
        ({1: (math.nan,)}, {"1": [None]}),
        (Path("x"), "x"),
        (_Thing(), "thing"),
        (True, True),
        (None, None),
    ],
)
def test_jsonable(value: object, expected: object) -> None:
    assert jsonable(value) == expected


def test_non_finite_values_become_null() -> None:
    result = synthetic_result(seconds=3)
    result.settings["odd"] = (math.nan, math.inf, Path("p"))
    document = results_document([result], {"ratio": math.nan})
    text = json.dumps(document, allow_nan=False)  # raises on a leftover nan
    assert _strict(text)["results"][0]["settings"]["odd"] == [None, None, "p"]
    assert document["metadata"] == {"ratio": None}
