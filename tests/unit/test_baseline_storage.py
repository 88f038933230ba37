"""Saving and loading runs: layout, numbering, never overwriting, failed runs, bad baselines."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from pytest_loadtest._baseline._entry import EntryKey
from pytest_loadtest._baseline._metadata import RunMetadata
from pytest_loadtest._baseline._storage import (
    BaselineError,
    check_save_name,
    load_run,
    save_run,
    saved_runs,
    storage_path,
)

from helpers.baseline_samples import TEST_ID, result

MACHINE = "Linux-CPython-3.11-64bit"


def _meta(**changes: Any) -> RunMetadata:
    base = RunMetadata.collect(MACHINE, machine_info={"system": "Linux"}, commit_info={"id": "c0"})
    return dataclasses.replace(base, **changes)


def _save(storage: Path, name: str = "main", seed: int = 1, **kwargs: object) -> Path | None:
    return save_run(
        storage,
        MACHINE,
        name,
        [result(seed, operations={"get": 1.0, "put": 3.0})],
        _meta(),
        **kwargs,  # type: ignore[arg-type]
    )


def test_layout_and_round_trip(tmp_path: Path) -> None:
    path = _save(tmp_path)
    assert path == tmp_path / MACHINE / "0001_main.json"
    document = json.loads(path.read_text())
    assert set(document) >= {"machine_info", "commit_info", "benchmarks", "datetime", "version"}
    assert document["loadtest"]["name"] == "main"
    assert document["loadtest"]["passed"] is True
    names = [bench["name"] for bench in document["benchmarks"]]
    assert names == ["test_shop[shop]", "test_shop[shop/get]", "test_shop[shop/put]"]
    assert {bench["group"] for bench in document["benchmarks"]} == {TEST_ID}

    baseline = load_run(tmp_path, MACHINE)
    assert baseline.path == path
    assert baseline.number == 1
    assert baseline.name == "main"
    assert baseline.label == "0001_main"
    assert baseline.metadata.commit_info == {"id": "c0"}
    original = result(1, operations={"get": 1.0, "put": 3.0})
    total = baseline.entries[EntryKey(TEST_ID, "shop")]
    assert total.kind == "total"
    assert total.total == original.total
    assert total.value("p99") == original.p99
    assert total.histogram.mean_ms == pytest.approx(original.mean)
    assert total.window_calls == tuple(row.calls for row in original.timeline)
    assert total.load["users"] == 10
    put = baseline.entries[EntryKey(TEST_ID, "shop", "put")]
    assert put.value("p50") == original.operations["put"].p50
    assert put.kind == "task"


def test_single_operation_runs_keep_only_the_total(tmp_path: Path) -> None:
    save_run(tmp_path, MACHINE, "one", [result(1)], _meta())
    assert list(load_run(tmp_path, MACHINE).entries) == [EntryKey(TEST_ID, "shop")]


def test_capacity_steps_are_not_saved(tmp_path: Path) -> None:
    step = result(1)
    step.probe = {"search": "capacity", "by": "users", "load": 10, "held": True}
    save_run(tmp_path, MACHINE, "probe", [step, result(2, test_id="t.py::test_other")], _meta())
    keys = list(load_run(tmp_path, MACHINE).entries)
    assert keys == [EntryKey("t.py::test_other", "shop")]


def test_numbering_follows_the_highest_number(tmp_path: Path) -> None:
    folder = tmp_path / MACHINE
    folder.mkdir()
    (folder / "0007_pytest_benchmark_run.json").write_text('{"benchmarks": []}')
    (folder / "notes.json").write_text("{}")
    assert _save(tmp_path) == folder / "0008_main.json"
    assert _save(tmp_path) == folder / "0009_main.json"
    assert [run.number for run in saved_runs(tmp_path, MACHINE)] == [7, 8, 9]
    assert not [p for p in folder.iterdir() if p.suffix in {".tmp", ".claim"}]


def test_never_overwrites(tmp_path: Path) -> None:
    first = _save(tmp_path, seed=1)
    assert first is not None
    before = first.read_bytes()
    second = _save(tmp_path, seed=2)
    assert second is not None
    assert second != first
    assert first.read_bytes() == before


def test_concurrent_saves_take_distinct_numbers(tmp_path: Path) -> None:
    paths: list[Path | None] = []
    lock = threading.Lock()

    def save() -> None:
        path = _save(tmp_path, name="worker")
        with lock:
            paths.append(path)

    threads = [threading.Thread(target=save) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({p for p in paths if p is not None}) == 6
    assert [run.number for run in saved_runs(tmp_path, MACHINE)] == [1, 2, 3, 4, 5, 6]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_saved_file_honours_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        path = _save(tmp_path)
    finally:
        os.umask(previous)
    assert path is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_failed_run_is_not_saved_unless_asked(tmp_path: Path) -> None:
    good = _save(tmp_path, seed=1)
    assert _save(tmp_path, seed=2, failed=True) is None
    assert [run.path for run in saved_runs(tmp_path, MACHINE)] == [good]
    forced = _save(tmp_path, name="broken", seed=3, failed=True, save_failed=True)
    assert forced is not None
    assert json.loads(forced.read_text())["loadtest"]["passed"] is False
    # the latest good run stays the baseline; the failed one is there when asked for
    assert load_run(tmp_path, MACHINE).path == good
    assert load_run(tmp_path, MACHINE, include_failed=True).path == forced
    assert load_run(tmp_path, MACHINE, "broken").path == forced
    good.unlink()
    with pytest.raises(BaselineError, match=r"among 1 file\(s\) \(1 saved from failed sessions"):
        load_run(tmp_path, MACHINE)


def test_which(tmp_path: Path) -> None:
    first = _save(tmp_path, name="main")
    second = _save(tmp_path, name="feature")
    third = _save(tmp_path, name="main")
    assert load_run(tmp_path, MACHINE).path == third
    assert load_run(tmp_path, MACHINE, 1).path == first
    assert load_run(tmp_path, MACHINE, "0002").path == second
    assert load_run(tmp_path, MACHINE, "2").path == second
    assert load_run(tmp_path, MACHINE, "main").path == third
    assert load_run(tmp_path, MACHINE, "0001_main").path == first
    assert load_run(tmp_path, MACHINE, "0002_feature.json").path == second
    assert first is not None
    assert load_run(tmp_path, "other-machine", first).path == first
    assert load_run(tmp_path, MACHINE, str(first)).path == first


def test_latest_skips_runs_without_load_results(tmp_path: Path) -> None:
    good = _save(tmp_path)
    own = tmp_path / MACHINE / "0002_benchmarks_only.json"
    own.write_text(json.dumps({"benchmarks": [{"name": "test_sort", "stats": {"mean": 1}}]}))
    assert load_run(tmp_path, MACHINE).path == good
    with pytest.raises(BaselineError, match="has no load test results") as info:
        load_run(tmp_path, MACHINE, 2)
    assert info.value.path == own


@pytest.mark.parametrize(
    ("which", "message"),
    [
        (None, "no run to compare with"),
        (4, "has no run number 0004"),
        ("release", "has no run named 'release'"),
        ("0004_gone.json", "no such file"),
    ],
)
def test_missing_baseline(tmp_path: Path, which: int | str | None, message: str) -> None:
    with pytest.raises(BaselineError, match=message) as info:
        load_run(tmp_path, MACHINE, which)
    assert MACHINE in str(info.value)


def test_missing_baseline_points_at_other_machines(tmp_path: Path) -> None:
    save_run(tmp_path, "Darwin-CPython-3.12-64bit", "mac", [result(1)], _meta())
    with pytest.raises(BaselineError, match=r"runs of other machines: Darwin-CPython-3\.12-64bit"):
        load_run(tmp_path, MACHINE)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"benchmarks": [', "is not valid JSON"),
        ("", "is not valid JSON"),
        ('["a list"]', "is not a pytest-benchmark run file"),
        ('{"benchmarks": [42]}', "benchmark entry is not an object"),
        (
            '{"benchmarks": [{"name": "t[x]", "extra_info": {"loadtest": {"format": 1}}}]}',
            "corrupt load test entry: benchmark 't\\[x\\]': missing field 'stats'",
        ),
        (
            '{"benchmarks": [{"extra_info": {"loadtest": {"format": 99}}}]}',
            "load test entry format 99, expected 1",
        ),
    ],
)
def test_corrupt_baseline(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / MACHINE / "0001_main.json"
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(BaselineError, match=message) as info:
        load_run(tmp_path, MACHINE)
    assert info.value.path == path
    assert str(path) in str(info.value)


def test_corrupt_histogram(tmp_path: Path) -> None:
    path = _save(tmp_path)
    assert path is not None
    document = json.loads(path.read_text())
    document["benchmarks"][1]["stats"]["loadtest"]["histogram"]["hdr"] = "bm90IEhEUg=="
    path.write_text(json.dumps(document))
    with pytest.raises(BaselineError, match=r"test_shop\[shop/get\]") as info:
        load_run(tmp_path, MACHINE)
    assert "0001_main.json" in str(info.value)


def test_truncated_latest_is_an_error_not_skipped(tmp_path: Path) -> None:
    _save(tmp_path)
    latest = _save(tmp_path)
    assert latest is not None
    latest.write_bytes(latest.read_bytes()[:100])
    with pytest.raises(BaselineError, match=r"0002_main\.json: is not valid JSON"):
        load_run(tmp_path, MACHINE)


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root reads files whatever their mode"
)
def test_unreadable_baseline(tmp_path: Path) -> None:  # pragma: no cover - CI runs as root
    path = _save(tmp_path)
    assert path is not None
    path.chmod(0)
    with pytest.raises(BaselineError, match="cannot be read: Permission denied"):
        load_run(tmp_path, MACHINE)


def test_unreadable_baseline_as_a_directory(tmp_path: Path) -> None:
    # what root cannot read either: a folder where the run file should be
    path = tmp_path / MACHINE / "0001_main.json"
    path.mkdir(parents=True)
    with pytest.raises(BaselineError, match=r"0001_main\.json: cannot be read"):
        load_run(tmp_path, MACHINE)


def test_unwritable_storage(tmp_path: Path) -> None:
    blocker = tmp_path / "storage"
    blocker.write_text("a file, not a folder")
    with pytest.raises(BaselineError, match="cannot save the run"):
        _save(blocker)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, Path(".benchmarks")),
        ("file://./.benchmarks", Path(".benchmarks")),
        ("file:///srv/perf", Path("/srv/perf")),
        ("perf/runs", Path("perf/runs")),
        (Path("/tmp/x"), Path("/tmp/x")),
    ],
)
def test_storage_path(value: str | Path | None, expected: Path) -> None:
    assert storage_path(value) == expected


@pytest.mark.parametrize("value", ["elasticsearch+https://host/index", "s3://bucket", "file://"])
def test_storage_path_rejects(value: str) -> None:
    with pytest.raises(BaselineError):
        storage_path(value)


@pytest.mark.parametrize("name", ["main", "pr-123", "nightly 2024"])
def test_good_names(name: str) -> None:
    assert check_save_name(name) == name


@pytest.mark.parametrize("name", ["", "  ", "a/b", "c:d", "what?", "a|b"])
def test_bad_names(name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        check_save_name(name)
