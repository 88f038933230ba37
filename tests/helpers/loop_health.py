"""A loop's health (``LoopHealth``) for tests of the loop-lag figures and their finding."""

from __future__ import annotations

from typing import Any

from pytest_loadtest._model._loop import BlockingSteps, LoopHealth

__all__ = ["health_of"]


def health_of(**fields: Any) -> LoopHealth:
    """A loop that lagged: one operation blocked it (``checkout``, 51 ms steps); ``fields``
    replace any of the figures."""
    base: dict[str, Any] = {
        "interval_ms": 50.0,
        "step_floor_ms": 5.0,
        "wakes": 100,
        "lag_p50": 40.0,
        "lag_p99": 60.0,
        "lag_max": 70.0,
        "blamed_p99": 50.0,
        "blamed_max": 55.0,
        "blamed_top": [55.0, 52.0, 51.0, 50.0, 50.0, 50.0],
        "windows": {0: 70.0},
        "operations": {"checkout": BlockingSteps(100, 5_000.0, 51.0)},
    }
    return LoopHealth(**{**base, **fields})
