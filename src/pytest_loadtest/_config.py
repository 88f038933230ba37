"""Settings: one table of what can be set, and one resolver.

Precedence, highest first (k6's order: what is typed at run time wins)::

    command line  >  run() keyword arguments  >  marker keyword arguments  >  ini  >  default

Every parser is a pure function; an error names the setting, the bad value and where it came from.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final

from pytest_loadtest._sla import SLA, parse_sla
from pytest_loadtest._units import parse_count, parse_duration

__all__ = [
    "DEFAULT_DURATION",
    "DEFAULT_MAX_DURATION",
    "SETTINGS",
    "LoadSettings",
    "SettingError",
    "SettingSpec",
    "ThinkTime",
    "resolve_settings",
]

#: Default length of a run: short enough for a click in an IDE.
DEFAULT_DURATION: Final = 5.0
#: Default cap when ``iterations`` is set and no duration is: like k6's ``maxDuration``.
DEFAULT_MAX_DURATION: Final = 600.0


class SettingError(ValueError):
    """A setting had a bad value; the message names setting, value and source."""


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


def _parse_optional_count(value: object) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    return parse_count(value)


def _parse_seed(value: object) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an integer seed")
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not an integer seed") from None


def _parse_positive_duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"{value!r} must be longer than 0")
    return seconds


def _parse_sla(value: object) -> SLA | None:
    if value is None:
        return None
    return parse_sla(value)


@final
@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One setting: its parser, its command-line and ini names, and its help text."""

    name: str
    parse: Callable[[object], Any]
    help: str
    metavar: str = ""
    cli: bool = True
    ini: bool = True

    @property
    def option(self) -> str:
        """The command-line flag, ``--load-ramp-up`` for ``ramp_up``."""
        return "--load-" + self.name.replace("_", "-")

    @property
    def ini_name(self) -> str:
        """The ini key, ``load_ramp_up`` for ``ramp_up``."""
        return "load_" + self.name

    @property
    def dest(self) -> str:
        """The ``config.option`` attribute."""
        return "load_" + self.name


SETTINGS: Final[tuple[SettingSpec, ...]] = (
    SettingSpec("users", parse_count, "number of virtual users (threads). Default 10.", "N"),
    SettingSpec(
        "duration",
        _parse_positive_duration,
        "how long a run lasts: seconds or '500ms', '30s', '10m', '1h30m'. Default 5s "
        f"(with iterations set: at most {DEFAULT_MAX_DURATION:g}s).",
        "DURATION",
    ),
    SettingSpec(
        "iterations",
        _parse_optional_count,
        "total iterations shared by all users; the run ends at whichever of duration and "
        "iterations comes first. Default: no limit.",
        "N",
    ),
    SettingSpec(
        "ramp_up", parse_duration, "start the users linearly over this time. Default 0.", "DURATION"
    ),
    SettingSpec(
        "think_time",
        parse_think_time,
        "pause between a user's iterations: '0.5', '100ms' or a range '10ms..50ms'. Default 0.",
        "DURATION[..MAX]",
    ),
    SettingSpec(
        "warmup",
        parse_duration,
        "seconds at the start left out of the statistics. Default 0.",
        "DURATION",
    ),
    SettingSpec(
        "stop_timeout",
        parse_duration,
        "how long in-flight calls may finish after the end; later ones are reported as hung. "
        "Default 5s.",
        "DURATION",
    ),
    SettingSpec(
        "seed",
        _parse_seed,
        "base seed of the per-user random generators (vu.random); reported with each result "
        "so a run can be repeated. Default: random.",
        "INT",
    ),
    SettingSpec("sla", _parse_sla, "service-level targets", cli=False, ini=False),
)

_SPECS: Final = {spec.name: spec for spec in SETTINGS}
_DEFAULTS: Final[Mapping[str, object]] = {
    "users": 10,
    "duration": None,  # resolved against iterations below
    "iterations": None,
    "ramp_up": 0.0,
    "think_time": ThinkTime(),
    "warmup": 0.0,
    "stop_timeout": 5.0,
    "seed": None,
    "sla": None,
}


@final
@dataclass(frozen=True, slots=True)
class LoadSettings:
    """Fully resolved settings of one run."""

    users: int = 10
    duration: float = DEFAULT_DURATION
    iterations: int | None = None
    ramp_up: float = 0.0
    think_time: ThinkTime = field(default_factory=ThinkTime)
    warmup: float = 0.0
    stop_timeout: float = 5.0
    seed: int = 0
    sla: SLA | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (callables shown by name)."""
        return {
            "users": self.users,
            "duration": self.duration,
            "iterations": self.iterations,
            "ramp_up": self.ramp_up,
            "think_time": self.think_time.describe(),
            "warmup": self.warmup,
            "stop_timeout": self.stop_timeout,
            "seed": self.seed,
            "sla": self.sla.to_dict() if self.sla is not None else None,
            "sources": dict(self.sources),
        }


def known_setting(name: str) -> bool:
    """True when ``name`` is a setting that markers and ``run()`` accept."""
    return name in _SPECS


def check_layer(source: str, values: Mapping[str, object]) -> dict[str, object]:
    """Parse one layer of settings, rejecting unknown names; returns parsed values."""
    parsed: dict[str, object] = {}
    for name, raw in values.items():
        spec = _SPECS.get(name)
        if spec is None:
            known = ", ".join(sorted(_SPECS))
            raise SettingError(f"{source}: unknown setting {name!r} (known: {known})")
        try:
            parsed[name] = spec.parse(raw)
        except (ValueError, TypeError) as exc:
            raise SettingError(f"{source}: invalid {name}={raw!r}: {exc}") from None
    return parsed


def resolve_settings(
    layers: Iterable[tuple[str, Mapping[str, object]]],
    *,
    seed_source: Callable[[], int] | None = None,
) -> LoadSettings:
    """Merge layers given highest precedence first into frozen :class:`LoadSettings`.

    Each layer is ``(source description, {setting: raw value})``. Values that are ``None`` in a
    layer are treated as unset there, so an absent command-line option falls through.
    """
    chosen: dict[str, object] = {}
    sources: dict[str, str] = {}
    for source, values in layers:
        check_layer(source, {k: v for k, v in values.items() if v is None and k not in _SPECS})
        present = {k: v for k, v in values.items() if v is not None}
        for name, value in check_layer(source, present).items():
            if name not in chosen:
                chosen[name] = value
                sources[name] = source
    for name, default in _DEFAULTS.items():
        if name not in chosen:
            chosen[name] = default
            sources[name] = "default"
    if chosen["duration"] is None:
        chosen["duration"] = (
            DEFAULT_DURATION if chosen["iterations"] is None else DEFAULT_MAX_DURATION
        )
    if chosen["seed"] is None:
        chosen["seed"] = (seed_source or (lambda: random.SystemRandom().randrange(2**31)))()
    settings = LoadSettings(sources=sources, **chosen)  # type: ignore[arg-type]
    _check_consistency(settings)
    return settings


def _check_consistency(settings: LoadSettings) -> None:
    if settings.warmup >= settings.duration:
        raise SettingError(
            f"{settings.sources['warmup']}: warmup={settings.warmup:g}s leaves nothing to measure "
            f"in duration={settings.duration:g}s (from {settings.sources['duration']})"
        )
