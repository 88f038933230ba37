"""LoadRunner: settings precedence, failures through the callback, and several runs per test."""

from __future__ import annotations

import itertools
from typing import NoReturn

import pytest

from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._runner import LoadRunner
from pytest_loadtest._settings._layers import SettingError


class Failed(Exception):
    """What the test's ``fail`` callback raises."""


def _fail(message: str) -> NoReturn:
    raise Failed(message)


def noop() -> None:
    pass


def test_layers_above_beat_run_arguments_which_beat_layers_below() -> None:
    runner = LoadRunner(
        layers_above=[("command line", {"users": 2, "iterations": None})],
        layers_below=[
            ("marker", {"users": 5, "iterations": 3, "stop_timeout": "3s"}),
            ("ini", {"stop_timeout": "4s", "seed": "11"}),
        ],
        fail=_fail,
    )
    result = runner.run(noop, users=4, iterations=7)
    settings = result.settings
    assert (settings["users"], settings["iterations"]) == (2, 7)
    assert (settings["stop_timeout"], settings["seed"]) == (3.0, 11)
    assert settings["sources"]["users"] == "command line"
    assert settings["sources"]["iterations"] == "load_runner.run() argument"
    assert settings["sources"]["stop_timeout"] == "marker"
    assert settings["sources"]["seed"] == "ini"
    assert settings["sources"]["duration"] == "default"
    assert result.total == 7
    assert result.users == 2


@pytest.mark.parametrize(
    ("settings", "fragments"),
    [
        ({"users": "many"}, ["load_runner.run() argument", "users='many'"]),
        ({"duration": "forever"}, ["load_runner.run() argument", "duration='forever'"]),
        ({"userz": 3}, ["unknown setting 'userz'"]),
        ({"sla": {"p42": 1}}, ["invalid sla=", "p42"]),
    ],
)
def test_bad_run_arguments_fail_through_the_callback(
    settings: dict[str, object], fragments: list[str]
) -> None:
    runner = LoadRunner(fail=_fail)
    with pytest.raises(Failed) as info:
        runner.run(noop, **settings)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert runner.results == []


def test_bad_value_from_a_layer_names_that_layer() -> None:
    runner = LoadRunner(layers_below=[("ini", {"users": "0"})], fail=_fail)
    with pytest.raises(Failed, match=r"^ini: invalid users='0'"):
        runner.run(noop, iterations=1)


def test_non_callable_target_fails_through_the_callback() -> None:
    runner = LoadRunner(fail=_fail)
    with pytest.raises(Failed, match="is not callable"):
        runner.run(42, iterations=1)


def test_default_fail_raises_setting_error() -> None:
    with pytest.raises(SettingError, match="users='many'"):
        LoadRunner().run(noop, users="many")
    with pytest.raises(SettingError, match="takes 2 arguments"):
        LoadRunner().run(lambda a, b: None)


def test_several_runs_are_numbered_and_reported() -> None:
    seen: list[LoadResult] = []
    runner = LoadRunner(test_id="t.py::test_x", on_result=seen.append, fail=_fail)
    first = runner.run(noop, users=1, iterations=3)
    second = runner.run(noop, users=1, iterations=3)
    third = runner.run({"a": noop}, users=1, iterations=3)
    assert [r.name for r in runner.results] == ["noop", "noop (run 2)", "a (run 3)"]
    assert runner.results == [first, second, third]
    assert seen == runner.results
    assert {r.test_id for r in seen} == {"t.py::test_x"}
    assert [r.total for r in seen] == [3, 3, 3]


def test_an_interrupted_run_is_recorded_then_re_raised() -> None:
    seen: list[LoadResult] = []
    calls = itertools.count()

    def interrupts() -> None:
        if next(calls) == 2:
            raise KeyboardInterrupt

    runner = LoadRunner(on_result=seen.append, fail=_fail)
    with pytest.raises(KeyboardInterrupt):
        runner.run(interrupts, users=1, duration=30)
    assert len(seen) == 1
    assert seen[0].interrupted
    assert seen[0].total == 2
    assert runner.results == seen
