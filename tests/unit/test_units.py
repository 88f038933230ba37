"""Parsers and formatters of durations, latencies, fractions and counts."""

from __future__ import annotations

import math
import re

import pytest

from pytest_loadtest._model._units import (
    format_latency_ms,
    format_rate,
    parse_count,
    parse_duration,
    parse_fraction,
    parse_latency_ms,
    parse_positive_number,
)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30.0),
        ("10m", 600.0),
        ("10min", 600.0),
        ("1h30m", 5400.0),
        ("1m30s", 90.0),
        ("1h 30m", 5400.0),
        ("250us", 0.00025),
        ("250µs", 0.00025),
        (" 30S ", 30.0),
        ("2.5", 2.5),
        (".5s", 0.5),
        ("0", 0.0),
        (3, 3.0),
        (0.25, 0.25),
    ],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("abc", "'abc'"),
        (-1, "-1"),
        ("5x", "'5x'"),
        ("30s5", "'30s5'"),
        ("1m30", "'1m30'"),
        ("s", "'s'"),
        (True, "True"),
        ("", "''"),
        (None, "None"),
        (float("inf"), "inf"),
        ([1], "[1]"),
    ],
)
def test_parse_duration_rejects_bad_values_quoting_them(value: object, quoted: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(quoted)):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        ("250ms", 250.0),
        ("2s", 2000.0),
        ("500us", 0.5),
        ("500µs", 0.5),
        ("1.5", 1.5),
        (200, 200.0),
        (0.5, 0.5),
        (" 3 MS ", 3.0),
    ],
)
def test_parse_latency_ms(value: object, ms: float) -> None:
    assert parse_latency_ms(value) == pytest.approx(ms, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "quoted"),
    [("fast", "'fast'"), ("1m", "'1m'"), (-5, "-5"), (None, "None"), (False, "False")],
)
def test_parse_latency_ms_rejects_bad_values(value: object, quoted: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(quoted)):
        parse_latency_ms(value)


@pytest.mark.parametrize(
    ("value", "fraction"),
    [("1%", 0.01), (" 2.5% ", 0.025), ("0.05", 0.05), (0.05, 0.05), (0, 0.0), (1, 1.0)],
)
def test_parse_fraction(value: object, fraction: float) -> None:
    assert parse_fraction(value) == pytest.approx(fraction, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("150%", "'150%'"),
        (-0.1, "-0.1"),
        (1.5, "1.5"),
        ("lots", "'lots'"),
        ("%", "'%'"),
        (None, "None"),
        (True, "True"),
    ],
)
def test_parse_fraction_rejects_bad_values(value: object, quoted: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(quoted)):
        parse_fraction(value)


@pytest.mark.parametrize(
    ("value", "count"),
    [(1, 1), (10, 10), ("10", 10), (" 1_000 ", 1000), (3.0, 3)],
)
def test_parse_count(value: object, count: int) -> None:
    parsed = parse_count(value)
    assert parsed == count
    assert type(parsed) is int


@pytest.mark.parametrize(
    ("value", "quoted"),
    [(0, "0"), (-3, "-3"), (2.5, "2.5"), ("ten", "'ten'"), (True, "True"), (None, "None")],
)
def test_parse_count_rejects_bad_values(value: object, quoted: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(quoted)):
        parse_count(value)


@pytest.mark.parametrize(("value", "number"), [(100, 100.0), ("100/s", 100.0), ("0.5", 0.5)])
def test_parse_positive_number(value: object, number: float) -> None:
    assert parse_positive_number(value) == number


@pytest.mark.parametrize("value", [0, -1, "0/s", "many", None, True])
def test_parse_positive_number_rejects(value: object) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        parse_positive_number(value)


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0.85, "850µs"),
        (0.0004, "0µs"),
        (1.0, "1.00ms"),
        (5.0, "5.00ms"),
        (12.34, "12.3ms"),
        (999.0, "999.0ms"),
        (1000.0, "1.00s"),
        (2410.0, "2.41s"),
        (float("nan"), "-"),
        (None, "-"),
    ],
)
def test_format_latency_ms_adapts_its_unit(ms: float | None, text: str) -> None:
    assert format_latency_ms(ms) == text


@pytest.mark.parametrize(
    ("rate", "text"), [(0.5, "0.50"), (12.34, "12.3"), (1234.4, "1,234"), (0.0, "0.00")]
)
def test_format_rate(rate: float, text: str) -> None:
    assert format_rate(rate) == text


def test_parse_duration_of_numeric_string_checks_sign_and_finiteness() -> None:
    with pytest.raises(ValueError, match="negative"):
        parse_duration("-2")
    with pytest.raises(ValueError, match="finite"):
        parse_duration("nan")
    assert math.isclose(parse_duration("1e3"), 1000.0)
