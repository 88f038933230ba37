"""The breaking-point search: step the load up until the SLA breaks (seed 000's stress test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, final

from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._model._units import MAX_RATE, MAX_USERS, format_rate, parse_duration

__all__ = ["DROPPED_LIMIT", "Capacity", "CapacityStep", "check_search", "step_verdict"]

#: Open model: a step that drops more than this share of its iterations did not hold its rate.
DROPPED_LIMIT: Final = 0.01


def step_verdict(result: LoadResult) -> str:
    """Why a capacity step did not hold (the first reason), or ``""`` when it held."""
    if result.sla_breaches:
        return result.sla_breaches[0].message
    if result.model == "open" and result.scheduled:
        share = result.dropped / result.scheduled
        if share > DROPPED_LIMIT:
            return (
                f"{result.dropped} of {result.scheduled} iterations ({share:.1%}) were dropped: "
                f"all {result.users} users were busy (more than {DROPPED_LIMIT:.0%})"
            )
    return ""


@final
@dataclass(eq=False)
class CapacityStep:
    """One load level of a search: its result, and whether it held."""

    load: float
    result: LoadResult
    reason: str = ""  # why it did not hold; "" when it held

    @property
    def passed(self) -> bool:
        """True when the step met the SLA."""
        return not self.reason


@final
@dataclass(eq=False)
class Capacity:
    """The outcome of :meth:`LoadRunner.find_capacity`.

    ``capacity``: the highest load (users, or iterations/s for ``by="rate"``) that held, ``None``
    if even the first step broke; ``throughput``: calls/s achieved at that load;
    ``breaking_load``: the first load that broke (``None`` if none did up to ``limit``);
    ``reason``: why it broke; ``steps``: every step in order.
    """

    by: str
    steps: list[CapacityStep] = field(default_factory=list)

    @property
    def held(self) -> list[CapacityStep]:
        """Steps that met the SLA (all but possibly the last)."""
        return [s for s in self.steps if s.passed]

    @property
    def capacity(self) -> float | None:
        """Highest load that held."""
        held = self.held
        return held[-1].load if held else None

    @property
    def throughput(self) -> float:
        """Calls per second at :attr:`capacity` (0.0 if nothing held)."""
        held = self.held
        return held[-1].result.throughput if held else 0.0

    @property
    def breaking_load(self) -> float | None:
        """The first load that broke the SLA."""
        broken = [s for s in self.steps if not s.passed]
        return broken[0].load if broken else None

    @property
    def reason(self) -> str:
        """Why the breaking step broke (``""`` if none did)."""
        broken = [s for s in self.steps if not s.passed]
        return broken[0].reason if broken else ""

    def unit(self, load: float | None) -> str:
        """A load with its unit."""
        if load is None:
            return "nothing"
        return f"{load:g} users" if self.by == "users" else f"{format_rate(load)} iterations/s"

    def summary(self, prefix: str = "capacity") -> str:
        """One line: what held, what broke and why."""
        if self.capacity is None:
            held = f"no load held (the first step, {self.unit(self.steps[0].load)}, broke)"
        else:
            held = f"held {self.unit(self.capacity)} at {format_rate(self.throughput)} calls/s"
        if self.breaking_load is None:
            return f"{prefix}: {held}; nothing broke up to the limit"
        return f"{prefix}: {held}; broke at {self.unit(self.breaking_load)}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (step results by name)."""
        return {
            "by": self.by,
            "capacity": self.capacity,
            "throughput": self.throughput,
            "breaking_load": self.breaking_load,
            "reason": self.reason,
            "steps": [
                {"load": s.load, "passed": s.passed, "reason": s.reason, "result": s.result.name}
                for s in self.steps
            ],
        }


def check_search(start: float, step: float, step_duration: object, limit: float, by: str) -> float:
    """The arguments of a capacity search checked; the seconds of a step. ``ValueError`` saying
    which argument is wrong."""
    if by not in ("users", "rate"):
        raise ValueError(f"by={by!r} must be 'users' or 'rate'")
    seconds = parse_duration(step_duration)
    ceiling = MAX_USERS if by == "users" else MAX_RATE
    for name, value in (("start", start), ("step", step), ("limit", limit)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{name}={value!r} must be a number > 0")
        if value != value:
            raise ValueError(f"{name}={value!r} must be a finite number")
        if value > ceiling:
            raise ValueError(f"{name}={value!r} is above the most {by} a run takes ({ceiling:,g})")
    if limit < start:
        raise ValueError(f"limit={limit!r} is below start={start!r}")
    if seconds <= 0:
        raise ValueError(f"step_duration={step_duration!r} is not > 0")
    return seconds
