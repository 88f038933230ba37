"""Load profiles as pure functions of time: stage parsing, ``Profile`` and ``Arrivals``."""

from __future__ import annotations

import math
import re

import pytest

from pytest_loadtest._model._metrics import NS
from pytest_loadtest._model._shapes import Arrivals, Profile, Stage, format_stages, parse_stages

# -- parse_stages / format_stages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([("30s", 100), ("2m", 100), ("10s", 0)], ((30.0, 100.0), (120.0, 100.0), (10.0, 0.0))),
        ("30s:100,2m:100,10s:0", ((30.0, 100.0), (120.0, 100.0), (10.0, 0.0))),
        (" 500ms : 4 , 1m30s:2.5, ", ((0.5, 4.0), (90.0, 2.5))),
        ([{"duration": "1s", "target": 3}, {"target": 0, "duration": 2}], ((1.0, 3.0), (2.0, 0.0))),
        ([[1, 5], (0.5, "7")], ((1.0, 5.0), (0.5, 7.0))),
        (["1s:5", ("2s", 0)], ((1.0, 5.0), (2.0, 0.0))),
        # a zero-length stage is a jump; only the whole profile must last some time
        ([("0s", 50), ("1s", 50)], ((0.0, 50.0), (1.0, 50.0))),
    ],
)
def test_parse_stages_accepts_pairs_mappings_and_strings(
    value: object, expected: tuple[Stage, ...]
) -> None:
    assert parse_stages(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "no stages given"),
        ([], "no stages given"),
        (" , ", "no stages given"),
        (5, "5 is not a list of (duration, target) stages"),
        (None, "None is not a list"),
        ("10s", "stage 1: '10s' must be a (duration, target) pair"),
        ([("1s", 1, 2)], "stage 1: ('1s', 1, 2) must be a (duration, target) pair"),
        ([("1s", 1), 7], "stage 2: 7 must be a (duration, target) pair"),
        ("10s:-1", "stage 1: target '-1' must be a number >= 0"),
        ("10s:x", "stage 1: target 'x' is not a number"),
        ([("1s", True)], "stage 1: target True is not a number"),
        ([("1s", None)], "stage 1: target None is not a number"),
        ([("1s", math.nan)], "stage 1: target nan must be a number >= 0"),
        ([("1s", math.inf)], "stage 1: target inf must be a number >= 0"),
        ("1s:1,soon:2", "stage 2: 'soon' is not a duration"),
        ("-1s:2", "stage 1:"),
        ([{"duration": 1}], "stage 1: {'duration': 1} must have exactly 'duration' and 'target'"),
        (
            [{"duration": 1, "target": 2, "hold": 3}],
            "must have exactly 'duration' and 'target'",
        ),
        ("0s:5", "'0s:5': the stages last no time at all"),
        ([("0s", 5), (0, 1)], "the stages last no time at all"),
    ],
)
def test_parse_stages_rejects_bad_input_naming_the_stage(value: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        parse_stages(value)


@pytest.mark.parametrize(
    "text", ["30s:100,120s:100,10s:0", "0.5s:2.5,1s:0", "0s:10,3600s:10", "0.001s:1"]
)
def test_format_stages_is_the_inverse_of_parse_stages(text: str) -> None:
    stages = parse_stages(text)
    assert format_stages(stages) == text
    assert parse_stages(format_stages(stages)) == stages


# -- Profile -----------------------------------------------------------------------------------

SPIKE = Profile.from_stages(parse_stages("10s:100,10s:100,5s:0"))


@pytest.mark.parametrize(
    ("t", "value"),
    [
        (-1.0, 0.0),
        (0.0, 0.0),
        (2.5, 25.0),
        (10.0, 100.0),
        (15.0, 100.0),
        (20.0, 100.0),
        (22.5, 50.0),
        (25.0, 0.0),
        (1e9, 0.0),
    ],
)
def test_from_stages_is_linear_between_targets_from_zero(t: float, value: float) -> None:
    assert SPIKE.at(t) == pytest.approx(value)


def test_from_stages_can_start_elsewhere_and_jump() -> None:
    profile = Profile.from_stages([(1.0, 10.0), (0.0, 40.0), (2.0, 40.0)], start=10.0)
    assert profile.times == (0.0, 1.0, 1.0, 3.0)
    assert profile.values == (10.0, 10.0, 40.0, 40.0)
    assert profile.at(0.5) == 10.0
    assert profile.at(1.0) == 40.0  # the jump has happened at its time
    assert profile.at(2.0) == 40.0
    assert (profile.end, profile.peak) == (3.0, 40.0)


def test_a_jump_at_the_start_holds_from_the_start() -> None:
    profile = Profile.from_stages(parse_stages("0s:50,1s:50"))
    assert profile.at(1e-9) == 50.0
    assert profile.at(0.0) == 50.0


@pytest.mark.parametrize(
    ("kwargs", "times", "values"),
    [
        ({"duration": 10.0}, (0.0,), (8.0,)),
        ({"duration": 10.0, "ramp_up": 2.0}, (0.0, 2.0), (0.0, 8.0)),
        ({"duration": 10.0, "ramp_down": 3.0}, (0.0, 7.0, 10.0), (8.0, 8.0, 0.0)),
        (
            {"duration": 10.0, "ramp_up": 2.0, "ramp_down": 3.0},
            (0.0, 2.0, 7.0, 10.0),
            (0.0, 8.0, 8.0, 0.0),
        ),
        # ramps meeting in the middle: straight up, straight down
        (
            {"duration": 10.0, "ramp_up": 5.0, "ramp_down": 5.0},
            (0.0, 5.0, 5.0, 10.0),
            (0.0, 8.0, 8.0, 0.0),
        ),
    ],
)
def test_constant_profile_with_ramps(
    kwargs: dict[str, float], times: tuple[float, ...], values: tuple[float, ...]
) -> None:
    profile = Profile.constant(8.0, **kwargs)
    assert (profile.times, profile.values) == (times, values)
    assert profile.peak == 8.0
    assert profile.describe() == [[t, v] for t, v in zip(times, values, strict=True)]


def test_constant_profile_ramps_are_linear() -> None:
    profile = Profile.constant(8.0, duration=10.0, ramp_up=2.0, ramp_down=4.0)
    assert [profile.at(t) for t in (0.0, 0.5, 1.0, 2.0, 6.0, 7.0, 8.0, 10.0, 11.0)] == [
        pytest.approx(v) for v in (0.0, 2.0, 4.0, 8.0, 8.0, 6.0, 4.0, 0.0, 0.0)
    ]


@pytest.mark.parametrize(
    ("times", "values"),
    [((), ()), ((0.0, 1.0), (1.0,)), ((1.0, 2.0), (1.0, 2.0)), ((0.0, 2.0, 1.0), (1.0, 1.0, 1.0))],
)
def test_profile_rejects_bad_breakpoints(
    times: tuple[float, ...], values: tuple[float, ...]
) -> None:
    with pytest.raises(ValueError, match="profile"):
        Profile(times, values)


@pytest.mark.parametrize(
    ("level", "after", "expected"),
    [
        (0.0, 0.0, 0.0),  # rising from 0 through 0: just after the start
        (50.0, 0.0, 5.0),
        (99.0, 0.0, 9.9),
        (99.5, 12.0, 12.0),  # already above at ``after``
        (50.0, 21.0, 21.0),  # still above on the way down
        (50.0, 23.0, None),  # below from there on
        (100.0, 0.0, None),  # never above the peak
        (-1.0, 30.0, 30.0),  # the held last value exceeds it
    ],
)
def test_first_above(level: float, after: float, expected: float | None) -> None:
    found = SPIKE.first_above(level, after)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert found == pytest.approx(expected, abs=1e-5)
        assert SPIKE.at(found) > level  # the value there exceeds the level, not just equals it


def test_first_above_finds_a_later_rise_and_a_jump() -> None:
    profile = Profile.from_stages(parse_stages("1s:4,1s:0,1s:0,1s:4,0s:10,1s:10"))
    assert profile.first_above(2.0, 1.6) == pytest.approx(3.5)
    assert profile.first_above(5.0) == pytest.approx(4.0)  # the jump from 4 to 10 at 4 s
    assert profile.first_above(5.0, 4.5) == pytest.approx(4.5)


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        ("10s:100,10s:100,5s:0", 25.0),
        ("10s:100,5s:0,20s:0", 15.0),  # the descent ends, the tail does not count
        ("1s:10,1s:50,1s:10,1s:10", 3.0),
        ("1s:100,1s:20,1s:80", 2.0),  # a second rise after the spike
        ("1s:10,1s:50,0s:5,2s:5", 2.0),  # a jump down ends at once
        ("1s:10,1s:50,1s:30,1s:10", 4.0),  # several falling stages form one descent
        ("1s:10,1s:50", None),  # the run ends at the peak
        ("1s:50,5s:50", None),  # the peak is held to the end
        ("2s:0,1s:0,0s:7", None),  # the peak is the last value
    ],
)
def test_spike_end(stages: str, expected: float | None) -> None:
    assert Profile.from_stages(parse_stages(stages)).spike_end() == expected


def test_spike_end_uses_the_first_of_equal_peaks() -> None:
    profile = Profile.from_stages(parse_stages("1s:50,1s:0,1s:50,1s:0"))
    assert profile.spike_end() == 2.0


# -- Arrivals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [1.0, 7.0, 100.0, 2000.0])
def test_constant_rate_is_k_over_r(rate: float) -> None:
    arrivals = Arrivals(Profile.constant(rate, duration=10.0))
    for k in (0, 1, 2, 5, 99, 1000, 123_457):
        assert arrivals.time_of(k) == pytest.approx(k / rate)
        assert arrivals.expected(k / rate) == pytest.approx(k)


def test_linear_ramp_is_solved_exactly() -> None:
    # rate 0 -> 100/s over 10 s: expected(t) = 5 t^2, so iteration k is due at sqrt(k / 5)
    arrivals = Arrivals(Profile.from_stages([(10.0, 100.0)]))
    for k in (0, 1, 5, 20, 80, 320, 499):
        assert arrivals.time_of(k) == pytest.approx(math.sqrt(k / 5), abs=1e-9)
    assert arrivals.expected(10.0) == pytest.approx(500.0)
    # after the last stage the last rate is held
    assert arrivals.time_of(500) == pytest.approx(10.0)
    assert arrivals.time_of(600) == pytest.approx(11.0)


def test_descending_ramp_is_solved_exactly() -> None:
    # 10/s -> 0 over 1 s after one second of rising: 5 arrivals in each second
    arrivals = Arrivals(Profile.from_stages([(1.0, 10.0), (1.0, 0.0)]))
    assert arrivals.expected(2.0) == pytest.approx(10.0)
    # in the falling second expected = 5 + 10 tau - 5 tau^2, so k = 9 at tau = 1 - sqrt(0.2)
    assert arrivals.time_of(9) == pytest.approx(2.0 - math.sqrt(0.2))
    assert arrivals.time_of(10) == math.inf  # the 11th arrival never comes at rate 0
    assert arrivals.due_ns(10, 5) == 2**62


def test_arrivals_skip_zero_rate_stages_and_jumps() -> None:
    # nothing for a second, then a jump to 100/s for a second
    arrivals = Arrivals(Profile.from_stages([(1.0, 0.0), (0.0, 100.0), (1.0, 100.0)]))
    assert arrivals.time_of(0) == pytest.approx(1.0)
    assert arrivals.time_of(1) == pytest.approx(1.01)
    assert arrivals.time_of(99) == pytest.approx(1.99)
    assert arrivals.time_of(150) == pytest.approx(2.5)


@pytest.mark.parametrize(
    "stages",
    ["1s:10,1s:50,2s:50,1s:0,1s:20", "0.5s:3,0s:40,1s:40,3s:0", "3s:1000,1s:1000"],
)
def test_expected_arrivals_at_each_due_time_equal_its_index(stages: str) -> None:
    profile = Profile.from_stages(parse_stages(stages))
    arrivals = Arrivals(profile)
    total = arrivals.expected(profile.end)
    previous = -1.0
    for k in range(int(total)):
        t = arrivals.time_of(k)
        assert t >= previous, k  # due times never go back
        assert arrivals.expected(t) == pytest.approx(k, abs=1e-6), k
        previous = t


def test_due_ns_is_an_absolute_clock_reading() -> None:
    arrivals = Arrivals(Profile.constant(100.0, duration=10.0))
    start = 1_000 * NS
    assert arrivals.due_ns(0, start) == start
    assert arrivals.due_ns(3, start) == start + 30_000_000
    assert arrivals.due_ns(250, start) == start + int(2.5 * NS)
