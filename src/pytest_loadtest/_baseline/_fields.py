"""Checks of the values read from a saved run: a corrupt file is refused with the field named,
never used (a negative duration, ``1e400`` calls or a NaN would otherwise flow into every
comparison) and never allowed to crash or hang the session."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "MAX_DEPTH",
    "count_field",
    "count_value",
    "depth_problem",
    "positive_field",
    "text_field",
]

#: pytest-benchmark's and our run files nest five levels; deeper is not a run file, and
#: walking it (``repr``, ``==``) would recurse without bound.
MAX_DEPTH: Final = 32
_MAX_COUNT: Final = 2**63 - 1


def _show(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, Mapping | list):
        return f"a {type(value).__name__}"
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "\u2026"


def count_field(data: Mapping[str, Any], key: str, *, most: int = _MAX_COUNT) -> int:
    """``data[key]``: an integer in ``0..most``, else ``ValueError`` naming ``key``."""
    value = data[key]
    return count_value(value, key, most=most)


def count_value(value: object, name: str, *, most: int = _MAX_COUNT) -> int:
    """``value`` as a count in ``0..most``, else ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"field {name!r} is {_show(value)}, not a whole number")
    if value < 0:
        raise ValueError(f"field {name!r} = {_show(value)} is negative")
    if value > most:
        raise ValueError(f"field {name!r} = {_show(value)} is above {most}")
    return value


def positive_field(data: Mapping[str, Any], key: str, default: float | None = None) -> float:
    """``data[key]`` (or ``default`` when absent): a finite number above 0, else
    ``ValueError`` naming ``key`` (a duration or window of 0 would divide by zero)."""
    value = data[key] if default is None or key in data else default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"field {key!r} is {_show(value)}, not a number")
    number = float(value) if not isinstance(value, int) or abs(value) < 10**300 else math.inf
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"field {key!r} = {_show(value)}: must be a finite number above 0")
    return number


def text_field(data: Mapping[str, Any], key: str, default: str | None = None) -> str:
    """``data[key]`` (or ``default`` when absent) as text, else ``ValueError`` naming ``key``."""
    value = data[key] if default is None or key in data else default
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} is {_show(value)}, not text")
    return value


def depth_problem(document: object) -> str:
    """Where ``document`` nests deeper than :data:`MAX_DEPTH`, or ``""``; iterative, so it
    cannot itself run out of stack."""
    stack: list[tuple[object, int]] = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nests deeper than {MAX_DEPTH} levels"
        if isinstance(node, Mapping):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return ""
