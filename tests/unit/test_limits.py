"""Issue 12, bad input: finite numbers and documented ceilings in the parsers, checked answers of
a think_time callable, task weights, and scenario files that are not regular files."""

from __future__ import annotations

import math
import os
import random
from pathlib import Path

import pytest

from pytest_loadtest._model._shapes import parse_stages
from pytest_loadtest._model._sla import parse_sla
from pytest_loadtest._model._units import (
    MAX_DURATION,
    parse_count,
    parse_duration,
    parse_fraction,
    parse_growth_rate,
    parse_latency_ms,
    parse_positive_number,
)
from pytest_loadtest._monitor._detectors import build_rules
from pytest_loadtest._scenario._file import MAX_BYTES, ScenarioFileError, read_scenario_file
from pytest_loadtest._scenario._target import TargetError, Task
from pytest_loadtest._settings._parsers import (
    ThinkTime,
    parse_rate,
    parse_seed,
    parse_user_stages,
    parse_users,
)

NOT_FINITE = [math.inf, -math.inf, math.nan, "inf", "nan", "1e400", 10**400, "9" * 400]


@pytest.mark.parametrize("value", NOT_FINITE)
@pytest.mark.parametrize(
    "parse",
    [parse_duration, parse_latency_ms, parse_fraction, parse_positive_number, parse_growth_rate],
)
def test_numbers_that_are_not_finite_are_refused(parse: object, value: object) -> None:
    with pytest.raises(ValueError, match=r"finite|not a|outside|must be"):
        parse(value)  # type: ignore[operator]


def test_duration_ceiling() -> None:
    assert parse_duration(MAX_DURATION) == MAX_DURATION
    with pytest.raises(ValueError, match=r"above the limit of 2,592,000s \(30 days\)"):
        parse_duration(MAX_DURATION + 1)
    with pytest.raises(ValueError, match="above the limit"):
        parse_duration("1000000h")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.inf, "inf is not an integer seed"),
        (1.5, "1.5 is not an integer seed"),
        ("1.5", "'1.5' is not an integer seed"),
        (2**64, "outside the seed range"),
        (True, "True is not an integer seed"),
    ],
)
def test_seeds_are_integers(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_seed(value)


def test_integral_seeds_are_kept() -> None:
    assert parse_seed(42.0) == 42
    assert parse_seed(" 7 ") == 7
    assert parse_seed(-3) == -3


@pytest.mark.parametrize("value", ["nan", "inf", "1e400", 1e-300, 0.0001, 2e6])
def test_rate_range(value: object) -> None:
    with pytest.raises(ValueError, match=r"accepted: 0\.001 to 1,000,000 per second"):
        parse_rate(value)


def test_rate_bounds_are_accepted() -> None:
    assert parse_rate("0.001") == 0.001
    assert parse_rate("1000000/s") == 1e6


def test_user_ceilings() -> None:
    assert parse_users(100_000) == 100_000
    for value in (100_001, 10**7, 1e300, "10000000"):
        with pytest.raises(ValueError, match="above the limit of 100,000"):
            parse_users(value)
    with pytest.raises(ValueError, match="above the limit of 100,000"):
        parse_user_stages("10s:1e300")
    assert parse_count(10**12) == 10**12  # iterations have no ceiling


def test_stages_together_last_at_most_the_longest_duration() -> None:
    with pytest.raises(ValueError, match=r"the stages last .* above the limit"):
        parse_stages([("400h", 1), ("400h", 1)])


def test_sla_with_a_400_digit_threshold() -> None:
    with pytest.raises(ValueError, match=r"SLA p95: '9{39}\.\.\.\(402 characters\)"):
        parse_sla({"p95": "9" * 400})
    with pytest.raises(ValueError, match="not a finite number"):
        parse_sla({"throughput_min": "nan"})


@pytest.mark.parametrize("value", [math.inf, math.nan, 10**400, -math.inf])
def test_detector_thresholds_are_finite(value: object) -> None:
    with pytest.raises(ValueError, match="finite"):
        build_rules({"n_plus_one": {"per_call": value}})
    with pytest.raises(ValueError, match="finite"):
        build_rules({"n_plus_one": {"min_calls": value}})


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("soon", "think_time callable f returned 'soon', not a number of seconds"),
        (None, "returned None, not a number"),
        (math.inf, "returned inf: a think time must be a finite number"),
        (math.nan, "returned nan"),
        (10**400, "returned inf"),
        (MAX_DURATION * 2, "up to 2,592,000"),
    ],
)
def test_think_time_callable_answers_are_checked(answer: object, message: str) -> None:
    def f(vu: object) -> object:
        return answer

    with pytest.raises(ValueError, match=message):
        ThinkTime(func=f).sample(None, random.Random(0))  # type: ignore[arg-type]


def test_think_time_callable_negative_answer_is_no_pause() -> None:
    assert ThinkTime(func=lambda vu: -1).sample(None, random.Random(0)) == 0.0


@pytest.mark.parametrize("weight", [math.inf, math.nan, 10**400, 1e13, -1, 0])
def test_task_weights_are_finite_and_positive(weight: float) -> None:
    with pytest.raises(TargetError, match="weight must be a"):
        Task.of(lambda: None, "a", weight)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "s.toml"
    os.mkfifo(fifo)  # no writer: reading it would wait forever
    with pytest.raises(ScenarioFileError, match="cannot be read: not a regular file"):
        read_scenario_file(fifo, {})


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_is_not_read() -> None:
    with pytest.raises(ScenarioFileError, match="/dev/zero: cannot be read: not a regular file"):
        read_scenario_file("/dev/zero", {})


def test_a_huge_scenario_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text("#" * (MAX_BYTES + 1))
    with pytest.raises(ScenarioFileError, match="larger than 1,000,000 bytes"):
        read_scenario_file(path, {})


def test_deeply_nested_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 50_000 + "]" * 50_000)
    with pytest.raises(ScenarioFileError, match=r"nested too deeply|not valid TOML"):
        read_scenario_file(path, {})


def test_infinite_seed_in_a_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[load]\nseed = inf\n[actions]\na = 1\n")
    with pytest.raises(ScenarioFileError, match=r"invalid seed=inf: inf is not an integer seed"):
        read_scenario_file(path, {"a": lambda: None})


def test_a_nul_in_the_path(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFileError, match="not a usable path"):
        read_scenario_file(f"{tmp_path}/a\0.toml", {})
