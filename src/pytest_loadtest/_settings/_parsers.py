"""Parsers of setting values: pure functions from what a user typed to what the engine uses."""

from __future__ import annotations

import inspect
import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, final

from pytest_loadtest._model._shapes import Stage, parse_stages
from pytest_loadtest._model._sla import SLA, parse_sla
from pytest_loadtest._model._units import (
    MAX_DURATION,
    MAX_RATE,
    MAX_USERS,
    MIN_RATE,
    format_limit,
    parse_count,
    parse_duration,
    parse_positive_number,
)

__all__ = [
    "ThinkTime",
    "app_kind",
    "parse_app",
    "parse_base_url",
    "parse_bool",
    "parse_detectors",
    "parse_loop",
    "parse_loops",
    "parse_min_samples",
    "parse_optional_count",
    "parse_positive_duration",
    "parse_rate",
    "parse_rate_stages",
    "parse_seed",
    "parse_setting_sla",
    "parse_think_time",
    "parse_user_stages",
    "parse_users",
    "parse_watch",
]

#: Largest seed magnitude: seeds are stored in results and baselines as JSON integers.
MAX_SEED: Final = 2**63 - 1


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
            return self._checked(self.func(vu))
        if self.high > self.low:
            return rng.uniform(self.low, self.high)
        return self.low

    def _checked(self, value: object) -> float:
        """A callable think time's answer as seconds; a ``ValueError`` naming ``think_time``
        unless it is a finite number from 0 to :data:`MAX_DURATION` (negative counts as 0)."""
        name = self.describe()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            shown = repr(value)[:60]
            raise ValueError(
                f"think_time callable {name} returned {shown}, not a number of seconds"
            )
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
        if not math.isfinite(seconds) or seconds > MAX_DURATION:
            raise ValueError(
                f"think_time callable {name} returned {seconds!r}: a think time must be a finite "
                f"number of seconds up to {format_limit(MAX_DURATION)} (30 days)"
            )
        return max(0.0, seconds)

    def describe(self) -> str:
        """Human-readable form for summaries."""
        if self.func is not None:
            return str(getattr(self.func, "__name__", "callable"))
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


def parse_users(value: object) -> int:
    """A number of virtual users: a whole number from 1 to :data:`MAX_USERS`."""
    return parse_count(value, MAX_USERS)


def parse_user_stages(value: object) -> tuple[Stage, ...]:
    """Closed-model stages: targets are users, at most :data:`MAX_USERS`."""
    return parse_stages(value, MAX_USERS)


def parse_rate_stages(value: object) -> tuple[Stage, ...]:
    """Open-model stages: targets are rates, at most :data:`MAX_RATE` per second."""
    return parse_stages(value, MAX_RATE)


def parse_optional_count(value: object) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    return parse_count(value)


#: Most confirming runs a breached run gets (``confirm``): each costs a whole run's time.
MAX_CONFIRM: Final = 10


#: Most event-loop threads for async users (``loops``): more than cores gains nothing.
MAX_LOOPS: Final = 64
#: The event loops async users can run on (``loop``), with the module each needs.
LOOPS: Final = {"asyncio": "asyncio", "uvloop": "uvloop"}


def parse_loops(value: object) -> int:
    """Event-loop threads for async users: a whole number from 1 to :data:`MAX_LOOPS`."""
    return parse_count(value, MAX_LOOPS)


#: Most worker processes of one run (``processes``).
MAX_PROCESSES: Final = 256


def parse_processes(value: object) -> int:
    """Worker processes of a run: a whole number from 1 to :data:`MAX_PROCESSES`, or ``"auto"``
    (one per core of the machine the session runs on)."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return min(MAX_PROCESSES, max(1, os.cpu_count() or 1))
    try:
        return parse_count(value, MAX_PROCESSES)
    except ValueError as exc:
        raise ValueError(f"{exc} (or 'auto': one process per core)") from None


def parse_loop(value: object) -> str:
    """The event loop async users run on: ``"asyncio"`` or ``"uvloop"`` (when installed)."""
    import importlib.util

    name = value.strip().lower() if isinstance(value, str) else value
    if name not in LOOPS:
        shown = repr(value) if len(repr(value)) <= 60 else f"{repr(value)[:40]}..."
        raise ValueError(f"{shown} is not an event loop: choose from {', '.join(LOOPS)}")
    assert isinstance(name, str)
    if importlib.util.find_spec(LOOPS[name]) is None:
        raise ValueError(
            f"{name!r}: {LOOPS[name]} is not installed (pip install 'pytest-loadtest[uvloop]')"
        )
    return name


def _is_zero(value: object) -> bool:
    """``0`` or ``"0"`` (not ``False``): a count that turns something off."""
    if isinstance(value, str):
        return value.strip() == "0"
    return value == 0 and not isinstance(value, bool)


def parse_confirm(value: object) -> int:
    """How many times a breached run is run again: a whole number from 0 to :data:`MAX_CONFIRM`."""
    if value is None or (isinstance(value, str) and not value.strip()) or _is_zero(value):
        return 0
    return parse_count(value, MAX_CONFIRM)


#: Saved runs a regression check's history looks back over by default (``--load-compare-history``).
DEFAULT_HISTORY: Final = 10
#: Most saved runs a history may look back over: each is a file read at the start of a comparison.
MAX_HISTORY: Final = 1000


def parse_history(value: object) -> int:
    """How many saved runs a regression check's history holds at most: a whole number from 0
    (no history: the baseline alone) to :data:`MAX_HISTORY`."""
    if _is_zero(value):
        return 0
    try:
        return parse_count(value, MAX_HISTORY)
    except ValueError as exc:
        raise ValueError(f"{exc} (or 0: the baseline alone)") from None


#: Most calls ``min_samples`` may require (a p99.99 needs 100,000; this leaves room).
MAX_MIN_SAMPLES: Final = 100_000_000


def parse_min_samples(value: object) -> int:
    """Fewest calls an SLA percentile target must rest on: a whole number from 0 (no minimum)
    to :data:`MAX_MIN_SAMPLES`."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "0")):
        return 0
    if value == 0 and not isinstance(value, bool):
        return 0
    return parse_count(value, MAX_MIN_SAMPLES)


def parse_seed(value: object) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    shown = repr(value) if len(repr(value)) <= 60 else f"{repr(value)[:40]}..."
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 42.0, as TOML or YAML may give it; 1.5 and inf are refused below
    if isinstance(value, str):
        try:
            value = int(value.strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"{shown} is not an integer seed") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{shown} is not an integer seed")
    if abs(value) > MAX_SEED:
        raise ValueError(f"{shown} is outside the seed range -(2**63 - 1)..2**63 - 1")
    return value


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
    """An open model's rate per second, from :data:`MIN_RATE` to :data:`MAX_RATE`."""
    try:
        rate = parse_positive_number(value, MAX_RATE)
    except ValueError as exc:
        raise ValueError(f"{exc} (accepted: {MIN_RATE:g} to {MAX_RATE:,.0f} per second)") from None
    if rate < MIN_RATE:
        raise ValueError(
            f"{value!r} is below the lowest rate, {MIN_RATE:g} per second "
            f"(accepted: {MIN_RATE:g} to {MAX_RATE:,.0f} per second)"
        )
    return rate


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


def app_kind(app: object) -> str:
    """``"asgi"`` or ``"wsgi"``; ``ValueError`` for anything else."""
    call = getattr(app, "__call__", None)  # noqa: B004 - a class or a function alike
    if call is None:
        raise ValueError(f"{_short(app)} is not an ASGI or WSGI app (not callable)")
    if inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(call):
        return "asgi"
    try:
        params = inspect.signature(app if inspect.isfunction(app) else call).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    if len(params) == 2:
        return "wsgi"
    if len(params) == 3:  # an ASGI app written without async def at its top (middleware)
        return "asgi"
    raise ValueError(
        f"{_short(app)} is not an ASGI app (async (scope, receive, send)) or a WSGI "
        "app ((environ, start_response))"
    )


def parse_app(value: object) -> object:
    """An ASGI or WSGI app for ``vu.http`` (``None``: none)."""
    if value is None:
        return None
    app_kind(value)
    return value


def parse_base_url(value: object) -> str | None:
    """Where ``vu.http`` sends requests: an ``http://`` or ``https://`` URL with a host."""
    from urllib.parse import urlsplit

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{_short(value)} is not a URL")
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{_short(text)} is not an http:// or https:// URL with a host")
    return text


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}..."


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
