"""pytest-loadtest: in-process load, stress, spike and soak testing with pytest.

Names are imported on first use, so that loading the plugin (which happens in every pytest run of
every project that installs it) costs almost nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_loadtest._engine._users import VirtualUser
    from pytest_loadtest._model._abort import Abort
    from pytest_loadtest._model._capacity import Capacity, CapacityStep
    from pytest_loadtest._model._clock import Clock, SystemClock
    from pytest_loadtest._model._latency import LatencyStats
    from pytest_loadtest._model._result import LoadResult, OperationStats
    from pytest_loadtest._model._shapes import Profile
    from pytest_loadtest._model._sla import SLA, Breach, parse_sla
    from pytest_loadtest._model._stats import LatencyHistogram
    from pytest_loadtest._model._timeline import ErrorSample, TimelineRow
    from pytest_loadtest._report._findings import assert_no_findings
    from pytest_loadtest._runner import LoadRunner
    from pytest_loadtest._scale._worker import LoadWorker
    from pytest_loadtest._scenario._file import ScenarioFileError
    from pytest_loadtest._scenario._target import Scenario, TargetError
    from pytest_loadtest._settings._layers import SettingError
    from pytest_loadtest._settings._parsers import ThinkTime
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = [
    "SLA",
    "Abort",
    "Breach",
    "Capacity",
    "CapacityStep",
    "Clock",
    "ErrorSample",
    "LatencyHistogram",
    "LatencyStats",
    "LoadResult",
    "LoadRunner",
    "LoadSettings",
    "LoadWorker",
    "OperationStats",
    "Profile",
    "Scenario",
    "ScenarioFileError",
    "SettingError",
    "SystemClock",
    "TargetError",
    "ThinkTime",
    "TimelineRow",
    "VirtualUser",
    "__version__",
    "assert_no_findings",
    "parse_sla",
    "serve",
]

_HOMES = {
    "SLA": "_model._sla",
    "Abort": "_model._abort",
    "Breach": "_model._sla",
    "Capacity": "_model._capacity",
    "CapacityStep": "_model._capacity",
    "Clock": "_model._clock",
    "ErrorSample": "_model._timeline",
    "LatencyHistogram": "_model._stats",
    "LatencyStats": "_model._latency",
    "LoadResult": "_model._result",
    "LoadRunner": "_runner",
    "LoadSettings": "_settings._settings",
    "LoadWorker": "_scale._worker",
    "OperationStats": "_model._result",
    "Profile": "_model._shapes",
    "Scenario": "_scenario._target",
    "ScenarioFileError": "_scenario._file",
    "SettingError": "_settings._layers",
    "SystemClock": "_model._clock",
    "TargetError": "_scenario._target",
    "ThinkTime": "_settings._parsers",
    "TimelineRow": "_model._timeline",
    "VirtualUser": "_engine._users",
    "assert_no_findings": "_report._findings",
    "parse_sla": "_model._sla",
    "serve": "_engine._serve",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("pytest-loadtest")
        except PackageNotFoundError:  # running from a source tree that is not installed
            return "0+unknown"
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pytest_loadtest' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pytest_loadtest.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
