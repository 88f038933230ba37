"""Folding of measured calls into histograms and per-second windows, off the hot path.

Virtual users append one duration per call to a list of their own and, at every tick, hand it
over with :meth:`Recorder.submit` and the time the list was started (its *span start*). Ticks
divide windows evenly and a warm-up end is a boundary too, so all calls of a list started in one
window: attribution to a window is exact without a timestamp per call. A collector thread
calls :meth:`Recorder.drain`, which folds pending lists with numpy into the histogram of their
(operation, window, warm-up or not), and turns windows that can no longer receive calls into
timeline rows, merging their calls into the operation's histogram: each duration is folded once.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, final

import numpy as np

from pytest_loadtest._engine._backlog import (
    BACKLOG_LIMIT,
    RELIEVE_WAIT,
    SPARE_WINDOWS,
    Backpressure,
    Durations,
    Owner,
    as_array,
)
from pytest_loadtest._model._metrics import NS
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._model._timeline import ErrorSample, TimelineRow

__all__ = ["OperationRecord", "Recorder"]

TIMELINE_PERCENTILES: Final = (50.0, 95.0, 99.0)


@final
@dataclass(slots=True)
class OperationRecord:
    """What the recorder knows of one operation (a task, a callable or a step)."""

    name: str
    kind: str  # "task" or "step"
    parent: str | None = None
    histogram: LatencyHistogram = field(default_factory=LatencyHistogram)
    errors: int = 0
    warmup_calls: int = 0
    errors_by_type: dict[str, ErrorSample] = field(default_factory=dict)
    timeline: list[TimelineRow] = field(default_factory=list)


@final
class _Window:
    """Calls of one operation in one window."""

    __slots__ = ("errors", "histogram")

    def __init__(self) -> None:
        self.histogram = LatencyHistogram()
        self.errors = 0

    def merge(self, other: _Window) -> None:
        self.histogram.add(other.histogram)
        self.errors += other.errors

    def clear(self) -> None:
        self.histogram.clear()
        self.errors = 0


@final
class Recorder(Backpressure):
    """Collects chunks from virtual users and folds them; safe to feed from many threads."""

    def __init__(
        self,
        start_ns: int,
        *,
        warmup_end_ns: int | None = None,
        window_ns: int = NS,
        lateness_windows: int = 5,
        active_users: Callable[[], int] = lambda: 0,
        keep_windows: int = 0,
        exact_windows: bool = False,
        backlog_limit: int = BACKLOG_LIMIT,
        relieve_wait: float = RELIEVE_WAIT,
    ) -> None:
        self.start_ns = start_ns
        self.warmup_end_ns = warmup_end_ns if warmup_end_ns is not None else start_ns
        self.window_ns = window_ns
        self.lateness_windows = lateness_windows
        self._active_users = active_users
        self._lock = threading.Lock()
        # one folder at a time: the collector, or a user relieving a backlog (which then waits)
        self._drain_lock = threading.Lock()
        self.backlog_limit = backlog_limit
        self.relieve_wait = relieve_wait
        self._drained = threading.Condition()  # notified after every drain
        self.wanted = threading.Event()  # a user waits for a drain: the collector drains now
        #: a collector thread drains this recorder: users over the limit wait for it rather than
        #: fold themselves (folding on many threads grew each one's heap: ~0.5 MB per thread)
        self.collecting = False
        self.users = 0  # users feeding this recorder (their share of the backlog limit)
        self._pending: deque[tuple[int, int, Durations, Owner | None]] = deque()
        self._pending_lock = threading.Lock()
        self.pending_total = 0  # durations submitted and not folded yet, by every user
        # (span start, {(operation, exception type): count}) from each user's flush
        self._pending_errors: deque[tuple[int, dict[tuple[int, str], int]]] = deque()
        self.operations: list[OperationRecord] = []
        self._index: dict[str, int] = {}
        # window index -> (operation index, warm-up?) -> calls of that window
        self._open: dict[int, dict[tuple[int, bool], _Window]] = {}
        self._window_users: dict[int, int] = {}
        self._finalized_upto = 0  # windows below this index are rows already
        self.timeline: list[TimelineRow] = []
        self.late_calls = 0
        # finalised windows kept for rolling evaluation: (window, {operation: calls})
        self._kept: deque[tuple[int, dict[int, _Window]]] = deque(maxlen=max(keep_windows, 1))
        self._keep = keep_windows > 0
        self._spare: list[_Window] = []
        # operation -> window -> its calls' histogram (sparse): kept when records of several
        # places must merge into timeline rows exactly (see RunRecord.merge)
        self.window_histograms: dict[int, dict[int, dict[str, object]]] | None = (
            {} if exact_windows else None
        )

    # -- registration (rare: once per operation per virtual user) -----------------------------
    def operation(self, name: str, kind: str = "task", parent: str | None = None) -> int:
        """Index of the operation called ``name``, registering it on first use."""
        index = self._index.get(name)
        if index is not None:
            return index
        with self._lock:
            index = self._index.get(name)
            if index is None:
                index = len(self.operations)
                self.operations.append(OperationRecord(name, kind, parent))
                self._index[name] = index
            return index

    def first_error(self, op: int, type_name: str, message: str, traceback: str) -> None:
        """Keep the first message and traceback of an exception type in an operation."""
        with self._lock:
            sample = self.operations[op].errors_by_type.setdefault(
                type_name, ErrorSample(type_name)
            )
            if not sample.message and not sample.traceback:
                sample.message, sample.traceback = message, traceback

    # -- feeding (any thread) -------------------------------------------------------------------
    def submit(
        self, op: int, span_start_ns: int, durations_ns: Durations, owner: Owner | None = None
    ) -> None:
        """Hand over durations of calls of ``op`` that all started at or after ``span_start_ns``
        and in the same window; ``owner.drained`` counts them once folded."""
        with self._pending_lock:  # once per operation per user per tick: not the hot path
            self.pending_total += len(durations_ns)
        self._pending.append((op, span_start_ns, durations_ns, owner))

    def submit_errors(self, span_start_ns: int, counts: dict[tuple[int, str], int]) -> None:
        """Count failed calls that all started in the span from ``span_start_ns`` (one window),
        by ``(operation, exception type)``: a target failing in microseconds costs the
        collector one entry per type, not one per call."""
        self._pending_errors.append((span_start_ns, counts))

    # -- folding (the collector thread) ------------------------------------------------------------
    def window_of(self, t_ns: int) -> int:
        """Window index of a time."""
        return max(0, (t_ns - self.start_ns) // self.window_ns)

    def drain(self, now_ns: int | None = None) -> None:
        """Fold everything pending; finalise windows older than the lateness allowance (when
        ``now_ns`` is given: the collector). Any thread; one at a time, others wait."""
        with self._drain_lock:
            self._drain(now_ns)
        self.drained_once()

    def _drain(self, now_ns: int | None) -> None:
        groups: dict[tuple[int, int, bool], list[Durations]] = {}
        pending = self._pending
        # only what is there now: users keep appending, and a target that fails in
        # microseconds would otherwise keep the collector here for the whole run
        taken = 0
        for _ in range(len(pending)):
            op, span_start, chunk, owner = pending.popleft()
            taken += len(chunk)
            if owner is not None:
                owner.drained += len(chunk)
            key = (op, self.window_of(span_start), self._in_warmup(op, span_start))
            groups.setdefault(key, []).append(chunk)
        for (op, window, warmup), chunks in groups.items():
            values = as_array(chunks)
            self._fold(op, window, warmup, values)
        with self._pending_lock:
            self.pending_total -= taken
        errors = self._pending_errors
        for _ in range(len(errors)):
            start, counts = errors.popleft()
            window = self.window_of(start)
            for (op, type_name), count in counts.items():
                self._count_error(op, window, self._in_warmup(op, start), type_name, count)
        if now_ns is not None:
            current = self.window_of(now_ns)
            users = self._active_users()
            self._window_users[current] = max(self._window_users.get(current, 0), users)
            self._finalize_below(current - self.lateness_windows)

    def _in_warmup(self, op: int, start_ns: int) -> bool:
        """Left out of the statistics? Calls in the warm-up; never a hook's (a user's
        ``on_start`` runs once, mostly then: its failures must still reach the verdict)."""
        return start_ns < self.warmup_end_ns and self.operations[op].kind != "hook"

    def _window(self, op: int, window: int, warmup: bool) -> _Window | None:
        """The open window to add to, or None when it is already a timeline row."""
        if window < self._finalized_upto:
            return None
        per_window = self._open.setdefault(window, {})
        found = per_window.get((op, warmup))
        if found is None:
            found = per_window[(op, warmup)] = self._new_window()
        return found

    def _fold(self, op: int, window: int, warmup: bool, values: np.ndarray) -> None:
        target = self._window(op, window, warmup)
        if target is not None:
            target.histogram.fold_ns(values)
            return
        # Late: the window is a row already. Count the calls there; keep them in the totals.
        record = self.operations[op]
        if warmup:
            record.warmup_calls += int(values.size)
        else:
            record.histogram.fold_ns(values)
        self.late_calls += int(values.size)
        for row in self._late_rows(op, window):
            row.calls += int(values.size)

    def _count_error(
        self, op: int, window: int, warmup: bool, type_name: str, count: int = 1
    ) -> None:
        record = self.operations[op]
        if not warmup:
            record.errors += count
            with self._lock:
                sample = record.errors_by_type.setdefault(type_name, ErrorSample(type_name))
                sample.count += count
        target = self._window(op, window, warmup)
        if target is not None:
            target.errors += count
        else:
            for row in self._late_rows(op, window):
                row.errors += count

    def _late_rows(self, op: int, window: int) -> list[TimelineRow]:
        """Rows that a late call of ``op`` in ``window`` counts in: its own, and for a task the
        overall one."""
        t = window * self.window_ns / NS
        rows = [self._find_row(self.operations[op].timeline, t, window)]
        if self.operations[op].kind == "task":
            rows.append(self._find_row(self.timeline, t, window))
        return rows

    def _find_row(self, rows: list[TimelineRow], t: float, window: int) -> TimelineRow:
        for row in reversed(rows):
            if row.t == t:
                return row
        empty = self._new_window()
        row = self._row(empty, window, self._window_users.get(window, 0))
        self._recycle([empty])
        rows.append(row)
        rows.sort(key=lambda r: r.t)
        return row

    def _row(self, calls: _Window, window: int, users: int) -> TimelineRow:
        hist = calls.histogram
        p50, p95, p99 = hist.percentiles_ms(TIMELINE_PERCENTILES)
        start = self.start_ns + window * self.window_ns
        return TimelineRow(
            t=window * self.window_ns / NS,
            calls=hist.count,
            errors=calls.errors,
            users=users,
            p50=p50,
            p95=p95,
            p99=p99,
            max=hist.max_ms,
            warmup=start < self.warmup_end_ns,
        )

    def _new_window(self) -> _Window:
        """An empty window: a spare one when there is one."""
        return self._spare.pop() if self._spare else _Window()

    def _recycle(self, windows: Iterable[_Window]) -> None:
        """Keep finished windows (emptied) for reuse, up to :data:`SPARE_WINDOWS`."""
        for calls in windows:
            if len(self._spare) >= SPARE_WINDOWS:
                return
            calls.clear()
            self._spare.append(calls)

    def _finalize_below(self, limit: int) -> None:
        for window in range(self._finalized_upto, max(limit, self._finalized_upto)):
            parts = self._open.pop(window, {})
            users = self._window_users.pop(window, 0)
            per_op: dict[int, _Window] = {}
            overall = self._new_window()
            for (op, warmup), calls in parts.items():
                record = self.operations[op]
                if warmup:
                    record.warmup_calls += calls.histogram.count
                else:
                    record.histogram.add(calls.histogram)
                if op in per_op:
                    per_op[op].merge(calls)
                else:
                    per_op[op] = calls
                if record.kind == "task":
                    overall.merge(calls)
            retained: dict[int, _Window] = {}
            if self._keep:
                retained = {op: w for (op, warmup), w in parts.items() if not warmup}
                if len(self._kept) == self._kept.maxlen:
                    self._recycle(self._kept[0][1].values())  # leaves the deque below
                self._kept.append((window, retained))
            kept = self.window_histograms
            for op, calls in per_op.items():
                self.operations[op].timeline.append(self._row(calls, window, users))
                if kept is not None:
                    kept.setdefault(op, {})[window] = calls.histogram.to_sparse()
            self.timeline.append(self._row(overall, window, users))
            kept_ids = {id(w) for w in retained.values()}
            self._recycle([overall, *(w for w in parts.values() if id(w) not in kept_ids)])
        self._finalized_upto = max(self._finalized_upto, limit)

    @property
    def folding(self) -> threading.Lock:
        """Held while calls are folded: hold it to read figures at one instant."""
        return self._drain_lock

    def snapshot(self) -> list[OperationRecord]:
        """Copies of every operation's figures so far, the calls of windows still open included
        (the lateness allowance keeps those out of ``operations`` for a few windows). Hold
        :attr:`folding` around it."""
        copies = []
        for r in list(self.operations):
            histogram = LatencyHistogram()
            histogram.add(r.histogram)
            copy = OperationRecord(r.name, r.kind, r.parent, histogram, r.errors, r.warmup_calls)
            copy.errors_by_type, copy.timeline = dict(r.errors_by_type), list(r.timeline)
            copies.append(copy)
        for per_window in list(self._open.values()):  # only a drain adds windows: held off
            for (op, warmup), calls in list(per_window.items()):
                if not warmup:  # errors are counted as they come; calls when the window closes
                    copies[op].histogram.add(calls.histogram)
        return copies

    def rolling(self, first: int, last: int) -> dict[int, tuple[LatencyHistogram, int]]:
        """Measured calls of windows ``first``..``last`` (inclusive) merged per operation, as
        ``{operation: (histogram, errors)}``; windows must be open or kept."""
        with self._drain_lock:  # a user relieving a backlog may be folding into them
            return self._rolling(first, last)

    def _rolling(self, first: int, last: int) -> dict[int, tuple[LatencyHistogram, int]]:
        merged: dict[int, tuple[LatencyHistogram, int]] = {}

        def add(op: int, calls: _Window) -> None:
            hist, errors = merged.get(op, (None, 0))
            if hist is None:
                hist = LatencyHistogram()
            hist.add(calls.histogram)
            merged[op] = (hist, errors + calls.errors)

        for window, per_op in list(self._kept):
            if first <= window <= last:
                for op, calls in per_op.items():
                    add(op, calls)
        for window in range(max(first, self._finalized_upto), last + 1):
            for (op, warmup), calls in list(self._open.get(window, {}).items()):
                if not warmup:
                    add(op, calls)
        return merged

    def finish(self, end_ns: int) -> None:
        """Fold what is left and finalise every window up to and including ``end_ns``'s."""
        self.drain(end_ns)
        last = max([self.window_of(end_ns), *self._open]) if self._open else self.window_of(end_ns)
        self._finalize_below(last + 1)

    def overall_histogram(self) -> LatencyHistogram:
        """All top-level calls (tasks, not steps) merged."""
        merged = LatencyHistogram()
        for record in self.operations:
            if record.kind == "task":
                merged.add(record.histogram)
        return merged
