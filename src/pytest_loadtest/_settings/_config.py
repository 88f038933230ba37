"""Settings: the resolved settings of a run, and the one resolver that produces them.

Precedence, highest first (k6's order: what is typed at run time wins)::

    command line  >  run() keyword arguments  >  marker keyword arguments  >  ini  >  default

Every parser is a pure function; an error names the setting, the bad value and where it came from.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final

from pytest_loadtest._model._shapes import Profile, Stage, format_stages
from pytest_loadtest._model._sla import SLA
from pytest_loadtest._settings._parsers import ThinkTime, parse_think_time
from pytest_loadtest._settings._table import (
    DEFAULT_DURATION,
    DEFAULT_MAX_DURATION,
    SETTINGS,
    SettingSpec,
)

__all__ = [
    "DEFAULT_DURATION",
    "DEFAULT_MAX_DURATION",
    "SETTINGS",
    "LoadSettings",
    "SettingError",
    "SettingSpec",
    "ThinkTime",
    "parse_think_time",
    "resolve_settings",
]


class SettingError(ValueError):
    """A setting had a bad value; the message names setting, value and source."""


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
    "ramp_down": 0.0,
    "stages": None,
    "pacing": 0.0,
    "rate": None,
    "rate_stages": None,
    "max_users": 1000,
    "abort_on_breach": False,
    "abort_grace": 0.0,
    "abort_window": 5.0,
    "monitor_interval": 1.0,
    "tracemalloc": False,
    "watch": (),
    "detectors": None,
}
#: Settings that choose the load model; the highest layer setting any of them decides.
PROFILE_KEYS: Final = ("users", "stages", "rate", "rate_stages")


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
    ramp_down: float = 0.0
    stages: tuple[Stage, ...] | None = None
    pacing: float = 0.0
    rate: float | None = None
    rate_stages: tuple[Stage, ...] | None = None
    max_users: int = 1000
    abort_on_breach: bool = False
    abort_grace: float = 0.0
    abort_window: float = 5.0
    monitor_interval: float = 1.0
    tracemalloc: bool = False
    watch: tuple[Any, ...] = ()
    detectors: Mapping[str, Any] | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def model(self) -> str:
        """``"open"`` (an arrival rate) or ``"closed"`` (a number of users)."""
        return "open" if self.rate is not None or self.rate_stages is not None else "closed"

    def profile(self) -> Profile:
        """Users (closed model) or iterations per second (open model) as a function of time."""
        if self.rate_stages is not None:
            return Profile.from_stages(self.rate_stages)
        if self.stages is not None:
            return Profile.from_stages(self.stages)
        value = float(self.rate if self.rate is not None else self.users)
        return Profile.constant(
            value, duration=self.duration, ramp_up=self.ramp_up, ramp_down=self.ramp_down
        )

    @property
    def peak_users(self) -> int:
        """Threads a closed-model run needs: the profile's highest number of users."""
        if self.stages is None:
            return self.users
        return max(1, math.ceil(max(target for _, target in self.stages)))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (callables shown by name)."""
        return {
            "model": self.model,
            "users": self.users,
            "duration": self.duration,
            "iterations": self.iterations,
            "ramp_up": self.ramp_up,
            "think_time": self.think_time.describe(),
            "warmup": self.warmup,
            "stop_timeout": self.stop_timeout,
            "seed": self.seed,
            "sla": self.sla.to_dict() if self.sla is not None else None,
            "ramp_down": self.ramp_down,
            "stages": format_stages(self.stages) if self.stages is not None else None,
            "pacing": self.pacing,
            "rate": self.rate,
            "rate_stages": format_stages(self.rate_stages) if self.rate_stages else None,
            "max_users": self.max_users,
            "abort_on_breach": self.abort_on_breach,
            "abort_grace": self.abort_grace,
            "abort_window": self.abort_window,
            "profile": self.profile().describe(),
            "monitor_interval": self.monitor_interval,
            "tracemalloc": self.tracemalloc,
            "watch": [_engine_name(engine) for engine in self.watch],
            "detectors": dict(self.detectors) if self.detectors else None,
            "sources": dict(self.sources),
        }


def _engine_name(engine: Any) -> str:
    """An engine's URL without its password."""
    url = getattr(getattr(engine, "sync_engine", engine), "url", None)
    render = getattr(url, "render_as_string", None)
    return str(render(hide_password=True)) if callable(render) else repr(engine)


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

    The load model is chosen whole: the highest layer that sets any of ``users``, ``stages``,
    ``rate`` or ``rate_stages`` decides it, and lower layers' profile settings (and settings that
    only make sense with another model) give way instead of mixing in.
    """
    chosen: dict[str, object] = {}
    sources: dict[str, str] = {}
    rank: dict[str, int] = {}
    profile_layer: tuple[int, str, list[str]] | None = None
    for index, (source, values) in enumerate(layers):
        check_layer(source, {k: v for k, v in values.items() if v is None and k not in _SPECS})
        present = {k: v for k, v in values.items() if v is not None}
        parsed = check_layer(source, present)
        keys: list[str] = [k for k in PROFILE_KEYS if k in parsed]
        if len(keys) > 1:  # contradictory in itself, whether or not this layer decides
            raise SettingError(
                f"{source}: {' and '.join(keys)} are different load profiles; give one "
                "(users/stages: a closed model of virtual users; rate/rate_stages: an open "
                "model of arrivals)"
            )
        if keys and profile_layer is None:
            profile_layer = (index, source, keys)
        for name, value in parsed.items():
            if name not in chosen:
                chosen[name], sources[name], rank[name] = value, source, index
    if profile_layer is not None:
        _keep_profile(chosen, sources, rank, profile_layer)
    if "pacing" in chosen and "think_time" in chosen and rank["pacing"] != rank["think_time"]:
        lower = "pacing" if rank["pacing"] > rank["think_time"] else "think_time"
        del chosen[lower]  # both pace iterations: the higher layer's choice wins
        sources.pop(lower)
    for name, default in _DEFAULTS.items():
        if name not in chosen:
            chosen[name] = default
            sources[name] = "default"
    stages = chosen["stages"] if chosen["stages"] is not None else chosen["rate_stages"]
    if chosen["duration"] is None:
        if stages is not None:
            chosen["duration"] = sum(d for d, _ in stages)  # type: ignore[attr-defined]
            key = "stages" if chosen["stages"] is not None else "rate_stages"
            sources["duration"] = f"the {key} ({sources[key]})"
        else:
            chosen["duration"] = (
                DEFAULT_DURATION if chosen["iterations"] is None else DEFAULT_MAX_DURATION
            )
    if chosen["seed"] is None:
        chosen["seed"] = (seed_source or (lambda: random.SystemRandom().randrange(2**31)))()
    settings = LoadSettings(sources=sources, **chosen)  # type: ignore[arg-type]
    _check_consistency(settings)
    return settings


#: Settings that belong to one profile; set with another, they conflict when they sit in the same
#: layer as that profile, and give way when they come from another layer.
_BELONGS: Final[Mapping[str, tuple[str, ...]]] = {
    "ramp_up": ("users", "rate"),
    "ramp_down": ("users", "rate"),
    "think_time": ("users", "stages"),
    "pacing": ("users", "stages"),
    "max_users": ("rate", "rate_stages"),
    "duration": PROFILE_KEYS,  # with stages, a lower layer's duration gives way to the stages
}


def _keep_profile(
    chosen: dict[str, object],
    sources: dict[str, str],
    rank: dict[str, int],
    profile_layer: tuple[int, str, list[str]],
) -> None:
    index, source, (key,) = profile_layer
    for name in PROFILE_KEYS:
        if name != key and name in chosen:
            del chosen[name]  # a lower layer's profile yields to the chosen one
            sources.pop(name)
    for name, owners in _BELONGS.items():
        if name not in chosen:
            continue
        if name == "duration":
            if key in ("stages", "rate_stages") and rank[name] > index:
                del chosen[name]  # the stages say how long the run lasts
            continue
        if key in owners:
            continue
        if rank[name] == index:
            value = chosen[name]
            raise SettingError(
                f"{sources[name]}: {name}={_show(value)} does not apply to {key}= (from {source}); "
                f"it goes with {' or '.join(o + '=' for o in owners)}"
            )
        del chosen[name]
        sources.pop(name)


def _show(value: object) -> str:
    if isinstance(value, ThinkTime):
        return value.describe()
    return repr(value)


def _check_consistency(settings: LoadSettings) -> None:
    src = settings.sources
    if settings.warmup >= settings.duration:
        raise SettingError(
            f"{src['warmup']}: warmup={settings.warmup:g}s leaves nothing to measure "
            f"in duration={settings.duration:g}s (from {src['duration']})"
        )
    if settings.ramp_down > 0 and settings.ramp_up + settings.ramp_down > settings.duration:
        raise SettingError(
            f"ramp_up={settings.ramp_up:g}s (from {src['ramp_up']}) plus ramp_down="
            f"{settings.ramp_down:g}s (from {src['ramp_down']}) is longer than "
            f"duration={settings.duration:g}s (from {src['duration']})"
        )
    if settings.pacing > 0 and not settings.think_time.is_zero:
        raise SettingError(
            f"pacing={settings.pacing:g}s (from {src['pacing']}) and think_time="
            f"{settings.think_time.describe()} (from {src['think_time']}) both set the pause "
            "between iterations; give one"
        )
    for name in ("stages", "rate_stages"):
        stages = getattr(settings, name)
        if stages is not None and not any(target > 0 for _, target in stages):
            raise SettingError(f"{src[name]}: {name} never rise above 0, so nothing would run")
