"""Corrupt run files: each impossible value, special file, huge or deeply nested document is one
BaselineError naming the file and the field, never a crash, a hang or a silent use; and
concurrent saves under different names take distinct numbers."""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_loadtest._baseline import _storage
from pytest_loadtest._baseline._metadata import RunMetadata
from pytest_loadtest._baseline._storage import BaselineError, load_run, save_run, saved_runs

from helpers.baseline_samples import result

MACHINE = "Linux-CPython-3.11-64bit"
META = RunMetadata.collect(MACHINE, machine_info={"system": "Linux"}, commit_info={"id": "c0"})


def _save(storage: Path, name: str = "main", seed: int = 1) -> Path:
    path = save_run(storage, MACHINE, name, [result(seed, operations={"a": 1.0, "b": 2.0})], META)
    assert path is not None
    return path


def _corrupt(path: Path, change: Any) -> None:
    document = json.loads(path.read_text())
    change(document["benchmarks"][0])
    path.write_text(json.dumps(document))


def _set(where: str, key: str, value: object) -> Any:
    def change(bench: dict[str, Any]) -> None:
        target = bench["stats"]["loadtest"]
        if where == "histogram":
            target = target["histogram"]
        elif where == "extra":
            target = bench["extra_info"]["loadtest"]
        target[key] = value

    return change


@pytest.mark.parametrize(
    ("where", "key", "value", "message"),
    [
        ("histogram", "count", 1e400, "'count' is float inf, not an integer"),
        ("histogram", "count", -1, "'count' = -1 is outside"),
        ("histogram", "count", 10**30, "'count' = .* is outside 0..2\\*\\*63-1"),
        ("histogram", "count", "12", "'count' is str '12', not an integer"),
        ("histogram", "count", True, "'count' is bool"),
        ("histogram", "m2", -1.0, "'m2' = -1.0: a sum of squares cannot be negative"),
        ("histogram", "m2", "NaN", "'m2' is str 'NaN', not a number"),
        ("histogram", "mean_ns", 1e400, "'mean_ns' = inf is not a finite number"),
        (
            "histogram",
            "mean_ns",
            1e15,
            "'mean_ns' = 1000000000000000.0 lies outside min_ns..max_ns",
        ),
        ("histogram", "min_ns", -5, "'min_ns' = -5 is outside"),
        ("histogram", "max_ns", 1, "'max_ns' = 1 is below 'min_ns'"),
        ("histogram", "hdr", 7, "'hdr' is int, not a string"),
        ("histogram", "hdr", "x" * (2 << 20), "'hdr' is .* characters long"),
        ("loadtest", "errors", -1, "'errors' = -1 is negative"),
        ("loadtest", "errors", 10**9, "'errors' = 1000000000 is above"),
        ("loadtest", "errors", 1.5, "'errors' is 1.5, not a whole number"),
        ("loadtest", "duration", 0, "'duration' = 0: must be a finite number above 0"),
        ("loadtest", "duration", -3.0, "'duration' = -3.0: must be"),
        ("loadtest", "duration", 1e400, "'duration' = inf: must be"),
        ("loadtest", "duration", "nan", "'duration' is 'nan', not a number"),
        ("loadtest", "duration", None, "'duration' is None, not a number"),
        ("loadtest", "window", 0.0, "'window' = 0.0: must be"),
        ("loadtest", "window_calls", [3, -1], "'window_calls' = -1 is negative"),
        ("loadtest", "window_calls", [10**9], "'window_calls' = 1000000000 is above"),
        ("loadtest", "window_calls", {"a": 1}, "'window_calls' is dict, not a list"),
        ("loadtest", "histogram", [], "not an encoded latency histogram: list"),
        ("extra", "test_id", 12, "'test_id' is 12, not text"),
        ("extra", "operation", ["a"], "'operation' is list, not text"),
    ],
)
def test_impossible_value_names_file_and_field(
    tmp_path: Path, where: str, key: str, value: object, message: str
) -> None:
    path = _save(tmp_path)
    _corrupt(path, _set(where, key, value))
    with pytest.raises(BaselineError, match=message) as info:
        load_run(tmp_path, MACHINE)
    assert info.value.path == path
    assert "corrupt load test entry: benchmark " in str(info.value)


def test_hdr_of_other_parameters_is_refused_before_decoding(tmp_path: Path) -> None:
    from hdrh.histogram import HdrHistogram

    other = HdrHistogram(1, 2**62, 5)  # would allocate a far larger counts array than ours
    other.record_value(5)
    path = _save(tmp_path)
    _corrupt(path, _set("histogram", "hdr", other.encode().decode()))
    with pytest.raises(BaselineError, match="HDR histogram of other parameters"):
        load_run(tmp_path, MACHINE)


def test_hdr_zip_bomb_is_refused(tmp_path: Path) -> None:
    import base64
    import struct
    import zlib

    payload = zlib.compress(b"\0" * (8 << 20))
    bomb = base64.b64encode(struct.pack(">II", 0x1C849304, len(payload)) + payload).decode()
    path = _save(tmp_path)
    _corrupt(path, _set("histogram", "hdr", bomb))
    with pytest.raises(BaselineError, match="inflates beyond any histogram"):
        load_run(tmp_path, MACHINE)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nests too deeply|nests deeper than 32"),
        ('{"benchmarks": [], "x": ' + "[" * 40 + "]" * 40 + "}", "nests deeper than 32 levels"),
        ('{"benchmarks": [' + "9" * 5000 + "]}", "is not a usable JSON document"),
        (b"\xff\xfe{}", "cannot be read"),
    ],
)
def test_hostile_documents(tmp_path: Path, content: str | bytes, message: str) -> None:
    path = tmp_path / MACHINE / "0001_main.json"
    path.parent.mkdir()
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(BaselineError, match=message) as info:
        load_run(tmp_path, MACHINE, 1)
    assert info.value.path == path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / MACHINE / "0001_main.json"
    path.parent.mkdir()
    os.mkfifo(path)
    started = time.monotonic()
    with pytest.raises(BaselineError, match=r"not a regular file \(a FIFO\)"):
        load_run(tmp_path, MACHINE)
    assert time.monotonic() - started < 5


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_device_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        BaselineError, match="/dev/zero: cannot be read: not a regular file \\(a device\\)"
    ):
        load_run(tmp_path, MACHINE, "/dev/zero")


def test_oversized_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(tmp_path)
    monkeypatch.setattr(_storage, "MAX_RUN_BYTES", 100)
    with pytest.raises(BaselineError, match="is larger than 0 MB"):
        load_run(tmp_path, MACHINE)
    assert path.stat().st_size > 100


def test_corrupt_baseline_is_not_overwritten_by_a_save(tmp_path: Path) -> None:
    path = _save(tmp_path)
    path.write_text("{corrupt")
    second = _save(tmp_path)
    assert second.name == "0002_main.json"
    assert path.read_text() == "{corrupt"


def test_orphans_are_ignored_and_old_ones_removed(tmp_path: Path) -> None:
    folder = tmp_path / MACHINE
    folder.mkdir()
    old_tmp, old_claim = folder / ".loadtest-00aa.tmp", folder / ".loadtest-0007.claim"
    fresh = folder / ".loadtest-00bb.tmp"
    for orphan in (old_tmp, old_claim, fresh):
        orphan.write_text("{half a run")
    hour_ago = time.time() - 2 * _storage.ORPHAN_SECONDS
    os.utime(old_tmp, (hour_ago, hour_ago))
    os.utime(old_claim, (hour_ago, hour_ago))
    assert saved_runs(tmp_path, MACHINE) == []
    first = _save(tmp_path)
    assert first.name == "0001_main.json"
    assert not old_tmp.exists()
    assert not old_claim.exists()
    assert fresh.exists()  # a live writer's file: left alone


def test_held_claim_is_passed_over(tmp_path: Path) -> None:
    folder = tmp_path / MACHINE
    folder.mkdir()
    (folder / ".loadtest-0001.claim").touch()  # another writer is saving number 1
    assert _save(tmp_path).name == "0002_main.json"
    assert (folder / ".loadtest-0001.claim").exists()
    assert not (folder / ".loadtest-0002.claim").exists()


def _save_many(storage: str, name: str, times: int) -> list[str]:
    paths = []
    for seed in range(times):
        path = save_run(Path(storage), MACHINE, name, [result(seed + 1)], META)
        assert path is not None
        paths.append(path.name)
    return paths


@pytest.mark.skipif(sys.platform == "win32", reason="spawning interpreters is slow there")
def test_concurrent_processes_take_distinct_numbers(tmp_path: Path) -> None:
    processes, saves = 4, 5
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with context.Pool(processes) as pool:
        pending = [
            pool.apply_async(_save_many, (str(tmp_path), f"worker{i}", saves))
            for i in range(processes)
        ]
        names = [name for job in pending for name in job.get(timeout=60)]
    runs = saved_runs(tmp_path, MACHINE)
    assert len(names) == len(runs) == processes * saves
    assert sorted(run.number for run in runs) == list(range(1, processes * saves + 1))
    for run in runs:
        assert load_run(tmp_path, MACHINE, run.number).entries
    assert not [p for p in (tmp_path / MACHINE).iterdir() if p.name.startswith(".")]
