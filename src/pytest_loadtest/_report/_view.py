"""What every report file reads from a result, tolerant of keys that older or newer results lack.

Report writers work on ``LoadResult.to_dict()`` (computed once per result) through these helpers,
so a field the engine adds later (``dropped``, ``aborted``, ...) shows up where it is known and
is simply absent where it is not.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, final

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult

__all__ = [
    "DEFAULT_WINDOW",
    "ResultView",
    "count",
    "number",
    "ordered_operations",
    "verdict",
    "views",
    "window_seconds",
]

#: Timeline window assumed when a timeline has fewer than two rows.
DEFAULT_WINDOW: Final = 1.0


def number(value: object) -> float:
    """``value`` as a float; ``nan`` for ``None``, text and other non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)


def count(value: object) -> int:
    """``value`` as a non-negative int; ``0`` for ``None`` and non-numbers."""
    n = number(value)
    return int(n) if math.isfinite(n) and n > 0 else 0


def window_seconds(rows: Sequence[Mapping[str, Any]]) -> float:
    """Length of one timeline window: the smallest step between consecutive rows."""
    times = sorted({t for row in rows if math.isfinite(t := number(row.get("t")))})
    steps = [b - a for a, b in itertools.pairwise(times) if b - a > 1e-9]
    return min(steps) if steps else DEFAULT_WINDOW


def verdict(data: Mapping[str, Any]) -> str:
    """``"pass"``, ``"fail"`` (a breach) or ``"no SLA"`` (nothing to check, nothing breached)."""
    if data.get("sla_breaches"):
        return "fail"
    return "pass" if data.get("sla") else "no SLA"


def ordered_operations(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Operations of a result dict: tasks each followed by its steps, then hooks, then the rest."""
    ops = [op for op in (data.get("operations") or {}).values() if isinstance(op, dict)]
    ordered: list[dict[str, Any]] = []
    for task in (op for op in ops if op.get("kind") == "task"):
        ordered.append(task)
        ordered.extend(
            op for op in ops if op.get("kind") == "step" and op.get("parent") == task.get("name")
        )
    ordered.extend(op for op in ops if op.get("kind") == "hook" and op not in ordered)
    ordered.extend(op for op in ops if op not in ordered)
    return ordered


@final
@dataclass(frozen=True, slots=True)
class ResultView:
    """One result for the report: its dict, a stable anchor and its display title."""

    index: int
    result: LoadResult
    data: dict[str, Any]

    @property
    def anchor(self) -> str:
        """HTML id of the result's section (never derived from user text)."""
        return f"result-{self.index}"

    @property
    def test_id(self) -> str:
        """The pytest node id, or ``""``."""
        return str(self.data.get("test_id") or "")

    @property
    def name(self) -> str:
        """The run's name (``"<target> (run 2)"`` for a second run in one test)."""
        return str(self.data.get("name") or "")

    @property
    def title(self) -> str:
        """``"<test id> [<name>]"``, or the name alone."""
        return f"{self.test_id} [{self.name}]" if self.test_id else self.name

    @property
    def verdict(self) -> str:
        """See :func:`verdict`."""
        return verdict(self.data)

    @property
    def timeline(self) -> list[dict[str, Any]]:
        """The overall timeline rows."""
        return [row for row in self.data.get("timeline") or [] if isinstance(row, dict)]

    @property
    def window(self) -> float:
        """Timeline window length in seconds."""
        return window_seconds(self.timeline)

    def distribution(self, operation: str | None = None) -> list[tuple[float, float]]:
        """``(percentile, ms)`` pairs of all calls or of one operation; ``[]`` when unknown."""
        stats: object = self.result
        if operation is not None:
            stats = getattr(self.result, "operations", {}).get(operation)
        histogram = getattr(stats, "histogram", None)
        if histogram is None or not getattr(histogram, "count", 0):
            return []
        pairs: list[tuple[float, float]] = histogram.distribution()
        return pairs


def views(results: Sequence[LoadResult]) -> list[ResultView]:
    """One :class:`ResultView` per result, ``to_dict()`` computed once each."""
    return [ResultView(i, result, result.to_dict()) for i, result in enumerate(results)]
