"""The record of a run: plain, serialisable, and mergeable exactly.

A :class:`RunRecord` is what the engine measured, before any judging: per operation its histogram
of measured calls, its counters, errors by type and timeline rows; the overall timeline; and the
run's own figures (hung calls, idle users, the driver's figures, an abort). ``to_dict()`` is JSON
(histograms HDR-encoded, :meth:`~pytest_loadtest._model._stats.LatencyHistogram.to_dict`) and
``from_dict()`` rebuilds it. :meth:`RunRecord.merge` adds records of the same plan made in several
places (processes, hosts) into one: histograms added, counts summed, errors by type merged, and
timeline windows aligned by their start; a window's percentiles are exact when every record kept
its windows' histograms (``Recorder(exact_windows=True)``), else the highest of the parts'.
:func:`~pytest_loadtest._engine._build.build_result` turns a record into a ``LoadResult``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, final

from pytest_loadtest._engine._driver import DriverFigures
from pytest_loadtest._engine._recorder import TIMELINE_PERCENTILES, OperationRecord, Recorder
from pytest_loadtest._model._abort import Abort
from pytest_loadtest._model._loop import LoopHealth
from pytest_loadtest._model._metrics import NS
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._model._timeline import ErrorSample, TimelineRow

__all__ = ["RunRecord"]

#: Version of the ``to_dict()`` layout.
RECORD_VERSION = 1


@final
@dataclass(eq=False)
class RunRecord:
    """What one run (or several merged) recorded; see the module docstring.

    ``start_ns``/``end_ns``/``warmup_end_ns`` are on the recording clock; ``duration`` is the
    measured time in seconds (after warm-up); ``window`` the timeline's window in seconds.
    ``windows``: per operation name, per window index, the sparse histogram of its calls, when
    kept.
    """

    name: str
    window: float
    duration: float
    started_at: float  # wall-clock time.time() at the start
    operations: list[OperationRecord]
    timeline: list[TimelineRow]
    figures: DriverFigures = field(default_factory=DriverFigures)
    late_calls: int = 0
    hung: dict[str, int] = field(default_factory=dict)
    idle_users: int = 0
    interrupted: bool = False
    cpu_utilisation: float = 0.0
    aborted: Abort | None = None
    stopped_by: str = ""  # what stopped the run early other than Ctrl-C or an abort
    windows: dict[str, dict[int, dict[str, object]]] | None = None

    @classmethod
    def from_recorder(cls, recorder: Recorder, **figures: Any) -> RunRecord:
        """The record of a finished recorder, with the run's ``figures`` (the other fields)."""
        kept = recorder.window_histograms
        windows = None
        if kept is not None:
            windows = {recorder.operations[op].name: dict(per) for op, per in kept.items()}
        return cls(
            operations=list(recorder.operations),
            timeline=list(recorder.timeline),
            late_calls=recorder.late_calls,
            window=recorder.window_ns / NS,
            windows=windows,
            **figures,
        )

    # -- merging ---------------------------------------------------------------------------------
    @classmethod
    def merge(cls, records: Sequence[RunRecord]) -> RunRecord:
        """One record of several of the same plan, measured at the same time; see the module
        docstring. ``ValueError`` for no record or records of different windows."""
        if not records:
            raise ValueError("no record to merge")
        first = records[0]
        if any(r.window != first.window for r in records):
            raise ValueError("records with different timeline windows cannot be merged")
        operations: dict[str, OperationRecord] = {}
        for record in records:
            for op in record.operations:
                into = operations.get(op.name)
                if into is None:
                    into = operations[op.name] = OperationRecord(op.name, op.kind, op.parent)
                _merge_operation(into, op)
        exact = all(r.windows is not None for r in records)
        windows = _merge_windows(records) if exact else None
        for name, op in operations.items():
            op.timeline = _merge_rows(
                [
                    row
                    for r in records
                    for o in r.operations
                    if o.name == name
                    for row in o.timeline
                ],
                None if windows is None else [windows.get(name, {})],
                first.window,
            )
        task_windows = (
            None
            if windows is None
            else [windows.get(op.name, {}) for op in operations.values() if op.kind == "task"]
        )
        return cls(
            name=first.name,
            window=first.window,
            duration=max(r.duration for r in records),
            started_at=min(r.started_at for r in records),
            operations=list(operations.values()),
            timeline=_merge_rows(
                [row for r in records for row in r.timeline], task_windows, first.window
            ),
            figures=_merge_figures([r.figures for r in records]),
            late_calls=sum(r.late_calls for r in records),
            hung=_sum_counts([r.hung for r in records]),
            idle_users=sum(r.idle_users for r in records),
            interrupted=any(r.interrupted for r in records),
            cpu_utilisation=max(r.cpu_utilisation for r in records),  # each process its own GIL
            aborted=next((r.aborted for r in records if r.aborted is not None), None),
            stopped_by=next((r.stopped_by for r in records if r.stopped_by), ""),
            windows=windows,
        )

    # -- serialising -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        figures = self.figures
        return {
            "record_version": RECORD_VERSION,
            "name": self.name,
            "window": self.window,
            "duration": self.duration,
            "started_at": self.started_at,
            "operations": [_operation_dict(op) for op in self.operations],
            "timeline": [row.to_dict() for row in self.timeline],
            "figures": {
                "peak_active": figures.peak_active,
                "scheduled": figures.scheduled,
                "dropped": figures.dropped,
                "dropped_by_window": {str(k): v for k, v in figures.dropped_by_window.items()},
                "corrected": figures.corrected,
                "threads": figures.threads,
                "loop": figures.loop.to_dict() if figures.loop else None,
            },
            "late_calls": self.late_calls,
            "hung": dict(self.hung),
            "idle_users": self.idle_users,
            "interrupted": self.interrupted,
            "cpu_utilisation": self.cpu_utilisation,
            "aborted": self.aborted.to_dict() if self.aborted else None,
            "stopped_by": self.stopped_by,
            "windows": None
            if self.windows is None
            else {
                name: {str(w): hist for w, hist in per.items()}
                for name, per in self.windows.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """Inverse of :meth:`to_dict`; ``ValueError`` for another layout."""
        if data.get("record_version") != RECORD_VERSION:
            raise ValueError(f"unsupported run record version {data.get('record_version')!r}")
        figures = data["figures"]
        windows = data.get("windows")
        return cls(
            name=str(data["name"]),
            window=float(data["window"]),
            duration=float(data["duration"]),
            started_at=float(data["started_at"]),
            operations=[_operation_from(op) for op in data["operations"]],
            timeline=[TimelineRow.from_dict(row) for row in data["timeline"]],
            figures=DriverFigures(
                peak_active=int(figures["peak_active"]),
                scheduled=int(figures["scheduled"]),
                dropped=int(figures["dropped"]),
                dropped_by_window={int(k): int(v) for k, v in figures["dropped_by_window"].items()},
                corrected=bool(figures["corrected"]),
                threads=int(figures.get("threads", 0)),
                loop=LoopHealth.from_dict(figures["loop"]) if figures.get("loop") else None,
            ),
            late_calls=int(data["late_calls"]),
            hung={str(k): int(v) for k, v in data["hung"].items()},
            idle_users=int(data["idle_users"]),
            interrupted=bool(data["interrupted"]),
            cpu_utilisation=float(data["cpu_utilisation"]),
            aborted=Abort.from_dict(data["aborted"]) if data.get("aborted") else None,
            stopped_by=str(data.get("stopped_by", "")),
            windows=None
            if windows is None
            else {
                str(name): {int(w): dict(h) for w, h in per.items()}
                for name, per in windows.items()
            },
        )


def _operation_dict(op: OperationRecord) -> dict[str, Any]:
    return {
        "name": op.name,
        "kind": op.kind,
        "parent": op.parent,
        "histogram": op.histogram.to_dict(),
        "errors": op.errors,
        "warmup_calls": op.warmup_calls,
        "errors_by_type": {k: v.to_dict() for k, v in op.errors_by_type.items()},
        "timeline": [row.to_dict() for row in op.timeline],
    }


def _operation_from(data: Mapping[str, Any]) -> OperationRecord:
    return OperationRecord(
        name=str(data["name"]),
        kind=str(data["kind"]),
        parent=None if data.get("parent") is None else str(data["parent"]),
        histogram=LatencyHistogram.from_dict(data["histogram"]),
        errors=int(data["errors"]),
        warmup_calls=int(data["warmup_calls"]),
        errors_by_type={
            str(k): ErrorSample(
                str(v["type"]), int(v["count"]), str(v["message"]), str(v["traceback"])
            )
            for k, v in data["errors_by_type"].items()
        },
        timeline=[TimelineRow.from_dict(row) for row in data["timeline"]],
    )


def _rows_of(records: Sequence[RunRecord], name: str) -> list[TimelineRow]:
    return [row for r in records for op in r.operations if op.name == name for row in op.timeline]


def _merge_operation(into: OperationRecord, op: OperationRecord) -> None:
    into.histogram.add(op.histogram)
    into.errors += op.errors
    into.warmup_calls += op.warmup_calls
    for type_name, sample in op.errors_by_type.items():
        merged = into.errors_by_type.setdefault(type_name, ErrorSample(type_name))
        merged.count += sample.count
        if not merged.message and not merged.traceback:
            merged.message, merged.traceback = sample.message, sample.traceback


def _merge_windows(records: Sequence[RunRecord]) -> dict[str, dict[int, dict[str, object]]]:
    merged: dict[str, dict[int, LatencyHistogram]] = {}
    for record in records:
        for name, per in (record.windows or {}).items():
            into = merged.setdefault(name, {})
            for window, sparse in per.items():
                hist = into.setdefault(window, LatencyHistogram())
                hist.add(LatencyHistogram.from_sparse(sparse))
    return {name: {w: hist.to_sparse() for w, hist in per.items()} for name, per in merged.items()}


def _merge_rows(
    rows: Sequence[TimelineRow],
    windows: Sequence[Mapping[int, Mapping[str, object]]] | None,
    window: float,
) -> list[TimelineRow]:
    """Rows of the same windows added; percentiles from the windows' histograms when given."""
    by_t: dict[float, list[TimelineRow]] = {}
    for row in rows:
        by_t.setdefault(row.t, []).append(row)
    merged = []
    for t in sorted(by_t):
        parts = by_t[t]
        row = TimelineRow(
            t=t,
            calls=sum(p.calls for p in parts),
            errors=sum(p.errors for p in parts),
            users=sum(p.users for p in parts),
            p50=_highest(p.p50 for p in parts),
            p95=_highest(p.p95 for p in parts),
            p99=_highest(p.p99 for p in parts),
            max=_highest(p.max for p in parts),
            warmup=any(p.warmup for p in parts),
            dropped=sum(p.dropped for p in parts),
        )
        if windows is not None:
            hist = LatencyHistogram()
            index = round(t / window)
            for per in windows:
                sparse = per.get(index)
                if sparse is not None:
                    hist.add(LatencyHistogram.from_sparse(sparse))
            row.p50, row.p95, row.p99 = hist.percentiles_ms(TIMELINE_PERCENTILES)
            row.max = hist.max_ms
        merged.append(row)
    return merged


def _highest(values: Any) -> float:
    known = [v for v in values if not math.isnan(v)]
    return max(known) if known else math.nan


def _sum_counts(counts: Sequence[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in counts:
        for key, value in part.items():
            total[key] = total.get(key, 0) + value
    return total


def _merge_figures(figures: Sequence[DriverFigures]) -> DriverFigures:
    dropped_by_window: dict[int, int] = {}
    for part in figures:
        for window, count in part.dropped_by_window.items():
            dropped_by_window[window] = dropped_by_window.get(window, 0) + count
    return DriverFigures(
        peak_active=sum(f.peak_active for f in figures),
        scheduled=sum(f.scheduled for f in figures),
        dropped=sum(f.dropped for f in figures),
        dropped_by_window=dropped_by_window,
        corrected=any(f.corrected for f in figures),
        threads=sum(f.threads for f in figures),
        loop=LoopHealth.merge([f.loop for f in figures if f.loop is not None]),
    )
