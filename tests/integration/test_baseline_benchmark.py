"""Our run files against the real pytest-benchmark: its CLI, its compare-fail, its own saves."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pytest_loadtest._baseline import _benchmark_compat as compat
from pytest_loadtest._baseline._benchmark_compat import benchmark_version, contribute, machine_id
from pytest_loadtest._baseline._entry import Entry, EntryKey
from pytest_loadtest._baseline._storage import load_run, save_run

from helpers.baseline_samples import histogram, latencies_ns, result

needs_benchmark = pytest.mark.skipif(
    benchmark_version() is None, reason="pytest-benchmark is not installed"
)


def _entry(seed: int, slower: float = 1.0, test_id: str = "t.py::test_x") -> Entry:
    values = latencies_ns(seed, 20_000, 2.0 * slower)
    return Entry(EntryKey(test_id, "shop"), "total", histogram(values), 12, 10.0, 1.0, (2000,) * 10)


def test_stats_are_ours_in_pytest_benchmark_terms() -> None:
    entry = _entry(1)
    hist = entry.histogram
    bench = compat.benchmark_entry(entry)
    stats = bench["stats"]
    assert bench["name"] == "test_x[shop]"
    assert bench["fullname"] == "t.py::test_x[shop]"
    assert bench["group"] == "t.py::test_x"
    assert stats["rounds"] == 20_000
    assert stats["iterations"] == 1
    assert stats["min"] == hist.min_ms / 1e3
    assert stats["max"] == hist.max_ms / 1e3
    assert stats["mean"] == pytest.approx(hist.mean_ms / 1e3)
    assert stats["stddev"] == pytest.approx(np.std(latencies_ns(1, 20_000, 2.0), ddof=1) / 1e9)
    assert stats["median"] == hist.percentile_ms(50) / 1e3 == stats["p50"]
    assert stats["q1"] == hist.percentile_ms(25) / 1e3
    assert stats["q3"] == hist.percentile_ms(75) / 1e3
    assert stats["iqr"] == pytest.approx(stats["q3"] - stats["q1"])
    assert stats["p99.9"] == hist.percentile_ms(99.9) / 1e3
    assert stats["ops"] == stats["throughput"] == 2000.0
    assert stats["error_rate"] == 12 / 20_000
    assert stats["ld15iqr"] <= stats["q1"] <= stats["q3"] <= stats["hd15iqr"]
    stdev_outliers, iqr_outliers = map(int, stats["outliers"].split(";"))
    # a log-normal sample: about 30% beyond one sd, a few % beyond Tukey's fences (upper tail)
    values = latencies_ns(1, 20_000, 2.0) / 1e9
    tukey = np.sum(
        (values < stats["q1"] - 1.5 * stats["iqr"]) | (values > stats["q3"] + 1.5 * stats["iqr"])
    )
    assert iqr_outliers == pytest.approx(int(tukey), rel=0.02)
    assert 0.15 < stdev_outliers / 20_000 < 0.35
    assert stats["total"] == pytest.approx(float(np.sum(values)))
    json.dumps(bench, allow_nan=False)


def test_entries_round_trip() -> None:
    entry = _entry(1)
    back = compat.entry_from_benchmark(json.loads(json.dumps(compat.benchmark_entry(entry))))
    assert back is not None
    assert back.key == entry.key
    assert back.total == entry.total
    assert back.errors == 12
    assert back.window_calls == entry.window_calls
    assert back.value("p99") == entry.value("p99")
    assert compat.entry_from_benchmark({"name": "test_sort", "stats": {}}) is None


@needs_benchmark
def test_machine_id_is_pytest_benchmarks(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = str(importlib.import_module("pytest_benchmark.utils").get_machine_id())
    assert machine_id() == expected
    monkeypatch.setattr(compat, "_utils", lambda: None)
    assert machine_id() == expected  # the fallback computes the same name
    assert compat.commit_info()["id"]
    assert compat.autosave_name()


def _cli(storage: Path, *args: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest_benchmark", "--storage", f"file://{storage}", *args],
        capture_output=True,
        text=True,
        cwd=storage.parent,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@needs_benchmark
def test_pytest_benchmark_cli_lists_and_compares_our_runs(tmp_path: Path) -> None:
    storage = tmp_path / ".benchmarks"
    ops = {"get": 1.0, "put": 3.0}
    first = save_run(storage, machine_id(), "main", [result(1, operations=ops)])
    second = save_run(storage, machine_id(), "feature", [result(2, operations=ops, slower=2)])
    assert first is not None
    assert second is not None
    listed = _cli(storage, "list").split()
    assert listed == [str(first.resolve()), str(second.resolve())]
    table = _cli(storage, "compare", "--columns", "min,median,max,ops,rounds")
    assert "benchmark 'tests/test_shop.py::test_shop': 6 tests" in table
    for name in ("test_shop[shop]", "test_shop[shop/get]", "test_shop[shop/put]"):
        assert f"{name} (0001_main)" in table
        assert f"{name} (0002_feature)" in table
    assert "Median" in table
    assert "Rounds" in table


_PROJECT_TEST = """
import os

import numpy as np

from pytest_loadtest._baseline._benchmark_compat import contribute
from pytest_loadtest._baseline._entry import Entry, EntryKey
from pytest_loadtest._model._stats import LatencyHistogram


def test_load(request):
    rng = np.random.default_rng(int(os.environ["SEED"]))
    median_ns = 2e6 * float(os.environ["SLOWER"])
    hist = LatencyHistogram()
    hist.fold_ns(rng.lognormal(np.log(median_ns), 0.5, 20_000).astype(np.int64))
    entry = Entry(EntryKey(request.node.nodeid, "shop"), "total", hist, 0, 10.0)
    assert contribute(request.config, [entry]) == 1
"""


def _pytest(
    project: Path, seed: int, slower: float, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # only pytest-benchmark: other installed plugins would just slow each run down
        [sys.executable, "-m", "pytest", "-p", "pytest_benchmark.plugin", "test_load.py", *args],
        capture_output=True,
        text=True,
        cwd=project,
        timeout=300,
        check=False,
        env={
            # not PYTEST_XDIST_WORKER: under xdist pytest-benchmark would turn itself off
            **{k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"},
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "SEED": str(seed),
            "SLOWER": str(slower),
        },
    )


@needs_benchmark
def test_benchmark_compare_fail_works_on_our_entries(tmp_path: Path) -> None:
    (tmp_path / "test_load.py").write_text(textwrap.dedent(_PROJECT_TEST))
    storage = tmp_path / ".benchmarks"
    # a baseline saved by us, for the test's node id
    baseline = _entry(1, test_id="test_load.py::test_load")
    assert save_run(storage, machine_id(), "base", [baseline]) is not None

    compare = ("--benchmark-compare=0001", "--benchmark-compare-fail=median:10%")
    same = _pytest(tmp_path, 2, 1.0, *compare)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "test_load[shop] (0001_base)" in same.stdout
    assert "machine_info is different" not in same.stdout + same.stderr
    assert "test_load[shop] (NOW)" in same.stdout

    slow = _pytest(tmp_path, 3, 2.0, *compare)
    assert slow.returncode != 0
    assert "Performance has regressed" in slow.stdout + slow.stderr
    assert "Field 'median' has failed PercentageRegressionCheck" in slow.stdout + slow.stderr

    # pytest-benchmark's own save holds our entries, and we read its file back
    saved = _pytest(tmp_path, 4, 1.0, "--benchmark-save=theirs")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    theirs = load_run(storage, machine_id(), "theirs")
    assert theirs.number == 2
    (entry,) = theirs.entries.values()
    assert entry.key == EntryKey("test_load.py::test_load", "shop")
    assert entry.total == 20_000
    assert theirs.metadata.python_version  # from pytest-benchmark's machine_info


def test_contribute_without_a_session() -> None:
    class Config:
        pass

    assert contribute(Config(), [_entry(1)]) == 0

    class Disabled:
        disabled = True

        def __init__(self) -> None:
            self.benchmarks: list[object] = []

    config = Config()
    config._benchmarksession = Disabled()  # type: ignore[attr-defined]
    assert contribute(config, [_entry(1)]) == 0


def test_live_benchmark_behaves_like_metadata() -> None:
    class Session:
        disabled = False
        save = autosave = json = compare = None

        def __init__(self) -> None:
            self.benchmarks: list[object] = []

    class Config:
        _benchmarksession = Session()

    config = Config()
    assert contribute(config, [_entry(1)]) == 0  # no pytest-benchmark option: no table
    config._benchmarksession.compare = "0001"  # type: ignore[assignment]
    assert contribute(config, [_entry(1)]) == 1
    (bench,) = config._benchmarksession.benchmarks
    live = bench  # duck-typed like pytest_benchmark.stats.Metadata
    assert bool(live)
    assert live["median"] == live.get("median") > 0  # type: ignore[index, attr-defined]
    assert live["fullname"] == "t.py::test_x[shop]"  # type: ignore[index]
    assert live.get("nope", 7) == 7  # type: ignore[attr-defined]
    flat = live.as_dict(include_data=False, flat=True)  # type: ignore[attr-defined]
    assert flat["median"] == live["median"]  # type: ignore[index]
    nested = live.as_dict(include_data=False, stats=False)  # type: ignore[attr-defined]
    assert "stats" not in nested
    assert "median" not in nested


def test_without_pytest_benchmark(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_import = importlib.import_module

    def import_module(name: str, package: str | None = None) -> object:
        if name in ("pytest_benchmark.utils", "cpuinfo"):
            raise ImportError(name)
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", import_module)
    monkeypatch.setattr(compat, "benchmark_version", lambda: None)
    monkeypatch.chdir(tmp_path)  # not a git checkout: the commit is "unversioned"
    assert compat.commit_info()["id"] == "unversioned"
    assert compat.autosave_name().startswith("unversioned_")
    cpu = compat._cpu.__wrapped__()
    assert set(cpu) == {"brand_raw", "count", "arch"}
    path = save_run(tmp_path / ".benchmarks", machine_id(), "plain", [result(1)])
    assert path is not None
    document = json.loads(path.read_text())
    assert document["version"].startswith("pytest-loadtest ")
    assert document["commit_info"]["id"] == "unversioned"
    assert load_run(tmp_path / ".benchmarks", machine_id()).path == path
