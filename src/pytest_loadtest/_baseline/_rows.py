"""The comparison table: one row per compared test and operation, a delta per reported metric."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, final

from pytest_loadtest._baseline._checks import format_change
from pytest_loadtest._baseline._entry import EntryKey
from pytest_loadtest._baseline._noise import Noise
from pytest_loadtest._model._metrics import METRICS
from pytest_loadtest._model._text import operation_label

__all__ = ["REPORTED", "Delta", "Row", "table_lines"]

#: Metrics shown for every compared test and operation.
REPORTED: Final = ("p50", "p95", "p99", "throughput", "error_rate")


@final
@dataclass(frozen=True, slots=True)
class Delta:
    """One metric of one row: baseline and current figure, and whether they differ beyond noise.

    Latencies are ms, throughput calls/s, error rates fractions.
    """

    metric: str
    baseline: float
    current: float
    noise: Noise

    @property
    def change(self) -> float:
        """Relative change (0.1 = +10%) for latency and throughput; for the error rate, the
        difference of the rates (0.005 = +0.5 points)."""
        if METRICS[self.metric].is_fraction:
            return self.current - self.baseline
        if self.baseline == 0:
            return 0.0 if self.current == 0 else math.inf
        return (self.current - self.baseline) / self.baseline

    def text(self) -> str:
        """``1.20ms -> 1.25ms +4.2%``; a ``*`` marks a change beyond sampling noise."""
        metric = METRICS[self.metric]
        change = format_change(metric, self.baseline, self.current, relative=True)
        star = "*" if self.noise.significant else ""
        return (
            f"{metric.format_short(self.baseline)} -> {metric.format_short(self.current)} "
            f"{change.replace(' points', 'pp')}{star}"
        )


@final
@dataclass(frozen=True, slots=True)
class Row:
    """A compared test and operation (``key.operation`` ``None``: all calls of the run)."""

    key: EntryKey
    kind: str
    baseline_calls: int
    current_calls: int
    deltas: tuple[Delta, ...]

    def delta(self, metric: str) -> Delta:
        """The delta of ``metric`` (``KeyError`` when it is not in :data:`REPORTED`)."""
        for delta in self.deltas:
            if delta.metric == metric:
                return delta
        raise KeyError(metric)


def table_lines(rows: Sequence[Row]) -> list[str]:
    """The comparison table: a header, then one line per row (operations indented)."""
    header = ["test / operation", *(METRICS[metric].title for metric in REPORTED)]
    table = [header]
    for row in rows:
        if row.key.operation is None:
            label = row.key.label()
        else:
            label = f"  {operation_label(row.key.operation, row.kind)}"
        table.append([label, *(delta.text() for delta in row.deltas)])
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    out = []
    for line in table:
        cells = [cell.rjust(w) for cell, w in zip(line[1:], widths[1:], strict=True)]
        out.append("  ".join([line[0].ljust(widths[0]), *cells]).rstrip())
    return out
