"""Settings layers and the one resolver that merges them into :class:`LoadSettings`.

Precedence, highest first (k6's order: what is typed at run time wins)::

    command line  >  run() / find_capacity() keyword arguments  >  scenario file  >  marker
                  >  ini  >  default

(a capacity-search step's own load and duration beat even the command line). :class:`Layers`
is the one place that puts layers in this order. Every parser is a pure function; an error names
the setting, the bad value and where it came from.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, final

from pytest_loadtest._settings._parsers import ThinkTime
from pytest_loadtest._settings._settings import LoadSettings
from pytest_loadtest._settings._table import DEFAULT_MAX_DURATION, OPTIONS, SETTINGS

__all__ = [
    "MARKERS",
    "Layer",
    "Layers",
    "SettingError",
    "check_layer",
    "marker_layer",
    "resolve_settings",
]

#: One layer: where its values came from (named in errors and ``LoadSettings.sources``), and
#: its values by setting name.
Layer = tuple[str, Mapping[str, object]]

#: The markers whose keyword arguments are settings.
MARKERS: Final = ("load", "soak")


class SettingError(ValueError):
    """A setting had a bad value; the message names setting, value and source."""


_SPECS: Final = {spec.name: spec for spec in SETTINGS}
#: Settings that choose the load model; the highest layer setting any of them decides.
PROFILE_KEYS: Final = ("users", "stages", "rate", "rate_stages")


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
            raise SettingError(f"{source}: invalid {name}={_short(raw)}: {exc}") from None
    return parsed


def resolve_settings(
    layers: Iterable[Layer],
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
    chosen, sources = _choose(layers)
    duration_given = "duration" in chosen
    for spec in SETTINGS:
        if spec.name not in chosen:
            chosen[spec.name] = spec.default
            sources[spec.name] = "default"
    if not duration_given:  # the stages, or the iterations, say how long an unset run lasts
        stages = chosen["stages"] if chosen["stages"] is not None else chosen["rate_stages"]
        if stages is not None:
            chosen["duration"] = sum(d for d, _ in stages)  # type: ignore[attr-defined]
            key = "stages" if chosen["stages"] is not None else "rate_stages"
            sources["duration"] = f"the {key} ({sources[key]})"
        elif chosen["iterations"] is not None:
            chosen["duration"] = DEFAULT_MAX_DURATION
    if chosen["seed"] is None:
        chosen["seed"] = (seed_source or (lambda: random.SystemRandom().randrange(2**31)))()
    settings = LoadSettings(sources=sources, **chosen)  # type: ignore[arg-type]
    _check_consistency(settings)
    return settings


def _choose(layers: Iterable[Layer]) -> tuple[dict[str, object], dict[str, str]]:
    """The value of each setting some layer gives, and its source: the highest layer's, with
    the load profile chosen whole (see :func:`resolve_settings`)."""
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
    return chosen, sources


def check_alone(source: str, values: Mapping[str, object]) -> None:
    """:class:`SettingError` for settings that contradict each other within one layer (a
    marker's), whatever other layers give: two load profiles, a setting of another profile
    (``rate=`` with ``think_time=``), ``pacing`` with ``think_time``. For collection."""
    chosen, _ = _choose([(source, values)])
    pacing, think = chosen.get("pacing"), chosen.get("think_time")
    if not isinstance(think, ThinkTime) or think.is_zero:
        return
    if isinstance(pacing, float) and pacing > 0:
        raise SettingError(
            f"{source}: pacing={pacing:g}s and think_time={think.describe()} both set the "
            "pause between iterations; give one"
        )


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


def _short(value: object) -> str:
    """``repr(value)``, cut to 80 characters: a 5,000-character value is not quoted whole."""
    try:
        text = repr(value)
    except Exception:  # a user object whose __repr__ fails
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= 80 else f"{text[:60]}...({len(text)} characters)"


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
    if settings.app is not None and settings.base_url and src["app"] == src["base_url"]:
        raise SettingError(
            f"{src['app']}: app= and base_url={settings.base_url!r} both say where requests go; "
            "give one (a base URL from a higher layer, such as --load-base-url, replaces app=)"
        )
    if settings.loops > 1 and settings.model == "open":
        raise SettingError(
            f"loops={settings.loops} (from {src['loops']}) spreads a closed model's users over "
            "event loops; the open model starts its iterations from one loop: give loops=1"
        )
    for name in ("stages", "rate_stages"):
        stages = getattr(settings, name)
        if stages is not None and not any(target > 0 for _, target in stages):
            raise SettingError(f"{src[name]}: {name} never rise above 0, so nothing would run")


@final
@dataclass(frozen=True, slots=True)
class Layers:
    """Every layer of settings of one run, kept in their tiers; iterating gives them in
    precedence order, highest first: ``step``, ``above``, ``call``, ``scenario``, ``below``.

    The plugin builds the session's tiers with :meth:`from_options` (the command line above,
    the ini file below) and puts a test's marker at the top of ``below`` with
    :meth:`with_marker`; the runner adds a call's keyword arguments and scenario file with
    :meth:`with_call`, and a capacity-search step with :meth:`with_step`.
    """

    #: layers that beat a call's keyword arguments: the command line's options, one layer each
    above: tuple[Layer, ...] = ()
    #: layers that yield to them: the test's marker, then the ini file's options
    below: tuple[Layer, ...] = ()
    #: ``run()`` / ``find_capacity()`` keyword arguments
    call: Layer | None = None
    #: the settings of a scenario file (its ``[load]`` and ``[sla]`` tables)
    scenario: Layer | None = None
    #: a capacity-search step's own load and duration: above everything
    step: Layer | None = None

    @classmethod
    def from_options(
        cls, option: Callable[[str], Any], ini: Callable[[str], Any], inifile: str
    ) -> Layers:
        """The session's layers: each command-line option given (``option(dest)``, ``None``
        when absent) above, each ini key set (``ini(key)``, empty when unset) below, checked
        now so that a bad ini value stops the session (:class:`SettingError`)."""
        above: list[Layer] = []
        below: list[Layer] = []
        for spec in OPTIONS:
            if spec.cli and (value := option(spec.dest)) is not None:
                above.append((f"command line option {spec.option}", {spec.name: value}))
            if spec.ini and (raw := ini(spec.ini_name)):
                source = f"{inifile} option {spec.ini_name}"
                below.append((source, check_layer(source, {spec.name: raw})))
        return cls(above=tuple(above), below=tuple(below))

    def with_marker(self, marker: Layer) -> Layers:
        """These layers with a test's marker above the ini file's."""
        return replace(self, below=(marker, *self.below))

    def with_call(self, call: Layer, scenario: Layer | None = None) -> Layers:
        """These layers with a call's keyword arguments and its scenario file's settings."""
        return replace(self, call=call, scenario=scenario)

    def with_step(self, step: Layer) -> Layers:
        """These layers under one step of a capacity search."""
        return replace(self, step=step)

    def __iter__(self) -> Iterator[Layer]:
        if self.step is not None:
            yield self.step
        yield from self.above
        if self.call is not None:
            yield self.call
        if self.scenario is not None:
            yield self.scenario
        yield from self.below

    def resolve(self) -> LoadSettings:
        """The settings these layers resolve to (:func:`resolve_settings`)."""
        return resolve_settings(self)


def marker_layer(test_id: str, markers: Sequence[tuple[str, Mapping[str, object]]]) -> Layer:
    """The merged keyword arguments of a test's load/soak markers, as one layer.

    ``markers`` are ``(name, keyword arguments)`` of all the test's markers, closest first (as
    pytest's ``iter_markers`` gives them): the closest marker's value of a setting wins.
    """
    merged: dict[str, object] = {}
    names = []
    for name, kwargs in reversed(markers):
        if name in MARKERS:
            names.append(name)
            merged.update(kwargs)
    label = names[-1] if names else "load"
    return f"@pytest.mark.{label} of {test_id}", merged
