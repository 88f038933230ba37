"""Parsing and formatting of durations, latencies and rates.

Pure functions: every parser raises ``ValueError`` with a message that quotes the bad value, and
callers add where the value came from.
"""

from __future__ import annotations

import math
import re
from typing import Final

__all__ = [
    "MAX_DURATION",
    "MAX_RATE",
    "MAX_USERS",
    "MIN_RATE",
    "format_bytes",
    "format_latency_ms",
    "format_limit",
    "format_rate",
    "parse_count",
    "parse_duration",
    "parse_fraction",
    "parse_growth_rate",
    "parse_latency_ms",
    "parse_positive_number",
]

_UNIT_SECONDS: Final = {
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
}
#: Longest duration any setting takes (a run, a ramp, a think time, a latency bound): 30 days.
#: Beyond it, clocks in nanoseconds and ``time.sleep`` stop being exact or overflow.
MAX_DURATION: Final = 30 * 86400.0
#: Most virtual users a run may have (``users``, ``max_users``, a stage's target): each is a
#: thread, and far fewer already saturate one interpreter.
MAX_USERS: Final = 100_000
#: Accepted range of an open model's ``rate`` (iterations started per second).
MIN_RATE: Final = 0.001
MAX_RATE: Final = 1_000_000.0
_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(us|µs|ms|min|s|m|h)")
_LATENCY: Final = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(us|µs|ms|s)?\s*$")


def _finite_number(value: object) -> float | None:
    """Return ``value`` as a float when it is a real number (bool excluded), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        raise ValueError(f"{_short(value)} is not a finite number (too large)") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _short(value: object) -> str:
    """``repr(value)``, cut to 60 characters: a 400-digit number is not quoted whole."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


def format_limit(limit: float) -> str:
    """A limit as people write it: ``2,592,000``, ``1,000,000``, ``0.001``."""
    return f"{int(limit):,}" if float(limit).is_integer() else f"{limit:g}"


def _at_most(number: float, limit: float, value: object, unit: str) -> float:
    """``number`` unless it is not finite or above ``limit``: then a ``ValueError``."""
    if not math.isfinite(number):
        raise ValueError(f"{_short(value)} is not a finite number")
    if number > limit:
        raise ValueError(f"{_short(value)} is above the limit of {format_limit(limit)}{unit}")
    return number


def _non_negative_number(value: object, what: str) -> float | None:
    """A number >= 0 as a float; ``None`` for a string (to be parsed further); else an error
    saying the value is not ``what``."""
    number = _finite_number(value)
    if number is not None:
        if number < 0:
            raise ValueError(f"{value!r} is negative")
        return number
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not {what}")
    return None


def parse_duration(value: object) -> float:
    """Parse a duration to seconds.

    Numbers are seconds; strings are a number followed by a unit, or several such parts:
    ``"500ms"``, ``"30s"``, ``"10m"``, ``"1h30m"``, ``"2.5"``.

    >>> parse_duration("1h30m")
    5400.0
    """
    number = _non_negative_number(value, "a duration (a number of seconds or a string like '30s')")
    if number is not None:
        return _at_most(number, MAX_DURATION, value, "s (30 days)")
    assert isinstance(value, str)
    text = value.strip().lower()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise ValueError(f"{_short(value)} is not a finite number")
        return parse_duration(seconds)
    position = 0
    total = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position and text[position : match.start()].strip():
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position == 0 or text[position:].strip():
        raise ValueError(
            f"{_short(value)} is not a duration (use seconds or units us, ms, s, m, h: "
            "'500ms', '1h30m')"
        )
    return _at_most(total, MAX_DURATION, value, "s (30 days)")


def parse_latency_ms(value: object) -> float:
    """Parse a latency threshold to milliseconds: numbers are ms; strings may carry us/ms/s."""
    limit = MAX_DURATION * 1000.0
    number = _non_negative_number(value, "a latency (a number of ms or a string like '250ms')")
    if number is not None:
        return _at_most(number, limit, value, "ms (30 days)")
    assert isinstance(value, str)
    match = _LATENCY.match(value.lower())
    if match is None:
        raise ValueError(
            f"{_short(value)} is not a latency (use ms, or a unit us, ms, s: '250ms', '2s')"
        )
    unit = match.group(2) or "ms"
    ms = float(match.group(1)) * _UNIT_SECONDS[unit] * 1000.0
    return _at_most(ms, limit, value, "ms (30 days)")


def parse_fraction(value: object) -> float:
    """Parse a rate such as an error rate: a fraction ``0.01`` or a percentage string ``"1%"``."""
    number = _finite_number(value)
    if number is None:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a fraction (0.01) or a percentage ('1%')")
        text = value.strip()
        try:
            number = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
        except ValueError:
            raise ValueError(
                f"{_short(value)} is not a fraction (0.01) or a percentage ('1%')"
            ) from None
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{_short(value)} is outside 0..1 (0%..100%)")
    return number


#: Largest number :func:`parse_positive_number` takes (a throughput floor in calls/s).
MAX_NUMBER: Final = 1e12


def parse_positive_number(value: object, limit: float = MAX_NUMBER) -> float:
    """Parse a finite number greater than zero and at most ``limit`` (from a number or a
    numeric string such as ``"100"`` or ``"100/s"``)."""
    number = _finite_number(value)
    if number is None and isinstance(value, str):
        try:
            number = float(value.strip().removesuffix("/s"))
        except ValueError:
            number = None
    if number is None:
        raise ValueError(f"{_short(value)} is not a number")
    if not math.isfinite(number):
        raise ValueError(f"{_short(value)} is not a finite number")
    if number <= 0:
        raise ValueError(f"{_short(value)} must be greater than 0")
    return _at_most(number, limit, value, "")


def parse_count(value: object, limit: int | None = None) -> int:
    """Parse a whole number of at least 1 (users, iterations), and at most ``limit`` if given."""
    original = value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a whole number")
    if isinstance(value, str):
        try:
            value = int(value.strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"{_short(original)} is not a whole number") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"{_short(original)} is not a whole number")
    if value < 1:
        raise ValueError(f"{_short(value)} must be at least 1")
    if limit is not None and value > limit:
        raise ValueError(f"{_short(value)} is above the limit of {limit:,}")
    return value


def format_latency_ms(ms: float | None) -> str:
    """Format milliseconds with an adaptive unit: ``850µs``, ``12.3ms``, ``2.41s``."""
    if ms is None or math.isnan(ms):
        return "-"
    if ms < 1.0:
        return f"{ms * 1000:.0f}µs"
    if ms < 10.0:
        return f"{ms:.2f}ms"
    if ms < 1000.0:
        return f"{ms:.1f}ms"
    return f"{ms / 1000:.2f}s"


def format_rate(per_second: float) -> str:
    """Format a rate compactly: ``0.50``, ``12.3``, ``1,234``."""
    if per_second < 10:
        return f"{per_second:.2f}"
    if per_second < 100:
        return f"{per_second:.1f}"
    return f"{per_second:,.0f}"


def format_bytes(n: float) -> str:
    """``1.2GB``, ``350MB``, ``12KB``: decimal units, as the seed's ``Memory Peak: 1.2GB``."""
    if not math.isfinite(n):
        return "-"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(n) >= size:
            value = n / size
            return f"{value:.1f}{unit}" if abs(value) < 100 else f"{value:.0f}{unit}"
    return f"{n:.0f}B"


MB: Final = 1e6
_BYTES: Final = {
    "b": 1.0,
    "kb": 1e3,
    "mb": 1e6,
    "gb": 1e9,
    "kib": 1024.0,
    "mib": 1024.0**2,
    "gib": 1024.0**3,
}
_PER_HOUR: Final = {
    "s": 3600.0,
    "sec": 3600.0,
    "m": 60.0,
    "min": 60.0,
    "h": 1.0,
    "hr": 1.0,
    "hour": 1.0,
    "d": 1 / 24,
    "day": 1 / 24,
}
_RATE: Final = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([a-z]+)\s*/\s*([a-z]+)\s*$", re.IGNORECASE)


def parse_growth_rate(value: object) -> float:
    """A memory growth rate in MB/hour: ``"50MB/h"``, ``"1GB/day"``, ``"200KB/min"``, or a
    number (already MB/hour). ``ValueError`` for anything else (the SLA key ``memory_growth``)."""
    if isinstance(value, bool):
        raise ValueError(f"not a memory growth rate: {value!r}")
    if isinstance(value, (int, float)):
        finite = _finite_number(value)
        assert finite is not None  # a real number: a float, or an error
        number = finite
    else:
        match = _RATE.match(str(value))
        size = _BYTES.get(match.group(2).lower()) if match else None
        per_hour = _PER_HOUR.get(match.group(3).lower()) if match else None
        if match is None or size is None or per_hour is None:
            raise ValueError(
                f"not a memory growth rate: {value!r} (expected e.g. '50MB/h', '1GB/day')"
            )
        number = float(match.group(1)) * size / MB * per_hour
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(
            f"memory growth rate must be a finite non-negative number, got {_short(value)}"
        )
    return number
