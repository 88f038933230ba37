"""Load profiles as pure functions of time: users (closed model) or arrival rate (open model).

A :class:`Profile` is piecewise linear through breakpoints ``(time, value)`` starting at time 0,
and holds its last value after the last breakpoint. ``stages=[("30s", 100), ("2m", 100),
("10s", 0)]`` starts at 0 and moves linearly to each stage's target over the stage's duration,
like k6's ``ramping-vus``. :class:`Arrivals` turns a rate profile into the intended start time of
every iteration of an open-model run.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, final

from pytest_loadtest._model._metrics import NS
from pytest_loadtest._model._units import MAX_DURATION, format_limit, parse_duration

__all__ = ["Arrivals", "Profile", "Stage", "format_stages", "parse_stages"]

Stage = tuple[float, float]  # (duration in seconds, target at its end)
#: How far past a crossing :meth:`Profile.first_above` answers, so that the value there exceeds it.
_PAST: Final = 1e-6


def _target(value: object, where: str, limit: float) -> float:
    shown = repr(value) if len(repr(value)) <= 60 else f"{repr(value)[:40]}..."
    if isinstance(value, bool):
        raise ValueError(f"{where}: target {shown} is not a number")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{where}: target {shown} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{where}: target {shown} must be a number >= 0")
    if number > limit:
        raise ValueError(f"{where}: target {shown} is above the limit of {format_limit(limit)}")
    return number


def _stage(item: object, number: int, limit: float) -> Stage:
    where = f"stage {number}"
    if isinstance(item, Mapping):
        unknown = set(item) - {"duration", "target"}
        if unknown or "duration" not in item or "target" not in item:
            raise ValueError(f"{where}: {dict(item)!r} must have exactly 'duration' and 'target'")
        duration, target = item["duration"], item["target"]
    elif isinstance(item, str) and ":" in item:
        duration, target = (part.strip() for part in item.rsplit(":", 1))
    elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
        duration, target = item
    else:
        raise ValueError(
            f"{where}: {item!r} must be a (duration, target) pair, "
            "{'duration': ..., 'target': ...} or 'duration:target'"
        )
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return (seconds, _target(target, where, limit))


def parse_stages(value: object, max_target: float = math.inf) -> tuple[Stage, ...]:
    """Parse stages: pairs ``[("30s", 100), ...]``, mappings, or ``"30s:100,2m:100,10s:0"``;
    each target at most ``max_target``, and all of them lasting at most :data:`MAX_DURATION`."""
    if isinstance(value, str):
        items: Sequence[object] = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, Sequence):
        items = value
    else:
        raise ValueError(f"{value!r} is not a list of (duration, target) stages")
    stages = tuple(_stage(item, number, max_target) for number, item in enumerate(items, 1))
    if not stages:
        raise ValueError("no stages given")
    total = sum(duration for duration, _ in stages)
    if total <= 0:
        raise ValueError(f"{value!r}: the stages last no time at all")
    if total > MAX_DURATION:
        raise ValueError(
            f"the stages last {total:g}s, above the limit of "
            f"{format_limit(MAX_DURATION)}s (30 days)"
        )
    return stages


def format_stages(stages: Sequence[Stage]) -> str:
    """Inverse of :func:`parse_stages` for the string form."""
    return ",".join(f"{duration:g}s:{target:g}" for duration, target in stages)


@final
@dataclass(frozen=True, slots=True)
class Profile:
    """A piecewise-linear function of seconds since the start; holds its last value after."""

    times: tuple[float, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.times or len(self.times) != len(self.values) or self.times[0] != 0.0:
            raise ValueError("a profile needs matching breakpoints starting at time 0")
        if any(b < a for a, b in zip(self.times, self.times[1:], strict=False)):
            raise ValueError("profile breakpoints must not go back in time")

    @classmethod
    def constant(
        cls, value: float, *, duration: float, ramp_up: float = 0.0, ramp_down: float = 0.0
    ) -> Profile:
        """``value`` throughout, reached linearly over ``ramp_up`` and left over ``ramp_down``."""
        times, values = [0.0], [0.0 if ramp_up > 0 else value]
        if ramp_up > 0:
            times.append(ramp_up)
            values.append(value)
        if ramp_down > 0:
            times += [max(ramp_up, duration - ramp_down), duration]
            values += [value, 0.0]
        return cls(tuple(times), tuple(values))

    @classmethod
    def from_stages(cls, stages: Sequence[Stage], start: float = 0.0) -> Profile:
        """Start at ``start`` and move linearly to each stage's target over its duration."""
        times, values = [0.0], [start]
        for duration, target in stages:
            times.append(times[-1] + duration)
            values.append(target)
        return cls(tuple(times), tuple(values))

    @property
    def end(self) -> float:
        """Time of the last breakpoint."""
        return self.times[-1]

    @property
    def peak(self) -> float:
        """Highest value."""
        return max(self.values)

    def at(self, t: float) -> float:
        """Value at ``t`` seconds."""
        times, values = self.times, self.values
        if t >= times[-1]:
            return values[-1]
        if t < 0:
            return values[0]
        i = bisect.bisect_right(times, t) - 1  # at a jump, the value after it
        t0, t1 = times[i], times[i + 1]
        return values[i] + (values[i + 1] - values[i]) * (t - t0) / (t1 - t0)

    def first_above(self, level: float, after: float = 0.0) -> float | None:
        """Earliest time from ``after`` on at which the value exceeds ``level``; ``None``: never.

        Where the value rises through ``level``, this is a microsecond past the crossing point
        (at the crossing itself the value only equals ``level``).
        """
        if self.at(after) > level:
            return after
        times, values = self.times, self.values
        for i in range(len(times) - 1):
            t0, t1, v0, v1 = times[i], times[i + 1], values[i], values[i + 1]
            if t1 <= after or v1 <= level:
                continue
            if t1 == t0:  # a jump
                return max(t0, after)
            if v0 > level:
                return max(t0, after)
            crossing = t0 + (level - v0) * (t1 - t0) / (v1 - v0)
            return max(min(crossing + _PAST, t1), after)
        return None

    def spike_end(self) -> float | None:
        """When the descent after the (first) peak ends; ``None`` if the value never falls."""
        peak = self.peak
        i = self.values.index(peak)
        n = len(self.values)
        while i + 1 < n and self.values[i + 1] == peak:
            i += 1  # the plateau at the peak
        if i + 1 >= n:
            return None
        while i + 1 < n and self.values[i + 1] < self.values[i]:
            i += 1
        return self.times[i]

    def describe(self) -> list[list[float]]:
        """Breakpoints as ``[[t, value], ...]`` for reports."""
        return [[t, v] for t, v in zip(self.times, self.values, strict=True)]


@final
class Arrivals:
    """Intended start times of an open-model run whose rate (per second) follows a profile.

    Iteration ``k`` (from 0) is due when the expected number of arrivals so far first exceeds
    ``k``: at a constant rate ``r`` that is ``k / r``. Between breakpoints the cumulative count is
    quadratic in time, solved exactly.
    """

    __slots__ = ("_cumulative", "_profile")

    def __init__(self, rate: Profile) -> None:
        self._profile = rate
        cumulative = [0.0]
        times, values = rate.times, rate.values
        for i in range(len(times) - 1):
            cumulative.append(
                cumulative[-1] + (values[i] + values[i + 1]) / 2 * (times[i + 1] - times[i])
            )
        self._cumulative = tuple(cumulative)

    def expected(self, t: float) -> float:
        """Expected arrivals in ``[0, t]``."""
        times, values, cumulative = self._profile.times, self._profile.values, self._cumulative
        if t >= times[-1]:
            return cumulative[-1] + values[-1] * (t - times[-1])
        i = bisect.bisect_right(times, t) - 1
        tau = t - times[i]
        slope = (values[i + 1] - values[i]) / (times[i + 1] - times[i])
        return cumulative[i] + values[i] * tau + slope * tau * tau / 2

    def time_of(self, k: int) -> float:
        """Seconds after the start at which iteration ``k`` is due; ``inf`` if never."""
        times, values, cumulative = self._profile.times, self._profile.values, self._cumulative
        i = bisect.bisect_right(cumulative, k) - 1
        last = len(times) - 1
        while i < last and times[i + 1] == times[i]:
            i += 1  # zero-length stages (jumps) add nothing
        remaining = k - cumulative[i]
        if i >= last:
            rate = values[-1]
            return times[-1] + remaining / rate if rate > 0 else math.inf
        a = values[i]
        half_slope = (values[i + 1] - a) / (times[i + 1] - times[i]) / 2
        if remaining <= 0:
            return times[i]
        root = math.sqrt(max(0.0, a * a + 4 * half_slope * remaining))
        # 2m / (a + sqrt(a^2 + 4cm)): the stable root of c*tau^2 + a*tau - m = 0
        tau = 2 * remaining / (a + root)
        return min(times[i] + tau, times[i + 1])

    def due_ns(self, k: int, start_ns: int) -> int:
        """:meth:`time_of` as an absolute clock reading; a huge value for never."""
        seconds = self.time_of(k)
        return start_ns + int(seconds * NS) if seconds != math.inf else 2**62
