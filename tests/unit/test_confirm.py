"""``confirm``: the pieces that do not need pytest (the plugin's re-runs: tests/plugin)."""

from __future__ import annotations

import pytest

from pytest_loadtest import Scenario
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._report._terminal import attempts_text, failure_message, summary_lines
from pytest_loadtest._runner import LoadRunner
from pytest_loadtest._settings._layers import SettingError
from pytest_loadtest._settings._parsers import parse_confirm

SLA = {"error_rate": "1%"}


def broken() -> None:
    raise ConnectionError("the machine is busy")


def run(target: object, **settings: object) -> LoadResult:
    return LoadRunner(test_id="t.py::test_x").run(
        target, users=1, iterations=4, sla=SLA, **settings
    )


def test_attempt_is_the_run_in_brief() -> None:
    attempt = run(broken).attempt()
    assert attempt["calls"] == 4
    assert attempt["error_rate"] == 1.0
    assert attempt["breaches"] == [
        "error_rate of all operations was 100.00%, above the limit 1.00%"
    ]
    assert run(lambda: None).attempt()["breaches"] == []


def test_a_breach_not_confirmed_is_noted_as_noise() -> None:
    result = run(lambda: None)
    result.attempts = [run(broken).attempt()]
    result.settings["confirm"] = 2
    note = "\n".join(summary_lines([result]))
    assert "breached its SLA on 1 of 2 runs of the test and passed on the last (confirm=2)" in note
    assert "taken as noise; first: error_rate of all operations was 100.00%" in note


def test_a_confirmed_breach_says_so_in_the_failure() -> None:
    result = run(broken)
    result.attempts = [run(broken).attempt(), run(broken).attempt()]
    result.settings["confirm"] = 2
    message = failure_message([result])
    assert "breached its SLA on each of its 3 runs of the test (confirm=2: confirmed)" in message
    assert message.count("error_rate of all operations") == 2  # the first run's, the last's


def test_an_earlier_run_that_held_its_sla_is_not_a_breach() -> None:
    result = run(broken)
    result.attempts = [run(lambda: None).attempt()]
    assert attempts_text(result) == ""  # another run of the test was what breached before
    result.attempts.append(run(broken).attempt())
    assert "breached its SLA on 2 of 3 runs of the test" in attempts_text(result)


def test_attempts_survive_the_round_trip() -> None:
    result = run(lambda: None)
    result.attempts = [run(broken).attempt()]
    again = LoadResult.from_dict(result.to_dict())
    assert again.attempts == result.attempts


@pytest.mark.parametrize(
    ("text", "value"), [(None, 0), ("", 0), ("0", 0), (0, 0), ("3", 3), (10, 10)]
)
def test_confirm_parses(text: object, value: int) -> None:
    assert parse_confirm(text) == value


@pytest.mark.parametrize("bad", [-1, 11, "many", 1.5, True, float("nan")])
def test_bad_confirm_is_refused_naming_the_value(bad: object) -> None:
    with pytest.raises(ValueError, match="confirm"):
        LoadRunner(layers_below=[("marker", {"confirm": bad})]).run(lambda: None, iterations=1)


def test_confirm_is_not_a_run_argument() -> None:
    with pytest.raises(SettingError, match=r"run\(\) argument: confirm is set per test"):
        LoadRunner().run(lambda: None, confirm=1, iterations=1)


def test_confirm_is_not_a_scenario_setting() -> None:
    scenario = Scenario("black_friday")
    scenario.task(lambda: None)
    scenario.settings = {"confirm": 1}
    with pytest.raises(SettingError, match="scenario 'black_friday': confirm is set per test"):
        LoadRunner().run(scenario, iterations=1)
