"""The load-profile settings of the resolver: one model chosen whole, and what goes with it."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from pytest_loadtest._model._shapes import Profile
from pytest_loadtest._settings._layers import SettingError, check_layer, resolve_settings
from pytest_loadtest._settings._parsers import ThinkTime
from pytest_loadtest._settings._settings import LoadSettings
from pytest_loadtest._settings._table import SETTINGS

Layer = tuple[str, Mapping[str, object]]


def _resolve(*layers: Layer) -> LoadSettings:
    return resolve_settings(list(layers), seed_source=lambda: 5)


def test_defaults_of_the_new_settings() -> None:
    settings = _resolve()
    assert settings.model == "closed"
    assert (settings.stages, settings.rate, settings.rate_stages) == (None, None, None)
    assert (settings.ramp_down, settings.pacing) == (0.0, 0.0)
    assert settings.max_users == 1000
    assert (settings.abort_on_breach, settings.abort_grace, settings.abort_window) == (
        False,
        0.0,
        5.0,
    )
    for name in ("ramp_down", "stages", "pacing", "rate", "rate_stages", "max_users"):
        assert settings.sources[name] == "default"


@pytest.mark.parametrize(
    ("name", "raw", "parsed"),
    [
        ("ramp_down", "1.5s", 1.5),
        ("stages", "1s:5,2s:0", ((1.0, 5.0), (2.0, 0.0))),
        ("stages", [("1s", 5)], ((1.0, 5.0),)),
        ("pacing", "250ms", 0.25),
        ("rate", "12.5", 12.5),
        ("rate", 500, 500.0),
        ("rate_stages", [{"duration": "1m", "target": 100}], ((60.0, 100.0),)),
        ("max_users", "20", 20),
        ("abort_on_breach", "yes", True),
        ("abort_on_breach", "off", False),
        ("abort_on_breach", True, True),
        ("abort_grace", "2s", 2.0),
        ("abort_window", "500ms", 0.5),
    ],
)
def test_new_settings_parse(name: str, raw: object, parsed: object) -> None:
    assert check_layer("here", {name: raw}) == {name: parsed}


@pytest.mark.parametrize(
    ("name", "raw", "fragment"),
    [
        ("stages", "1s", "invalid stages='1s': stage 1:"),
        ("stages", 3, "invalid stages=3"),
        ("rate", 0, "invalid rate=0"),
        ("rate", "-5", "invalid rate='-5'"),
        ("rate", "fast", "invalid rate='fast'"),
        ("max_users", 0, "invalid max_users=0"),
        ("max_users", "lots", "invalid max_users='lots'"),
        ("pacing", "soon", "invalid pacing='soon'"),
        ("ramp_down", "-1s", "invalid ramp_down='-1s'"),
        ("abort_on_breach", "maybe", "invalid abort_on_breach='maybe': 'maybe' is not true or"),
        ("abort_on_breach", 1, "invalid abort_on_breach=1"),
        ("abort_window", 0, "invalid abort_window=0"),
        ("abort_grace", "later", "invalid abort_grace='later'"),
    ],
)
def test_bad_values_name_the_setting_value_and_source(
    name: str, raw: object, fragment: str
) -> None:
    with pytest.raises(SettingError, match=re.escape(f"the marker: {fragment}")):
        _resolve(("the marker", {name: raw}))


# -- the model is chosen whole by the highest layer that sets one -----------------------------


@pytest.mark.parametrize(
    ("layers", "model", "values"),
    [
        # the highest layer's profile wins; lower layers' profile keys give way
        ([("cli", {"rate": 50}), ("marker", {"users": 3})], "open", {"rate": 50.0}),
        ([("cli", {"users": 3}), ("marker", {"rate": 50})], "closed", {"users": 3}),
        (
            [("run", {"stages": "1s:4"}), ("marker", {"users": 3, "rate": None})],
            "closed",
            {"stages": ((1.0, 4.0),)},
        ),
        (
            [("run", {"rate_stages": "1s:9"}), ("marker", {"stages": "1s:4"})],
            "open",
            {"rate_stages": ((1.0, 9.0),), "stages": None},
        ),
        (
            [("run", {"users": 2}), ("marker", {"rate_stages": "1s:9"}), ("ini", {"rate": 7})],
            "closed",
            {"users": 2, "rate_stages": None, "rate": None},
        ),
        # a lower layer's profile holds when no higher layer sets one
        ([("cli", {"duration": 2}), ("ini", {"rate": 7})], "open", {"rate": 7.0}),
    ],
)
def test_highest_layer_with_a_profile_chooses_the_model(
    layers: list[Layer], model: str, values: dict[str, object]
) -> None:
    settings = _resolve(*layers)
    assert settings.model == model
    for name, value in values.items():
        assert getattr(settings, name) == value, name


def test_a_lower_layers_users_give_way_but_not_the_default_users() -> None:
    settings = _resolve(("run", {"rate": 5}), ("marker", {"users": 40}))
    assert settings.users == 10  # the default: the marker's 40 users are another model
    assert settings.sources["users"] == "default"
    assert settings.sources["rate"] == "run"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"users": 2, "rate": 5}, "users and rate are different load profiles; give one"),
        ({"users": 2, "stages": "1s:2"}, "users and stages are different load profiles"),
        ({"stages": "1s:2", "rate_stages": "1s:2"}, "stages and rate_stages are different"),
        ({"rate": 2, "rate_stages": "1s:2"}, "rate and rate_stages are different"),
    ],
)
def test_two_profiles_in_one_layer_are_an_error_naming_the_layer(
    keys: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingError, match=re.escape(f"@pytest.mark.load of t.py: {message}")):
        _resolve(("cli", {"duration": 1}), ("@pytest.mark.load of t.py", keys))


def test_two_profiles_in_a_lower_layer_are_an_error_too() -> None:
    """A layer that contradicts itself is wrong whether or not it decides the model."""
    with pytest.raises(SettingError, match=r"^marker: users and stages are different load"):
        _resolve(("run", {"rate": 3}), ("marker", {"users": 2, "stages": "1s:2"}))


# -- settings that go with one model ------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "fragment"),
    [
        ({"stages": "1s:2", "ramp_up": 1}, "ramp_up=1.0 does not apply to stages="),
        ({"stages": "1s:2", "ramp_down": "1s"}, "ramp_down=1.0 does not apply to stages="),
        ({"rate_stages": "1s:2", "ramp_up": 1}, "ramp_up=1.0 does not apply to rate_stages="),
        ({"rate": 5, "think_time": "1s"}, "think_time=1s does not apply to rate="),
        ({"rate": 5, "pacing": "1s"}, "pacing=1.0 does not apply to rate="),
        ({"rate_stages": "1s:2", "pacing": 1}, "pacing=1.0 does not apply to rate_stages="),
        ({"users": 5, "max_users": 3}, "max_users=3 does not apply to users="),
        ({"stages": "1s:2", "max_users": 3}, "max_users=3 does not apply to stages="),
    ],
)
def test_a_setting_of_another_model_in_the_profiles_layer_is_an_error(
    layer: dict[str, object], fragment: str
) -> None:
    with pytest.raises(SettingError, match=re.escape(fragment)) as info:
        _resolve(("cli", {"seed": 1}), ("run()", layer), ("marker", {"users": 1}))
    message = str(info.value)
    assert message.startswith("run(): ")
    assert "(from run())" in message
    assert "it goes with" in message


@pytest.mark.parametrize(
    ("chosen", "other"),
    [
        ({"stages": "1s:2"}, {"ramp_up": 1, "ramp_down": 1}),
        ({"rate_stages": "1s:2"}, {"ramp_up": 1, "ramp_down": 1}),
        ({"rate": 5}, {"think_time": "1s"}),
        ({"rate": 5}, {"pacing": "1s"}),
        ({"rate_stages": "1s:2"}, {"pacing": "1s"}),
        ({"users": 5}, {"max_users": 3}),
        ({"stages": "1s:2"}, {"max_users": 3}),
    ],
)
@pytest.mark.parametrize("other_above", [False, True])
def test_a_setting_of_another_model_in_another_layer_gives_way(
    chosen: dict[str, object], other: dict[str, object], other_above: bool
) -> None:
    layers: list[Layer] = [("run", chosen), ("marker", other)]
    if other_above:
        layers.reverse()  # a command-line --load-max-users must not break a users= test
    settings = _resolve(*layers)
    defaults = LoadSettings()
    for name in other:
        assert getattr(settings, name) == getattr(defaults, name), name
        assert settings.sources[name] == "default", name


@pytest.mark.parametrize(
    ("profile", "own"),
    [
        ({"users": 4}, {"ramp_up": 1, "ramp_down": 1, "duration": 3}),
        ({"rate": 4}, {"ramp_up": 1, "ramp_down": 1, "duration": 3}),
        ({"users": 4}, {"think_time": "10ms..20ms"}),
        ({"users": 4}, {"pacing": "100ms"}),
        ({"stages": "1s:4"}, {"think_time": "10ms"}),
        ({"stages": "1s:4"}, {"pacing": "100ms"}),
        ({"rate": 4}, {"max_users": 7}),
        ({"rate_stages": "1s:4"}, {"max_users": 7}),
    ],
)
@pytest.mark.parametrize("where", ["same", "above", "below"])
def test_a_setting_of_the_chosen_model_applies_from_any_layer(
    profile: dict[str, object], own: dict[str, object], where: str
) -> None:
    if where == "same":
        layers: list[Layer] = [("run", {**profile, **own})]
    elif where == "above":
        layers = [("cli", own), ("run", profile)]
    else:
        layers = [("run", profile), ("ini", own)]
    settings = _resolve(*layers)
    parsed = check_layer("x", own)
    for name, value in parsed.items():
        assert getattr(settings, name) == value, name


def test_ramps_apply_to_the_open_model_profile() -> None:
    settings = _resolve(("run", {"rate": 100, "duration": 10, "ramp_up": 2, "ramp_down": 3}))
    assert settings.profile() == Profile((0.0, 2.0, 7.0, 10.0), (0.0, 100.0, 100.0, 0.0))


# -- duration with stages ---------------------------------------------------------------------


def test_stages_give_the_duration() -> None:
    settings = _resolve(("run", {"stages": "1s:5,2s:5,500ms:0"}))
    assert settings.duration == 3.5
    assert settings.sources["duration"] == "the stages (run)"


def test_rate_stages_give_the_duration() -> None:
    settings = _resolve(("marker", {"rate_stages": "1s:50,1s:0"}))
    assert settings.duration == 2.0
    assert settings.sources["duration"] == "the rate_stages (marker)"


@pytest.mark.parametrize(
    ("layers", "duration", "source"),
    [
        ([("run", {"stages": "1s:5,1s:0", "duration": 10})], 10.0, "run"),
        ([("cli", {"duration": 1.5}), ("run", {"stages": "1s:5,1s:0"})], 1.5, "cli"),
        ([("run", {"stages": "1s:5,1s:0"}), ("marker", {"duration": 10})], 2.0, "the stages (run)"),
        ([("run", {"stages": "1s:5,1s:0"}), ("ini", {"duration": 10})], 2.0, "the stages (run)"),
        # a default users profile has no stages: the lower duration holds
        ([("run", {"users": 2}), ("marker", {"duration": 3})], 3.0, "marker"),
        ([("run", {"rate": 2}), ("marker", {"duration": 3})], 3.0, "marker"),
    ],
)
def test_a_duration_at_least_as_high_as_the_stages_overrides_them(
    layers: list[Layer], duration: float, source: str
) -> None:
    settings = _resolve(*layers)
    assert settings.duration == duration
    assert settings.sources["duration"] == source


def test_stages_below_an_iterations_limit_still_give_the_duration() -> None:
    settings = _resolve(("run", {"iterations": 10}), ("marker", {"stages": "2s:3"}))
    assert settings.duration == 2.0  # not the 600 s cap of an iterations run


# -- pacing and think time --------------------------------------------------------------------


def test_pacing_and_think_time_in_one_layer_is_an_error() -> None:
    with pytest.raises(SettingError, match="both set the pause between iterations; give one"):
        _resolve(("run", {"pacing": "1s", "think_time": "10ms"}))


@pytest.mark.parametrize(
    ("layers", "pacing", "think"),
    [
        ([("run", {"pacing": "1s"}), ("marker", {"think_time": "10ms"})], 1.0, ThinkTime()),
        (
            [("run", {"think_time": "10ms"}), ("marker", {"pacing": "1s"})],
            0.0,
            ThinkTime(0.01, 0.01),
        ),
        ([("cli", {"pacing": "1s"}), ("ini", {"think_time": "10ms"})], 1.0, ThinkTime()),
    ],
)
def test_pacing_and_think_time_in_different_layers_the_higher_wins(
    layers: list[Layer], pacing: float, think: ThinkTime
) -> None:
    settings = _resolve(*layers)
    assert settings.pacing == pacing
    assert settings.think_time == think


# -- consistency -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "ok"),
    [
        ({"ramp_up": 3, "ramp_down": 3, "duration": 5}, False),
        ({"ramp_up": 0, "ramp_down": 6, "duration": 5}, False),
        ({"ramp_up": 2, "ramp_down": 3, "duration": 5}, True),
        ({"ramp_up": 9, "duration": 5}, True),  # a ramp-up longer than the run: fewer users
        ({"rate": 5, "ramp_up": 3, "ramp_down": 3, "duration": 5}, False),
    ],
)
def test_ramp_up_plus_ramp_down_must_fit_the_duration(layer: dict[str, object], ok: bool) -> None:
    if ok:
        _resolve(("run", layer))
        return
    with pytest.raises(SettingError, match=r"plus ramp_down=\S+ \(from run\) is longer than"):
        _resolve(("run", layer))


@pytest.mark.parametrize(
    ("name", "value"),
    [("stages", "1s:0"), ("stages", "1s:0,2s:0"), ("rate_stages", [("1s", 0), ("0s", 0)])],
)
def test_stages_that_never_rise_are_an_error(name: str, value: object) -> None:
    with pytest.raises(SettingError, match=f"marker: {name} never rise above 0"):
        _resolve(("marker", {name: value}))


def test_warmup_must_fit_the_duration_the_stages_give() -> None:
    with pytest.raises(SettingError, match=r"warmup=2s leaves nothing to measure in duration=2s"):
        _resolve(("run", {"stages": "1s:3,1s:0", "warmup": 2}))


# -- what the resolved settings say -------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "model", "peak_users", "profile"),
    [
        ({"users": 3, "duration": 2}, "closed", 3, Profile((0.0,), (3.0,))),
        (
            {"users": 3, "duration": 2, "ramp_up": 1},
            "closed",
            3,
            Profile((0.0, 1.0), (0.0, 3.0)),
        ),
        (
            {"stages": "1s:2.5,1s:4,1s:0"},
            "closed",
            4,
            Profile((0.0, 1.0, 2.0, 3.0), (0.0, 2.5, 4.0, 0.0)),
        ),
        ({"stages": "1s:0.2"}, "closed", 1, Profile((0.0, 1.0), (0.0, 0.2))),
        ({"stages": "1s:2.5"}, "closed", 3, Profile((0.0, 1.0), (0.0, 2.5))),
        ({"rate": 40, "duration": 2}, "open", 10, Profile((0.0,), (40.0,))),
        ({"rate_stages": "1s:40,1s:0"}, "open", 10, Profile((0.0, 1.0, 2.0), (0.0, 40.0, 0.0))),
    ],
)
def test_model_profile_and_peak_users(
    layer: dict[str, object], model: str, peak_users: int, profile: Profile
) -> None:
    settings = _resolve(("run", layer))
    assert settings.model == model
    assert settings.peak_users == peak_users
    assert settings.profile() == profile


def test_to_dict_carries_the_profile() -> None:
    data = _resolve(("run", {"rate_stages": "1s:40,1s:0", "max_users": 20})).to_dict()
    assert data["model"] == "open"
    assert data["rate_stages"] == "1s:40,1s:0"
    assert data["stages"] is None
    assert data["rate"] is None
    assert data["max_users"] == 20
    assert data["profile"] == [[0.0, 0.0], [1.0, 40.0], [2.0, 0.0]]
    assert data["duration"] == 2.0
    closed = _resolve(("run", {"stages": "1s:3", "pacing": "1s"})).to_dict()
    assert (closed["model"], closed["stages"], closed["pacing"]) == ("closed", "1s:3", 1.0)


def test_every_new_setting_has_a_cli_flag_and_an_ini_key() -> None:
    specs = {spec.name: spec for spec in SETTINGS}
    for name in (
        "rate",
        "stages",
        "rate_stages",
        "max_users",
        "pacing",
        "ramp_down",
        "abort_on_breach",
        "abort_grace",
        "abort_window",
    ):
        spec = specs[name]
        assert spec.cli, name
        assert spec.ini, name
        assert spec.option == "--load-" + name.replace("_", "-")
        assert spec.ini_name == "load_" + name
        assert spec.metavar, name
        assert spec.help, name
