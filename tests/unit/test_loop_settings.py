"""The settings of async users' loops: ``loops`` and ``loop`` (issue 13, point 3)."""

from __future__ import annotations

import importlib.util

import pytest

from pytest_loadtest._settings._layers import Layers, SettingError
from pytest_loadtest._settings._parsers import MAX_LOOPS, parse_loop, parse_loops


@pytest.mark.parametrize(
    ("value", "expected"), [(1, 1), ("4", 4), (2.0, 2), (MAX_LOOPS, MAX_LOOPS)]
)
def test_loops_is_a_whole_number_of_at_least_1(value: object, expected: int) -> None:
    assert parse_loops(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "at least 1"),
        (-2, "at least 1"),
        ("two", "not a whole number"),
        (1.5, "whole number"),
        (MAX_LOOPS + 1, "above the limit"),
    ],
)
def test_bad_loops_say_why(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_loops(value)


@pytest.mark.parametrize("value", ["asyncio", " ASYNCIO "])
def test_loop_asyncio(value: str) -> None:
    assert parse_loop(value) == "asyncio"


@pytest.mark.parametrize("value", ["nope", "", 3, None])
def test_loop_names_the_choices(value: object) -> None:
    with pytest.raises(ValueError, match="is not an event loop: choose from asyncio, uvloop"):
        parse_loop(value)


def test_uvloop_not_installed_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real(name, *a)
    )
    with pytest.raises(ValueError, match=r"uvloop is not installed \(pip install"):
        parse_loop("uvloop")


def test_loops_above_1_with_the_open_model_is_an_error_naming_where_it_came_from() -> None:
    layers = Layers(above=(("--load-loops", {"loops": 2}),), below=(("marker", {"rate": 50}),))
    with pytest.raises(SettingError, match=r"loops=2 \(from --load-loops\) spreads a closed"):
        layers.resolve()
    assert Layers(above=(("--load-loops", {"loops": 2}),)).resolve().loops == 2
