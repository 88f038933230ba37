"""Running the detectors: :func:`detect`, the default rules and user-tuned thresholds.

A rule is any object with a ``name`` and ``check(facts) -> list[Finding]``
(:class:`Rule`). The built-in ones are frozen dataclasses whose fields are their thresholds, so
``build_rules({"n_plus_one": {"per_call": 3}, "cpu_bound": False})`` tunes one and turns another
off; unknown rule or threshold names are errors naming what exists.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol

from pytest_loadtest._model._finding import Finding
from pytest_loadtest._monitor._db_rules import MissingIndex, NPlusOne, PoolSaturation, SlowStatement
from pytest_loadtest._monitor._facts import RunFacts
from pytest_loadtest._monitor._loop_rules import EventLoopBlocked
from pytest_loadtest._monitor._process_rules import CpuBound, MemorySpike, SoakLeak

__all__ = ["DEFAULT_RULES", "Rule", "build_rules", "detect"]


class Rule(Protocol):
    """A detector: looks at a run and reports what it finds."""

    @property
    def name(self) -> str:
        """Its key in the settings (``"n_plus_one"``) and the ``kind`` of its findings."""
        ...

    def check(self, facts: RunFacts) -> list[Finding]:
        """The findings of this rule for the run (empty when all is well)."""
        ...


#: The built-in rules with their default thresholds, in report order.
DEFAULT_RULES: Final[tuple[Rule, ...]] = (
    SlowStatement(),
    MissingIndex(),
    NPlusOne(),
    PoolSaturation(),
    EventLoopBlocked(),
    CpuBound(),
    MemorySpike(),
    SoakLeak(),
)


def _tuned(rule: Rule, overrides: Mapping[str, Any]) -> Rule:
    fields = {f.name: f for f in dataclasses.fields(rule)}  # type: ignore[arg-type]
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise ValueError(f"detector {rule.name!r} has no threshold {key!r} (known: {known})")
        default = getattr(rule, key)
        try:
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise TypeError
                changes[key] = value
            elif isinstance(default, int):
                if isinstance(value, bool) or int(value) != value or abs(int(value)) > 10**15:
                    raise TypeError
                changes[key] = int(value)
            else:
                if isinstance(value, bool) or not math.isfinite(float(value)):
                    raise TypeError  # inf or nan would turn a detector silently off (or on)
                changes[key] = float(value)
        except (TypeError, ValueError, OverflowError):
            expected = {bool: "true or false", int: "a whole number"}.get(type(default), "a number")
            raise ValueError(
                f"detector {rule.name!r}: threshold {key!r} must be {expected}, "
                f"got {repr(value)[:60]} (finite, and at most 10**15 for a whole number)"
            ) from None
    replaced: Rule = dataclasses.replace(rule, **changes)  # type: ignore[type-var]
    return replaced


def build_rules(
    config: Mapping[str, bool | Mapping[str, Any]] | None = None,
    *,
    rules: Sequence[Rule] = DEFAULT_RULES,
) -> list[Rule]:
    """The rules to run: ``rules`` with ``config`` applied.

    ``config`` maps a rule name to ``False`` (off), ``True`` (defaults) or a mapping of
    threshold overrides. ``ValueError`` for an unknown name or a threshold of the wrong type.
    """
    by_name = {rule.name: rule for rule in rules}
    config = config or {}
    for name in config:
        if name not in by_name:
            raise ValueError(f"unknown detector {name!r} (known: {', '.join(sorted(by_name))})")
    out = []
    for rule in rules:
        setting = config.get(rule.name, True)
        if setting is False:
            continue
        if isinstance(setting, Mapping):
            rule = _tuned(rule, setting)
        elif setting is not True:
            raise ValueError(
                f"detector {rule.name!r}: expected true, false or a mapping of thresholds, "
                f"got {setting!r}"
            )
        out.append(rule)
    return out


def detect(facts: RunFacts, rules: Sequence[Rule] | None = None) -> list[Finding]:
    """Run ``rules`` (the defaults when ``None``) over a run; findings in rule order.

    A statement reported as slow whose plan shows the missing index is reported once, as the
    slow statement recommending that index.
    """
    findings: list[Finding] = []
    for rule in DEFAULT_RULES if rules is None else rules:
        findings.extend(rule.check(facts))
    slow_with_index = {
        (f.data.get("database"), f.data.get("sql"))
        for f in findings
        if f.kind == SlowStatement.name and f.data.get("indexes")
    }
    return [
        f
        for f in findings
        if not (
            f.kind == MissingIndex.name
            and (f.data.get("database"), f.data.get("sql")) in slow_with_index
        )
    ]
