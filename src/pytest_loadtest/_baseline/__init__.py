"""Baselines: save load results into pytest-benchmark's storage, compare later runs with them.

The plugin's whole API (plain code, no pytest import)::

    storage = storage_path(config_value)          # --benchmark-storage, or .benchmarks
    path = save_run(storage, machine_id(), name, results, failed=..., save_failed=...)
    baseline = load_run(storage, machine_id(), which)   # None: latest; 3 / "0003"; name; path
    comparison = compare(baseline, results, parse_checks("p95:10%,throughput:-5%"))
    comparison.lines(); comparison.failures_for(test_id); comparison.warnings

Every private use of pytest-benchmark lives in :mod:`._benchmark_compat`.
"""

from __future__ import annotations

from pytest_loadtest._baseline._benchmark_compat import (
    autosave_name,
    benchmark_version,
    contribute,
    machine_id,
)
from pytest_loadtest._baseline._checks import (
    CheckSpecError,
    RegressionCheck,
    parse_checks,
)
from pytest_loadtest._baseline._compare import (
    REPORTED,
    CheckResult,
    Comparison,
    Delta,
    Row,
    compare,
)
from pytest_loadtest._baseline._entry import Entry, EntryKey, entries_from_results
from pytest_loadtest._baseline._metadata import RunMetadata
from pytest_loadtest._baseline._noise import Noise, judge
from pytest_loadtest._baseline._session import BaselineSession
from pytest_loadtest._baseline._storage import (
    Baseline,
    BaselineError,
    SavedRun,
    check_save_name,
    load_run,
    save_run,
    saved_runs,
    storage_path,
)

__all__ = [
    "REPORTED",
    "Baseline",
    "BaselineError",
    "BaselineSession",
    "CheckResult",
    "CheckSpecError",
    "Comparison",
    "Delta",
    "Entry",
    "EntryKey",
    "Noise",
    "RegressionCheck",
    "Row",
    "RunMetadata",
    "SavedRun",
    "autosave_name",
    "benchmark_version",
    "check_save_name",
    "compare",
    "contribute",
    "entries_from_results",
    "judge",
    "load_run",
    "machine_id",
    "parse_checks",
    "save_run",
    "saved_runs",
    "storage_path",
]
