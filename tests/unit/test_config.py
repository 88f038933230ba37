"""The settings resolver: precedence, defaults, sources and error messages."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping

import pytest

from pytest_loadtest._model._sla import SLA, Check
from pytest_loadtest._settings._layers import SettingError, check_layer, resolve_settings
from pytest_loadtest._settings._parsers import ThinkTime, parse_think_time
from pytest_loadtest._settings._settings import LoadSettings
from pytest_loadtest._settings._table import DEFAULT_DURATION, DEFAULT_MAX_DURATION, SETTINGS


def _resolve(*layers: tuple[str, Mapping[str, object]]) -> LoadSettings:
    return resolve_settings(list(layers), seed_source=lambda: 99)


def test_defaults() -> None:
    settings = _resolve()
    assert settings.users == 10
    assert settings.duration == DEFAULT_DURATION == 5.0
    assert settings.iterations is None
    assert settings.ramp_up == 0.0
    assert settings.think_time == ThinkTime()
    assert settings.think_time.is_zero
    assert settings.warmup == 0.0
    assert settings.stop_timeout == 5.0
    assert settings.seed == 99
    assert settings.sla is None
    assert set(settings.sources.values()) == {"default"}
    assert set(settings.sources) == {spec.name for spec in SETTINGS}


def test_iterations_without_duration_caps_at_max_duration() -> None:
    settings = _resolve(("run", {"iterations": 50}))
    assert settings.iterations == 50
    assert settings.duration == DEFAULT_MAX_DURATION
    assert settings.sources["duration"] == "default"


def test_iterations_with_duration_keep_the_duration() -> None:
    settings = _resolve(("cli", {"duration": "2s"}), ("run", {"iterations": 50}))
    assert settings.duration == 2.0
    assert settings.iterations == 50


def test_first_layer_wins_per_setting_and_sources_are_recorded() -> None:
    settings = _resolve(
        ("command line", {"users": 3, "duration": None}),
        ("run() argument", {"users": 5, "duration": "2s", "ramp_up": None}),
        ("marker", {"duration": "9s", "ramp_up": "1s", "warmup": "500ms"}),
        ("ini", {"warmup": "1s", "stop_timeout": "7s", "users": "100"}),
    )
    assert (settings.users, settings.sources["users"]) == (3, "command line")
    assert (settings.duration, settings.sources["duration"]) == (2.0, "run() argument")
    assert (settings.ramp_up, settings.sources["ramp_up"]) == (1.0, "marker")
    assert (settings.warmup, settings.sources["warmup"]) == (0.5, "marker")
    assert (settings.stop_timeout, settings.sources["stop_timeout"]) == (7.0, "ini")
    assert settings.sources["iterations"] == "default"


def test_none_falls_through_to_lower_layers() -> None:
    settings = _resolve(("command line", {"users": None}), ("ini", {"users": "4"}))
    assert settings.users == 4
    assert settings.sources["users"] == "ini"


def test_unknown_setting_names_source_and_lists_known_ones() -> None:
    with pytest.raises(SettingError) as info:
        _resolve(("marker", {"userz": 3}))
    message = str(info.value)
    assert message.startswith("marker: unknown setting 'userz'")
    known = ", ".join(sorted(spec.name for spec in SETTINGS))
    assert f"(known: {known})" in message


def test_unknown_setting_in_a_lower_layer_is_still_rejected() -> None:
    with pytest.raises(SettingError, match=r"^ini: unknown setting 'spam'"):
        _resolve(("cli", {"users": 1}), ("ini", {"spam": "1"}))


def test_unknown_setting_is_rejected_even_when_its_value_is_none() -> None:
    # ``run(target, iteratons=None)`` is a typo all the same; None only means "unset" for a
    # setting that exists.
    with pytest.raises(SettingError, match=r"^run\(\) argument: unknown setting 'iteratons'"):
        _resolve(("run() argument", {"iteratons": None}))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("users", "lots"),
        ("users", 0),
        ("duration", "0s"),
        ("duration", "soon"),
        ("iterations", -1),
        ("ramp_up", "-1"),
        ("think_time", "fast"),
        ("warmup", [1, 2]),
        ("stop_timeout", True),
        ("seed", "abc"),
        ("seed", True),
        ("sla", {"p95": "slow"}),
        ("sla", {"p42": 1}),
    ],
)
def test_bad_value_names_setting_value_and_source(name: str, value: object) -> None:
    with pytest.raises(SettingError) as info:
        _resolve(("run() argument", {name: value}))
    assert str(info.value).startswith(f"run() argument: invalid {name}={value!r}: ")


def test_warmup_not_shorter_than_duration_is_an_error_naming_both_sources() -> None:
    with pytest.raises(SettingError) as info:
        _resolve(("marker", {"warmup": "2s"}), ("ini", {"duration": "2s"}))
    message = str(info.value)
    assert message.startswith("marker: warmup=2s")
    assert "duration=2s (from ini)" in message


def test_warmup_shorter_than_duration_is_fine() -> None:
    assert _resolve(("run", {"warmup": "1.9s", "duration": "2s"})).warmup == 1.9


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        (0.5, 0.5, 0.5),
        ("100ms", 0.1, 0.1),
        ("10ms..50ms", 0.01, 0.05),
        ("10ms, 50ms", 0.01, 0.05),
        ((0.01, 0.05), 0.01, 0.05),
        (["1s", "2s"], 1.0, 2.0),
        ("0", 0.0, 0.0),
    ],
)
def test_think_time_parsing(value: object, low: float, high: float) -> None:
    think = parse_think_time(value)
    assert think.func is None
    assert (think.low, think.high) == pytest.approx((low, high), rel=1e-12)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("50ms..10ms", "('50ms', '10ms'): max is below min"),
        ((2, 1), "(2, 1): max is below min"),
        ((1, 2, 3), "(1, 2, 3) must be a single duration or a (min, max) pair"),
        ("a..b", "'a' is not a duration"),
        (-1, "-1 is negative"),
    ],
)
def test_think_time_rejects(value: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        parse_think_time(value)


def test_reversed_think_time_range_via_resolver() -> None:
    with pytest.raises(SettingError, match=r"^marker: invalid think_time='50ms\.\.10ms': .*below"):
        _resolve(("marker", {"think_time": "50ms..10ms"}))


def test_callable_think_time() -> None:
    def pause(vu: object) -> float:
        return 0.25 if vu == "slow" else -1.0

    think = _resolve(("run", {"think_time": pause})).think_time
    assert think.func is pause
    assert not think.is_zero
    rng = random.Random(0)
    assert think.sample("slow", rng) == 0.25
    assert think.sample("other", rng) == 0.0  # never negative
    assert think.describe() == "pause"


def test_think_time_sampling_and_description() -> None:
    rng = random.Random(1)
    uniform = ThinkTime(0.01, 0.05)
    samples = [uniform.sample(None, rng) for _ in range(200)]
    assert all(0.01 <= s <= 0.05 for s in samples)
    assert len(set(samples)) > 100
    assert uniform.describe() == "0.01..0.05s"
    assert not uniform.is_zero
    assert ThinkTime(0.5, 0.5).sample(None, rng) == 0.5
    assert ThinkTime(0.5, 0.5).describe() == "0.5s"


@pytest.mark.parametrize(("value", "seed"), [(7, 7), ("42", 42), (-3, -3), (0, 0)])
def test_seed_is_passed_through(value: object, seed: int) -> None:
    settings = resolve_settings([("run", {"seed": value})], seed_source=lambda: 12345)
    assert settings.seed == seed
    assert settings.sources["seed"] == "run"


@pytest.mark.parametrize("value", [None, "none", ""])
def test_missing_seed_comes_from_seed_source(value: object) -> None:
    settings = resolve_settings([("run", {"seed": value})], seed_source=lambda: 12345)
    assert settings.seed == 12345


def test_seed_defaults_to_a_random_int() -> None:
    seeds = {resolve_settings([]).seed for _ in range(5)}
    assert all(isinstance(s, int) and 0 <= s < 2**31 for s in seeds)
    assert len(seeds) > 1


def test_sla_is_parsed() -> None:
    settings = _resolve(("marker", {"sla": {"p95": "200ms", "error_rate": "1%"}}))
    assert settings.sla == SLA((Check("p95", 200.0), Check("error_rate", 0.01)))
    assert settings.to_dict()["sla"] == {"p95": 200.0, "error_rate": 0.01}


@pytest.mark.parametrize("value", [None, "None", ""])
def test_iterations_can_be_unset_explicitly(value: object) -> None:
    assert check_layer("ini", {"iterations": value}) == {"iterations": None}


def test_to_dict_shows_think_time_and_sources() -> None:
    settings = _resolve(("cli", {"think_time": "10ms..20ms", "users": 2}))
    data = settings.to_dict()
    assert data["think_time"] == "0.01..0.02s"
    assert data["users"] == 2
    assert data["seed"] == 99
    assert data["sources"] == dict(settings.sources)
    assert data["sla"] is None


def test_setting_names_for_command_line_and_ini() -> None:
    ramp = next(spec for spec in SETTINGS if spec.name == "ramp_up")
    assert ramp.option == "--load-ramp-up"
    assert ramp.ini_name == "load_ramp_up"
    assert ramp.dest == "load_ramp_up"
