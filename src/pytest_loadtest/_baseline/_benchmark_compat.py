"""Every use of pytest-benchmark's internals and file format, in one place.

Supported: **pytest-benchmark >=4.0,<6** (the ``benchmark`` extra). Verified against 4.0.0 and
5.2.3, whose storage code is the same: a run is ``<storage>/<machine_id>/NNNN_<name>.json``
holding ``machine_info``, ``commit_info``, ``datetime``, ``version`` and ``benchmarks``, each
benchmark a dict of ``group``, ``name``, ``fullname``, ``param(s)``, ``extra_info``,
``options`` and ``stats`` (seconds: ``min max mean stddev rounds median iqr q1 q3 iqr_outliers
stddev_outliers outliers ld15iqr hd15iqr ops total iterations``). pytest-benchmark has no public
API for another plugin's results; what is used here:

- ``pytest_benchmark.utils.get_machine_id``, ``get_commit_info`` and ``get_tag`` (reused when
  installed, reproduced otherwise so the files look the same without it);
- the storage URL rule of ``utils.load_storage`` (``file://path`` or a plain path);
- the stats layout above, which ``pytest-benchmark list/compare`` and ``--benchmark-compare``
  read; our own figures ride along in extra stats keys and ``extra_info["loadtest"]``;
- ``config._benchmarksession.benchmarks``: :func:`contribute` appends objects that behave like
  ``pytest_benchmark.stats.Metadata`` so that pytest-benchmark's own table, ``--benchmark-save``
  and ``--benchmark-compare-fail`` include load results.

This module never imports pytest; it imports pytest-benchmark lazily and only its ``utils``.
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final, final

from pytest_loadtest._baseline._entry import Entry, EntryKey, finite
from pytest_loadtest._baseline._fields import count_field, count_value, positive_field, text_field
from pytest_loadtest._model._stats import LatencyHistogram

__all__ = [
    "FORMAT",
    "benchmark_entry",
    "benchmark_version",
    "commit_info",
    "contribute",
    "entry_from_benchmark",
    "machine_id",
    "machine_info",
    "storage_path",
]

#: Version of our part of the layout (``extra_info["loadtest"]`` and ``stats["loadtest"]``).
FORMAT: Final = 1
#: Percentiles stored as top-level stats keys (seconds), beside pytest-benchmark's own.
PERCENTILES: Final = (("p50", 50.0), ("p75", 75.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0))
P999: Final = ("p99.9", 99.9)


def benchmark_version() -> str | None:
    """The installed pytest-benchmark version, or ``None`` when it is not installed."""
    try:
        return version("pytest-benchmark")
    except PackageNotFoundError:
        return None


def _utils() -> Any:
    """``pytest_benchmark.utils`` (untyped), or ``None`` when pytest-benchmark is absent."""
    try:
        return importlib.import_module("pytest_benchmark.utils")
    except ImportError:
        return None


def machine_id() -> str:
    """pytest-benchmark's machine folder name: ``Linux-CPython-3.11-64bit``."""
    utils = _utils()
    if utils is None:
        return "-".join(
            (
                platform.system(),
                platform.python_implementation(),
                ".".join(platform.python_version_tuple()[:2]),
                platform.architecture()[0],
            )
        )
    return str(utils.get_machine_id())


def _cpu_brand() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor()


@functools.cache
def _cpu() -> dict[str, Any]:
    try:
        cpuinfo = importlib.import_module("cpuinfo")  # py-cpuinfo, which pytest-benchmark uses
    except ImportError:
        return {"brand_raw": _cpu_brand(), "count": os.cpu_count(), "arch": platform.machine()}
    return dict(cpuinfo.get_cpu_info() or {})


def machine_info() -> dict[str, Any]:
    """pytest-benchmark's ``machine_info``, so that its ``--benchmark-compare`` does not warn
    of a different machine on our files.

    Its ``cpu`` part comes from py-cpuinfo when installed (as pytest-benchmark does; about a
    second, once per process), else from ``/proc/cpuinfo`` with the fields that matter for
    comparing timings: ``brand_raw`` and ``count``.
    """
    return {
        "node": platform.node(),
        "processor": platform.processor(),
        "machine": platform.machine(),
        "python_compiler": platform.python_compiler(),
        "python_implementation": platform.python_implementation(),
        "python_implementation_version": platform.python_version(),
        "python_version": platform.python_version(),
        "python_build": list(platform.python_build()),
        "release": platform.release(),
        "system": platform.system(),
        "cpu": dict(_cpu()),
    }


def _git(*args: str) -> str:
    out = subprocess.run(
        ["git", *args], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    return out.strip()


def commit_info() -> dict[str, Any]:
    """pytest-benchmark's ``commit_info`` (id, time, dirty, project, branch)."""
    utils = _utils()
    if utils is None:
        try:
            commit = _git("rev-parse", "HEAD")
            dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
            branch = _git("rev-parse", "--abbrev-ref", "HEAD")
        except (OSError, subprocess.SubprocessError):
            return {"id": "unversioned", "dirty": False, "project": Path.cwd().name}
        return {"id": commit, "dirty": dirty, "project": Path.cwd().name, "branch": branch}
    return dict(utils.get_commit_info())


def autosave_name() -> str:
    """pytest-benchmark's ``--benchmark-autosave`` name: commit id, UTC time, dirty flag."""
    utils = _utils()
    if utils is None:
        info = commit_info()
        parts = [str(info.get("id", "unversioned")), _now_tag()]
        if info.get("dirty"):
            parts.append("uncommited-changes")  # sic: pytest-benchmark's spelling
        return "_".join(parts)
    return str(utils.get_tag())


def _now_tag() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d_%H%M%S")


def storage_path(storage: str | os.PathLike[str] | None) -> Path:
    """The folder of a ``--benchmark-storage`` value (``file://path`` or a plain path;
    ``None``: ``.benchmarks``), relative paths against the current directory as
    pytest-benchmark does. ``ValueError`` for Elasticsearch or another URL scheme."""
    text = ".benchmarks" if storage is None else os.fspath(storage)
    if "://" in text:
        if not text.startswith("file://"):
            raise ValueError(
                f"storage {text!r} is not a folder: pytest-loadtest saves runs only in file "
                "storage (file://path or a plain path)"
            )
        text = text[len("file://") :]
    if not text:
        raise ValueError("storage path is empty")
    return Path(text).expanduser()


# -- benchmark entries ------------------------------------------------------------------------
def _stats(entry: Entry) -> dict[str, Any]:
    hist, ranks, n = entry.histogram, entry.ranks, entry.total
    q1, median, q3 = hist.percentiles_ms([25.0, 50.0, 75.0])
    iqr = q3 - q1
    mean, stdev = hist.mean_ms, hist.stdev_ms
    sample_stdev = stdev * math.sqrt(n / (n - 1)) if n > 1 else 0.0  # statistics.stdev's
    low_fence, high_fence = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    iqr_outliers = ranks.count_below(low_fence) + ranks.count_above(high_fence)
    stdev_outliers = ranks.count_below(mean - sample_stdev) + ranks.count_above(mean + sample_stdev)
    ld15iqr = ranks.value_at(ranks.count_below(low_fence) + 1)
    hd15iqr = ranks.value_at(n - ranks.count_above(high_fence))
    s = 1e-3  # pytest-benchmark keeps seconds
    stats: dict[str, Any] = {
        "min": hist.min_ms * s,
        "max": hist.max_ms * s,
        "mean": mean * s,
        "stddev": sample_stdev * s,
        "rounds": n,
        "median": median * s,
        "iqr": iqr * s,
        "q1": q1 * s,
        "q3": q3 * s,
        "iqr_outliers": iqr_outliers,
        "stddev_outliers": stdev_outliers,
        "outliers": f"{stdev_outliers};{iqr_outliers}",
        "ld15iqr": ld15iqr * s,
        "hd15iqr": hd15iqr * s,
        "ops": entry.throughput,  # calls per second of all users, not 1/mean of one caller
        "total": mean * n * s,
        "iterations": 1,
    }
    for name, q in (*PERCENTILES, P999):
        stats[name] = hist.percentile_ms(q) * s
    stats["throughput"] = entry.throughput
    stats["errors"] = entry.errors
    stats["error_rate"] = entry.error_rate
    stats["loadtest"] = {
        "histogram": hist.to_dict(),
        "errors": entry.errors,
        "duration": entry.duration,
        "window": entry.window,
        "window_calls": list(entry.window_calls),
    }
    return {key: finite(v) if isinstance(v, float) else v for key, v in stats.items()}


def benchmark_entry(entry: Entry) -> dict[str, Any]:
    """A pytest-benchmark benchmark dict for one entry, named ``test_x[run]`` or
    ``test_x[run/operation]`` and grouped by test, so that each test is one table."""
    key = entry.key
    function = key.test_id.rpartition("::")[2] or key.run
    return {
        "group": key.test_id or None,
        "name": f"{function}[{key.short()}]",
        "fullname": f"{key.test_id}[{key.short()}]",
        "params": None,
        "param": key.short(),
        "extra_info": {
            "loadtest": {
                "format": FORMAT,
                "test_id": key.test_id,
                "run": key.run,
                "operation": key.operation,
                "kind": entry.kind,
                "load": entry.load,
                "plugin_version": entry.plugin_version,
                "reference_ms": entry.reference_ms,
                "reference_cpu_ms": entry.reference_cpu_ms,
            }
        },
        "options": {"timer": "pytest-loadtest", **entry.load},
        "stats": _stats(entry),
    }


def entry_from_benchmark(bench: Mapping[str, Any]) -> Entry | None:
    """Inverse of :func:`benchmark_entry`; ``None`` for a benchmark of pytest-benchmark's own.

    ``ValueError`` naming the field when a load test entry is malformed.
    """
    extra = bench.get("extra_info")
    ours = extra.get("loadtest") if isinstance(extra, Mapping) else None
    if not isinstance(ours, Mapping):
        return None
    if ours.get("format") != FORMAT:
        raise ValueError(f"load test entry format {ours.get('format')!r}, expected {FORMAT}")
    try:
        stats = bench["stats"]
        data = stats.get("loadtest") if isinstance(stats, Mapping) else None
        if not isinstance(data, Mapping):
            raise ValueError("field 'stats.loadtest' is missing or not an object")
        histogram = LatencyHistogram.from_dict(data["histogram"])
        operation = ours.get("operation")
        if operation is not None and not isinstance(operation, str):
            raise ValueError(f"field 'operation' is {type(operation).__name__}, not text")
        load = ours.get("load") or {}
        window_calls = data.get("window_calls", [])
        if not isinstance(window_calls, list):
            raise ValueError(f"field 'window_calls' is {type(window_calls).__name__}, not a list")
        return Entry(
            key=EntryKey(text_field(ours, "test_id"), text_field(ours, "run"), operation),
            kind=text_field(ours, "kind", "total"),
            histogram=histogram,
            errors=count_field(data, "errors", most=histogram.count),
            duration=positive_field(data, "duration"),
            window=positive_field(data, "window", 1.0),
            window_calls=tuple(
                count_value(c, "window_calls", most=histogram.count) for c in window_calls
            ),
            load=dict(load) if isinstance(load, Mapping) else {},
            plugin_version=text_field(ours, "plugin_version", ""),
            reference_ms=positive_field(ours, "reference_ms") if ours.get("reference_ms") else None,
            reference_cpu_ms=(
                positive_field(ours, "reference_cpu_ms") if ours.get("reference_cpu_ms") else None
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        name = bench.get("fullname") or bench.get("name") or "?"
        name = name[:80] if isinstance(name, str) else "?"
        what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"benchmark {name!r}: {what}") from None


def run_document(
    entries: Iterable[Entry], metadata: Mapping[str, Any], info: Mapping[str, Any]
) -> dict[str, Any]:
    """A whole run file: pytest-benchmark's top-level keys plus our ``loadtest`` section.

    ``metadata``: the ``loadtest`` section; ``info``: ``machine_info`` and ``commit_info``.
    """
    return {
        "machine_info": dict(info.get("machine_info", {})),
        "commit_info": dict(info.get("commit_info", {})),
        "benchmarks": [benchmark_entry(entry) for entry in entries],
        "datetime": metadata.get("datetime") or datetime.now(timezone.utc).isoformat(),
        # pytest-benchmark writes its own version here; without it, ours says who wrote it
        "version": benchmark_version() or f"pytest-loadtest {metadata.get('plugin_version')}",
        "loadtest": dict(metadata),
    }


# -- the live pytest-benchmark session --------------------------------------------------------
@final
class _LoadBenchmark:
    """Stands in for ``pytest_benchmark.stats.Metadata`` in ``BenchmarkSession.benchmarks``."""

    has_error = False
    iterations = 1
    cprofile_stats = None

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self.fullname: str = data["fullname"]
        self.name: str = data["name"]
        self.group: str | None = data["group"]
        self.param: str = data["param"]
        self.params: Any = data["params"]
        self.extra_info: dict[str, Any] = data["extra_info"]
        self.options: dict[str, Any] = data["options"]
        self.stats: dict[str, Any] = data["stats"]

    def __bool__(self) -> bool:
        return True

    def __getitem__(self, key: str) -> Any:
        return self.stats[key] if key in self.stats else getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """``Metadata.get``: a stat, else an attribute, else ``default``."""
        try:
            return self[key]
        except AttributeError:
            return default

    def as_dict(
        self,
        include_data: bool = True,
        flat: bool = False,
        stats: bool = True,
        cprofile: object = None,
    ) -> dict[str, Any]:
        """``Metadata.as_dict``: the benchmark dict, stats nested or flattened."""
        result = {key: value for key, value in self._data.items() if key != "stats"}
        if stats:
            if flat:
                result.update(self.stats)
            else:
                result["stats"] = dict(self.stats)
        return result


def contribute(config: object, entries: Iterable[Entry], *, always: bool = False) -> int:
    """Add ``entries`` to the running pytest-benchmark session so its table,
    ``--benchmark-save``/``--benchmark-autosave``/``--benchmark-json`` and
    ``--benchmark-compare(-fail)`` include them; returns how many were added.

    Nothing is added without an enabled session, nor (unless ``always``) when none of those
    options was given: pytest-benchmark prints its table whenever it has results, and a plain
    load run should not grow one. Call before ``pytest_sessionfinish``.
    """
    session = getattr(config, "_benchmarksession", None)
    benchmarks = getattr(session, "benchmarks", None)
    if not isinstance(benchmarks, list) or getattr(session, "disabled", False):
        return 0
    wanted = ("save", "autosave", "json", "compare")
    if not always and not any(getattr(session, name, None) for name in wanted):
        return 0
    added = [_LoadBenchmark(benchmark_entry(entry)) for entry in entries]
    benchmarks.extend(added)
    return len(added)
