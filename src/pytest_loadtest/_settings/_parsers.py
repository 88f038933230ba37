"""Parsers of setting values: pure functions from what a user typed to what the engine uses."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, final

from pytest_loadtest._model._sla import SLA, parse_sla
from pytest_loadtest._model._units import parse_count, parse_duration, parse_positive_number

__all__ = [
    "ThinkTime",
    "parse_bool",
    "parse_detectors",
    "parse_optional_count",
    "parse_positive_duration",
    "parse_rate",
    "parse_seed",
    "parse_setting_sla",
    "parse_think_time",
    "parse_watch",
]


@final
@dataclass(frozen=True, slots=True)
class ThinkTime:
    """Pause between a virtual user's iterations: constant, uniform ``(low, high)``, or callable."""

    low: float = 0.0
    high: float = 0.0
    func: Callable[[Any], float] | None = None

    @property
    def is_zero(self) -> bool:
        """True when there is never any pause."""
        return self.func is None and self.high <= 0.0

    def sample(self, vu: Any, rng: random.Random) -> float:
        """Seconds to pause for this virtual user now."""
        if self.func is not None:
            return max(0.0, float(self.func(vu)))
        if self.high > self.low:
            return rng.uniform(self.low, self.high)
        return self.low

    def describe(self) -> str:
        """Human-readable form for summaries."""
        if self.func is not None:
            return getattr(self.func, "__name__", "callable")
        if self.high > self.low:
            return f"{self.low:g}..{self.high:g}s"
        return f"{self.low:g}s"


def parse_think_time(value: object) -> ThinkTime:
    """Parse a think time: seconds, a duration, ``(min, max)``, ``"10ms..50ms"`` or a callable."""
    if isinstance(value, ThinkTime):
        return value
    if callable(value):
        return ThinkTime(func=value)
    if isinstance(value, str) and (".." in value or "," in value):
        sep = ".." if ".." in value else ","
        value = tuple(part.strip() for part in value.split(sep, 1))
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{value!r} must be a single duration or a (min, max) pair")
        low, high = parse_duration(value[0]), parse_duration(value[1])
        if high < low:
            raise ValueError(f"{value!r}: max is below min")
        return ThinkTime(low, high)
    seconds = parse_duration(value)
    return ThinkTime(seconds, seconds)


def parse_optional_count(value: object) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    return parse_count(value)


def parse_seed(value: object) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an integer seed")
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not an integer seed") from None


def parse_positive_duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"{value!r} must be longer than 0")
    return seconds


def parse_setting_sla(value: object) -> SLA | None:
    if value is None:
        return None
    return parse_sla(value)


def parse_rate(value: object) -> float:
    return parse_positive_number(value)


_TRUE: Final = ("1", "true", "yes", "on")
_FALSE: Final = ("0", "false", "no", "off")


def parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"{value!r} is not true or false (also: {', '.join(_TRUE + _FALSE)})")


def parse_watch(value: object) -> tuple[Any, ...]:
    """SQLAlchemy engines to watch: one, or a list of them (``AsyncEngine`` too)."""
    engines = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    for engine in engines:
        target = getattr(engine, "sync_engine", engine)
        if not hasattr(target, "dialect") or not hasattr(target, "pool"):
            raise ValueError(f"{engine!r} is not a SQLAlchemy engine")
    return engines


def parse_detectors(value: object) -> dict[str, Any]:
    """Detector thresholds: ``{"n_plus_one": {"per_call": 3}, "cpu_bound": False}``.

    Checks the shape here (names to ``False``/``True`` or to a mapping of threshold names to
    numbers); which detectors and thresholds exist is the monitor's to say, and the runner asks
    it before a run (:func:`pytest_loadtest._validate.check_settings`)."""
    if not isinstance(value, dict):
        raise ValueError(f"{value!r} must map detector names to thresholds (or False)")
    for name, spec in value.items():
        if not isinstance(name, str):
            raise ValueError(f"detector name {name!r} is not a string")
        if isinstance(spec, bool):
            continue
        if not isinstance(spec, dict) or not all(isinstance(k, str) for k in spec):
            raise ValueError(
                f"detector {name!r}: {spec!r} must be true, false or a mapping of thresholds"
            )
    return dict(value)
