"""Scenario files: a TOML profile, weighted actions, hooks and an SLA, and every error."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from pytest_loadtest import ScenarioFileError
from pytest_loadtest._engine._users import VirtualUser
from pytest_loadtest._model._sla import Check
from pytest_loadtest._runner import LoadRunner
from pytest_loadtest._scenario._target import Scenario, build_plan
from pytest_loadtest._settings._layers import SettingError

GOOD = """
name = "black_friday"
description = "sale opens: many users, short think time"

[load]
users = 20
ramp_up = "1s"
duration = "1m"
think_time = "10ms..50ms"

[actions]
search = 5
paginate = 3
checkout = 0.5

[hooks]
on_start = ["login"]
on_stop = ["logout"]

[sla]
p95 = "2s"
error_rate = "1%"

[sla.operations.checkout]
p99 = 500
"""


def search() -> None:
    pass


def paginate(vu: VirtualUser) -> None:
    pass


def checkout() -> None:
    pass


def login(vu: VirtualUser) -> None:
    vu.state["token"] = vu.id


def logout(vu: VirtualUser) -> None:
    pass


ACTIONS: Mapping[str, Callable[..., Any]] = {
    "search": search,
    "paginate": paginate,
    "checkout": checkout,
    "login": login,
    "logout": logout,
}


def _write(tmp_path: Path, text: str, name: str = "scenario.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    scenario = Scenario.from_file(path, actions=ACTIONS)
    assert isinstance(scenario, Scenario)
    assert scenario.name == "black_friday"
    assert scenario.description == "sale opens: many users, short think time"
    assert [(t.name, t.func, t.weight) for t in scenario.tasks] == [
        ("search", search, 5.0),
        ("paginate", paginate, 3.0),
        ("checkout", checkout, 0.5),
    ]
    assert [t.takes_user for t in scenario.tasks] == [False, True, False]
    assert [h.func for h in scenario.on_start_hooks] == [login]
    assert [h.func for h in scenario.on_stop_hooks] == [logout]
    assert scenario.settings == {
        "users": 20,
        "ramp_up": "1s",
        "duration": "1m",
        "think_time": "10ms..50ms",
        "sla": {"p95": "2s", "error_rate": "1%", "operations": {"checkout": {"p99": 500}}},
    }
    assert scenario.source == f"scenario file {path}"
    plan = build_plan(scenario)
    assert plan.cumulative == (5.0, 8.0, 8.5)


def test_the_file_settings_resolve_with_the_file_as_their_source(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    scenario = Scenario.from_file(str(path), actions=ACTIONS)
    from pytest_loadtest._settings._layers import resolve_settings

    settings = resolve_settings([(scenario.source, scenario.settings)], seed_source=lambda: 1)
    assert (settings.users, settings.ramp_up, settings.duration) == (20, 1.0, 60.0)
    assert (settings.think_time.low, settings.think_time.high) == (0.01, 0.05)
    assert settings.sla is not None
    assert set(settings.sla.checks) == {
        Check("p95", 2000.0),
        Check("error_rate", 0.01),
        Check("p99", 500.0, "checkout"),
    }
    assert settings.sources["users"] == f"scenario file {path}"


def test_name_defaults_to_the_file_stem_and_only_actions_are_required(tmp_path: Path) -> None:
    path = _write(tmp_path, "[actions]\nsearch = 1\n", name="normal_day.toml")
    scenario = Scenario.from_file(path, actions={"search": search})
    assert scenario.name == "normal_day"
    assert scenario.description == ""
    assert scenario.settings == {}
    assert scenario.on_start_hooks == scenario.on_stop_hooks == []
    assert [t.name for t in scenario.tasks] == ["search"]


def test_open_model_and_stages_in_a_file(tmp_path: Path) -> None:
    text = '[load]\nrate_stages = [["1s", 10], {duration = "2s", target = 40}]\nmax_users = 5\n'
    path = _write(tmp_path, text + "[actions]\nsearch = 1\n")
    scenario = Scenario.from_file(path, actions={"search": search})
    assert scenario.settings == {
        "rate_stages": [["1s", 10], {"duration": "2s", "target": 40}],
        "max_users": 5,
    }


def test_hooks_may_name_the_same_callable_as_a_task(tmp_path: Path) -> None:
    path = _write(tmp_path, '[actions]\nlogin = 1\n[hooks]\non_start = ["login", "login"]\n')
    scenario = Scenario.from_file(path, actions={"login": login})
    assert [t.func for t in scenario.tasks] == [login]
    assert [h.func for h in scenario.on_start_hooks] == [login, login]


def test_the_file_ranks_between_run_arguments_and_the_marker(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[load]\nusers = 2\niterations = 3\nstop_timeout = "3s"\n[actions]\nsearch = 1\n',
    )
    scenario = Scenario.from_file(path, actions={"search": search})
    runner = LoadRunner(
        layers_above=[("command line", {"seed": 4})],
        layers_below=[("marker", {"iterations": 50, "warmup": 0, "rate": 3})],
    )
    result = runner.run(scenario, iterations=4)
    settings = result.settings
    sources = settings["sources"]
    assert (settings["users"], sources["users"]) == (2, f"scenario file {path}")
    assert (settings["iterations"], sources["iterations"]) == (4, "load_runner.run() argument")
    assert (settings["stop_timeout"], sources["stop_timeout"]) == (3.0, f"scenario file {path}")
    assert (settings["seed"], sources["seed"]) == (4, "command line")
    assert settings["model"] == "closed"  # the file's users beat the marker's rate
    assert result.total == 4
    assert result.name == "scenario"


def test_a_bad_setting_from_the_file_is_reported_by_the_runner_naming_the_file(
    tmp_path: Path,
) -> None:
    # valid alone, but the file's think_time does not go with its own rate
    path = _write(tmp_path, '[load]\nrate = 5\nthink_time = "1s"\n[actions]\nsearch = 1\n')
    scenario = Scenario.from_file(path, actions={"search": search})
    with pytest.raises(SettingError, match=re.escape(f"scenario file {path}: think_time=1s")):
        LoadRunner().run(scenario)


# -- errors: each names the file, the key and the value ---------------------------------------


def _error(tmp_path: Path, text: str, actions: Mapping[str, Any] = ACTIONS) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioFileError) as info:
        Scenario.from_file(path, actions=actions)
    message = str(info.value)
    assert message.startswith(f"scenario file {path}"), message
    return message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ScenarioFileError, match=re.escape(f"scenario file {path}: no such file")):
        Scenario.from_file(path, actions=ACTIONS)


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFileError, match=re.escape(f"scenario file {tmp_path}: cannot be")):
        Scenario.from_file(tmp_path, actions=ACTIONS)


@pytest.mark.parametrize(
    "text",
    ["[actions\nsearch = 1\n", "[actions]\nsearch = \n", 'name = "a"\nname = "b"\n'],
)
def test_bad_toml(tmp_path: Path, text: str) -> None:
    assert "not valid TOML: " in _error(tmp_path, text)


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('description = "café"\n[actions]\nsearch = 1\n'.encode("latin-1"))
    with pytest.raises(ScenarioFileError, match=re.escape(f"scenario file {path}: ")):
        Scenario.from_file(path, actions=ACTIONS)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("users = 5\n[actions]\nsearch = 1\n", "unknown key 'users' (allowed: name, description"),
        ("[action]\nsearch = 1\n", "unknown key 'action'"),
        ("[actions]\nsearch = 1\n[slas]\np95 = 1\n", "unknown key 'slas'"),
    ],
)
def test_unknown_top_key(tmp_path: Path, text: str, fragment: str) -> None:
    assert fragment in _error(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[load]\nuserz = 5\n[actions]\nsearch = 1\n", "unknown setting 'userz' (known: "),
        ('[load]\nramp = "1s"\n[actions]\nsearch = 1\n', "unknown setting 'ramp'"),
    ],
)
def test_unknown_load_setting(tmp_path: Path, text: str, fragment: str) -> None:
    assert fragment in _error(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[load]\nusers = "many"\n', "invalid users='many'"),
        ("[load]\nusers = 0\n", "invalid users=0"),
        ('[load]\nduration = "forever"\n', "invalid duration='forever'"),
        ('[load]\nstages = "10s"\n', "invalid stages='10s': stage 1:"),
        ("[load]\nrate = -3\n", "invalid rate=-3"),
        ('[load]\nabort_on_breach = "maybe"\n', "invalid abort_on_breach='maybe'"),
        ('[sla]\np95 = "fast"\n', "invalid sla={'p95': 'fast'}"),
        ("[sla]\np42 = 1\n", "unknown SLA key 'p42'"),
        ("[load]\nsla = {p95 = 1}\n", "put the SLA in an [sla] table, not in [load]"),
        ("load = 5\n", "[load] must be a table, got load = 5"),
        ('sla = "fast"\n', "[sla] must be a table, got sla = 'fast'"),
        ('name = ""\n', "name = '' must be a non-empty string"),
        ("name = 3\n", "name = 3 must be a non-empty string"),
    ],
)
def test_bad_value(tmp_path: Path, text: str, fragment: str) -> None:
    assert fragment in _error(tmp_path, text + "[actions]\nsearch = 1\n")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[actions]\nsearch = 1\nbuy = 2\n", "[actions] buy = 2 names action 'buy', which"),
        ('[actions]\nsearch = 1\n[hooks]\non_start = ["signin"]\n', "[hooks] on_start names"),
        ("[actions]\nsearch = 1\n[hooks]\non_stop = [3]\n", "names action 3, which"),
    ],
)
def test_missing_action(tmp_path: Path, text: str, fragment: str) -> None:
    message = _error(tmp_path, text)
    assert fragment in message
    assert "does not map to a callable (given: checkout, login, logout, paginate, search)" in (
        message
    )


def test_missing_action_with_no_actions_given(tmp_path: Path) -> None:
    assert "(given: none)" in _error(tmp_path, "[actions]\nsearch = 1\n", actions={})


@pytest.mark.parametrize(
    "text", ['name = "x"\n', "[actions]\n", "[load]\nusers = 1\n[actions]\n", "actions = {}\n"]
)
def test_empty_actions(tmp_path: Path, text: str) -> None:
    assert "[actions] is missing or empty: name the actions to run" in _error(tmp_path, text)


def test_actions_must_be_a_table(tmp_path: Path) -> None:
    assert "[actions] must be a table, got actions = ['search']" in _error(
        tmp_path, 'actions = ["search"]\n'
    )


@pytest.mark.parametrize(
    ("weight", "shown"),
    [("0", "0"), ("-2", "-2"), ('"5"', "'5'"), ("true", "True"), ("[1]", "[1]"), ("nan", "nan")],
)
def test_bad_weight(tmp_path: Path, weight: str, shown: str) -> None:
    message = _error(tmp_path, f"[actions]\nsearch = {weight}\n")
    assert f"task 'search': weight must be a number above 0, got {shown}" in message


@pytest.mark.parametrize(
    ("hooks", "fragment"),
    [
        ('on_begin = ["login"]', "unknown key 'on_begin' in [hooks] (allowed: on_start, on_stop)"),
        ('on_start = "login"', "[hooks] on_start = 'login' must be a list of action names"),
        ("on_stop = 1", "[hooks] on_stop = 1 must be a list of action names"),
    ],
)
def test_bad_hooks(tmp_path: Path, hooks: str, fragment: str) -> None:
    assert fragment in _error(tmp_path, f"[actions]\nsearch = 1\n[hooks]\n{hooks}\n")


def test_hooks_must_be_a_table(tmp_path: Path) -> None:
    message = _error(tmp_path, 'hooks = ["login"]\n[actions]\nsearch = 1\n')
    assert "[hooks] must be a table, got hooks = ['login']" in message


def test_an_action_that_cannot_be_a_task(tmp_path: Path) -> None:
    def two(a: object, b: object) -> None:
        pass

    message = _error(tmp_path, "[actions]\nsearch = 1\n", actions={"search": two})
    assert "target 'search' takes 2 arguments" in message


def test_an_action_that_is_not_callable(tmp_path: Path) -> None:
    message = _error(tmp_path, "[actions]\nsearch = 1\n", actions={"search": 42})
    assert "'search': 42 is not callable" in message


def test_actions_must_be_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "[actions]\nsearch = 1\n")
    with pytest.raises(ScenarioFileError, match=r"actions= must map the file's action names"):
        Scenario.from_file(path, [search])  # type: ignore[arg-type]
