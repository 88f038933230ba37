"""Baselines: save load results into pytest-benchmark's storage, compare later runs with them.

What the plugin uses (plain code, no pytest import)::

    storage = storage_path(config_value)          # --benchmark-storage, or .benchmarks
    session = BaselineSession.create(storage=storage, machine=machine_id(), save=..., ...)
    session.test_failure(test_id, results)        # a regression fails its test
    lines = session.finish(results, failed=...)   # the comparison table, then the save
    contribute(config, entries_from_results(results))   # rows in pytest-benchmark's table

The comparison itself (:mod:`._compare`, its table :mod:`._rows`), the checks (:mod:`._checks`),
the noise tests (:mod:`._noise`; between runs, from saved runs: :mod:`._history`), entries
(:mod:`._entry`) and storage (:mod:`._storage`) are imported from their submodules. Every
private use of pytest-benchmark lives in :mod:`._benchmark_compat`.
"""

from __future__ import annotations

from pytest_loadtest._baseline._benchmark_compat import contribute, machine_id
from pytest_loadtest._baseline._checks import CheckSpecError
from pytest_loadtest._baseline._entry import entries_from_results
from pytest_loadtest._baseline._session import BaselineSession
from pytest_loadtest._baseline._storage import BaselineError, check_save_name, storage_path

__all__ = [
    "BaselineError",
    "BaselineSession",
    "CheckSpecError",
    "check_save_name",
    "contribute",
    "entries_from_results",
    "machine_id",
    "storage_path",
]
