"""pytest-loadtest: in-process load, stress, spike and soak testing with pytest.

Names are imported on first use, so that loading the plugin (which happens in every pytest run of
every project that installs it) costs almost nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_loadtest._abort import Abort
    from pytest_loadtest._capacity import Capacity, CapacityStep
    from pytest_loadtest._clock import Clock, SystemClock
    from pytest_loadtest._config import LoadSettings, SettingError, ThinkTime
    from pytest_loadtest._engine import Engine
    from pytest_loadtest._latency import LatencyStats
    from pytest_loadtest._recorder import ErrorSample, TimelineRow
    from pytest_loadtest._result import LoadResult, OperationStats
    from pytest_loadtest._runner import LoadRunner
    from pytest_loadtest._scenario import Scenario, TargetError
    from pytest_loadtest._scenario_file import ScenarioFileError
    from pytest_loadtest._shapes import Profile
    from pytest_loadtest._sla import SLA, Breach, parse_sla
    from pytest_loadtest._stats import LatencyHistogram
    from pytest_loadtest._vu import VirtualUser

__all__ = [
    "SLA",
    "Abort",
    "Breach",
    "Capacity",
    "CapacityStep",
    "Clock",
    "Engine",
    "ErrorSample",
    "LatencyHistogram",
    "LatencyStats",
    "LoadResult",
    "LoadRunner",
    "LoadSettings",
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
    "parse_sla",
]

_HOMES = {
    "SLA": "_sla",
    "Abort": "_abort",
    "Breach": "_sla",
    "Capacity": "_capacity",
    "CapacityStep": "_capacity",
    "Clock": "_clock",
    "Engine": "_engine",
    "ErrorSample": "_recorder",
    "LatencyHistogram": "_stats",
    "LatencyStats": "_latency",
    "LoadResult": "_result",
    "LoadRunner": "_runner",
    "LoadSettings": "_config",
    "OperationStats": "_result",
    "Profile": "_shapes",
    "Scenario": "_scenario",
    "ScenarioFileError": "_scenario_file",
    "SettingError": "_config",
    "SystemClock": "_clock",
    "TargetError": "_scenario",
    "ThinkTime": "_config",
    "TimelineRow": "_recorder",
    "VirtualUser": "_vu",
    "parse_sla": "_sla",
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
