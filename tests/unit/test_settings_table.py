"""The settings table is the one source: LoadSettings, the resolver's defaults, to_dict(), the
marker signature and the help texts all agree with it (the plugin's options and ini keys are
checked in tests/plugin/test_settings_table.py)."""

from __future__ import annotations

import ast
import dataclasses
import re

import pytest

from pytest_loadtest._settings._layers import (
    Layers,
    SettingError,
    check_layer,
    marker_layer,
    resolve_settings,
)
from pytest_loadtest._settings._settings import LoadSettings
from pytest_loadtest._settings._table import (
    DEFAULT_DURATION,
    DEFAULTS,
    OPTIONS,
    SETTINGS,
    SettingSpec,
    marker_signature,
)

NAMES = [spec.name for spec in SETTINGS]


def test_names_are_unique() -> None:
    assert len(set(NAMES)) == len(NAMES)


def test_load_settings_has_one_field_per_row_in_table_order() -> None:
    assert [f.name for f in dataclasses.fields(LoadSettings)] == [*NAMES, "sources"]


def test_load_settings_defaults_are_the_tables() -> None:
    for field in dataclasses.fields(LoadSettings):
        if field.name == "sources":
            continue
        if field.name == "seed":  # the table's None is "drawn by the resolver"
            assert (DEFAULTS["seed"], field.default) == (None, 0)
            continue
        assert field.default == DEFAULTS[field.name], field.name


def test_the_resolver_starts_from_the_tables_defaults() -> None:
    settings = resolve_settings([], seed_source=lambda: 7)
    for name in NAMES:
        expected = 7 if name == "seed" else DEFAULTS[name]
        assert getattr(settings, name) == expected, name
        assert settings.sources[name] == "default", name
    assert list(settings.sources) == NAMES
    assert settings.duration == DEFAULT_DURATION


def test_to_dict_shows_every_setting_in_table_order() -> None:
    data = LoadSettings(sources={"users": "default"}).to_dict()
    keys = list(data)
    assert (keys[0], keys[-1]) == ("model", "sources")
    assert [key for key in keys if key not in ("model", "profile", "sources")] == NAMES
    assert keys.index("profile") == keys.index("abort_window") + 1
    for spec in SETTINGS:
        assert data[spec.name] == spec.show(getattr(LoadSettings(), spec.name)), spec.name


def test_the_marker_signature_lists_every_marker_setting_with_its_default() -> None:
    pairs = dict(item.split("=", 1) for item in marker_signature().split(", "))
    assert sorted(pairs) == sorted(spec.name for spec in SETTINGS if spec.marker)
    for spec in SETTINGS:
        written = ast.literal_eval(pairs[spec.name])  # a Python literal a user could copy
        parsed = None if written is None else spec.parse(written)
        assert parsed == spec.default, spec.name


def test_the_marker_signature_is_the_one_users_know() -> None:
    # `pytest --markers` shows it; the order is the marker's documentation order
    assert marker_signature() == (
        "users=10, duration='5s', iterations=None, ramp_up=0, ramp_down=0, stages=None, "
        "think_time=0, pacing=0, rate=None, rate_stages=None, max_users=1000, warmup=0, "
        "stop_timeout='5s', seed=None, sla=None, abort_on_breach=False, abort_grace=0, "
        "abort_window='5s', monitor_interval='1s', tracemalloc=False, watch=(), detectors=None, "
        "min_samples=0, confirm=0, loops=1, loop='asyncio', base_url=None, app=None, processes=1"
    )


_DEFAULT_IN_HELP = re.compile(r"Default(:?) ([^.(]+?)(?: \(|\.)")


@pytest.mark.parametrize("spec", [s for s in SETTINGS if s.cli or s.ini], ids=lambda s: s.name)
def test_help_text_states_the_tables_default(spec: SettingSpec) -> None:
    found = _DEFAULT_IN_HELP.search(spec.help)
    if spec.default is None:  # "Default: no limit", "Default: random", or nothing said
        assert found is None or found.group(1) == ":", spec.help
    else:
        assert found is not None, spec.help
        assert found.group(1) == ""
        assert spec.parse(found.group(2)) == spec.default


def test_options_are_every_row_once() -> None:
    assert sorted(spec.name for spec in OPTIONS) == sorted(NAMES)
    assert len(OPTIONS) == len(SETTINGS)


def test_every_table_default_passes_its_own_parser_or_is_none() -> None:
    for spec in SETTINGS:
        if spec.default is not None:
            assert check_layer("table", {spec.name: spec.default}) == {spec.name: spec.default}


# -- layers ----
def test_layers_iterate_in_precedence_order() -> None:
    layers = (
        Layers(above=(("cli a", {}), ("cli b", {})), below=(("ini", {}),))
        .with_marker(("marker", {}))
        .with_call(("run()", {}), ("scenario", {}))
        .with_step(("step", {}))
    )
    assert [source for source, _ in layers] == [
        "step",
        "cli a",
        "cli b",
        "run()",
        "scenario",
        "marker",
        "ini",
    ]
    assert [source for source, _ in Layers().with_call(("run()", {}))] == ["run()"]


def test_layers_resolve_highest_first() -> None:
    layers = Layers(
        above=(("command line", {"users": 2}),), below=(("ini", {"users": 9, "warmup": 1}),)
    ).with_call(("run()", {"users": 5, "duration": 3}))
    settings = layers.resolve()
    assert (settings.users, settings.duration, settings.warmup) == (2, 3.0, 1.0)
    assert settings.sources["duration"] == "run()"


def test_session_layers_come_from_the_command_line_and_the_ini_file() -> None:
    options = {"load_users": 4, "load_seed": None}
    ini = {"load_warmup": "1s", "load_users": "7"}
    layers = Layers.from_options(
        lambda dest: options.get(dest), lambda key: ini.get(key), "tox.ini"
    )
    assert layers.above == (("command line option --load-users", {"users": 4}),)
    assert layers.below == (
        ("tox.ini option load_users", {"users": 7}),
        ("tox.ini option load_warmup", {"warmup": 1.0}),
    )


def test_a_bad_ini_value_names_the_file_and_key() -> None:
    with pytest.raises(SettingError, match=r"^setup.cfg option load_users: invalid users='x'"):
        Layers.from_options(lambda dest: None, {"load_users": "x"}.get, "setup.cfg")


def test_marker_layer_merges_markers_closest_first() -> None:
    markers = [("load", {"users": 2}), ("slow", {"users": 99}), ("soak", {"users": 1, "seed": 3})]
    assert marker_layer("t.py::test", markers) == (
        "@pytest.mark.load of t.py::test",
        {"users": 2, "seed": 3},
    )
    assert marker_layer("t.py::test", [])[0] == "@pytest.mark.load of t.py::test"
