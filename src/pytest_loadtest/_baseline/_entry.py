"""The unit a baseline stores and compares: one run's total or one of its operations.

An :class:`Entry` holds what comparing needs and nothing else: the HDR histogram, the error
count, the measured duration, the calls of each full measured window (for throughput noise) and
the load settings (to notice a changed load). The same type is built from a fresh
:class:`~pytest_loadtest.LoadResult` and read back from a saved run, so both sides of a
comparison are alike.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final, final

import numpy as np
import numpy.typing as npt
from hdrh.histogram import HdrHistogram

from pytest_loadtest._model._latency import CallStatsMixin
from pytest_loadtest._model._metrics import METRICS
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._model._timeline import TimelineRow

__all__ = ["Entry", "EntryKey", "Ranks", "entries_from_results", "plugin_version"]

#: Settings kept with each entry: a change between baseline and current run is reported.
LOAD_SETTINGS: Final = (
    "model",
    "users",
    "rate",
    "stages",
    "rate_stages",
    "duration",
    "iterations",
    "ramp_up",
    "ramp_down",
    "think_time",
    "pacing",
    "warmup",
    "max_users",
)


def plugin_version() -> str:
    """The installed pytest-loadtest version (``"unknown"`` from a bare source tree)."""
    try:
        return version("pytest-loadtest")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled checkout
        return "unknown"


@final
@dataclass(frozen=True, slots=True, order=True)
class EntryKey:
    """Which figures an entry holds: a test, one of its runs, and an operation or all calls."""

    test_id: str
    run: str
    operation: str | None = None  # None: every call of the target (the run's top-level figures)

    def label(self) -> str:
        """``tests/t.py::test_x [shop]`` or ``tests/t.py::test_x [shop] browse``."""
        head = f"{self.test_id} [{self.run}]" if self.test_id else f"[{self.run}]"
        return head if self.operation is None else f"{head} {self.operation}"

    def short(self) -> str:
        """The part inside pytest-benchmark's brackets: ``shop`` or ``shop/browse``."""
        return self.run if self.operation is None else f"{self.run}/{self.operation}"


@final
class Ranks:
    """A histogram's calls in ascending order, read bucket by bucket.

    HDR stores each call in a bucket 0.1% wide; a rank therefore maps to the bucket's range
    ``(lowest, highest)`` equivalent value, clamped to the exact min and max.
    """

    __slots__ = ("_cumulative", "_highest", "_lowest", "count")

    def __init__(self, histogram: LatencyHistogram) -> None:
        self.count = histogram.count
        empty: npt.NDArray[np.float64] = np.zeros(0)
        self._lowest, self._highest = empty, empty
        self._cumulative: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        if not self.count:
            return
        encoded = str(histogram.to_dict()["hdr"]).encode("ascii")
        hdr = HdrHistogram.decode(encoded)
        counts = np.ctypeslib.as_array(hdr.counts)[: hdr.counts_len].astype(np.int64)
        indices = np.flatnonzero(counts)
        values = [int(hdr.get_value_from_index(int(i))) for i in indices]
        lo, hi = histogram.min_ns, histogram.max_ns
        self._lowest = np.array(
            [min(max(int(hdr.get_lowest_equivalent_value(v)), lo), hi) / 1e6 for v in values]
        )
        self._highest = np.array(
            [min(max(int(hdr.get_highest_equivalent_value(v)), lo), hi) / 1e6 for v in values]
        )
        self._cumulative = np.cumsum(counts[indices])

    def bucket_at(self, rank: int) -> tuple[float, float]:
        """``(lowest, highest)`` ms of the call at 1-based ``rank`` (clamped to 1..count)."""
        rank = min(max(rank, 1), self.count)
        index = int(np.searchsorted(self._cumulative, rank, side="left"))
        return float(self._lowest[index]), float(self._highest[index])

    def count_above(self, ms: float) -> int:
        """Calls certainly slower than ``ms``: those in buckets lying wholly above it."""
        if not self.count:
            return 0
        first = int(np.searchsorted(self._lowest, ms, side="right"))
        below = int(self._cumulative[first - 1]) if first > 0 else 0
        return self.count - below

    def count_below(self, ms: float) -> int:
        """Calls certainly faster than ``ms``: those in buckets lying wholly below it."""
        if not self.count:
            return 0
        last = int(np.searchsorted(self._highest, ms, side="left"))
        return int(self._cumulative[last - 1]) if last > 0 else 0

    def value_at(self, rank: int) -> float:
        """Representative ms of the call at ``rank`` (its bucket's highest equivalent value)."""
        return self.bucket_at(rank)[1]


@final
@dataclass(eq=False)
class Entry(CallStatsMixin):
    """One run's total, or one operation of it: what is saved, loaded and compared."""

    key: EntryKey
    kind: str  # "total", or the operation's kind: "task", "step" or "hook"
    histogram: LatencyHistogram
    errors: int
    duration: float  # measured seconds
    window: float = 1.0  # seconds per timeline window
    window_calls: tuple[int, ...] = ()  # calls of each full measured window
    load: dict[str, Any] = field(default_factory=dict)
    plugin_version: str = ""
    #: how fast the machine ran (the run's reference time, ms; see ``_monitor._speed``)
    reference_ms: float | None = None
    #: the reference workload's least CPU time, ms: the CPU at its best (``_speed``)
    reference_cpu_ms: float | None = None
    _ranks: Ranks | None = field(default=None, repr=False)

    @property
    def ranks(self) -> Ranks:
        """The calls in order, decoded once on first use."""
        if self._ranks is None:
            self._ranks = Ranks(self.histogram)
        return self._ranks

    def value(self, metric: str) -> float:
        """A figure by metric name: ``p95``, ``mean``, ``max``, ``throughput``, ...
        (``KeyError`` for a name the registry does not know)."""
        return METRICS[metric].read(self)


def _json_safe(value: object) -> object:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _load_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _json_safe(settings[key]) for key in LOAD_SETTINGS if key in settings}


def _full_windows(rows: Iterable[TimelineRow], window: float, end: float) -> tuple[int, ...]:
    """Calls of the measured windows that lie wholly inside the run (the last is often cut)."""
    return tuple(row.calls for row in rows if not row.warmup and row.t + window <= end + 1e-6)


def entries_from_result(result: LoadResult, version: str | None = None) -> list[Entry]:
    """The run's total, then each operation when there are several; ``[]`` for a capacity step.

    A run of a single callable has one operation holding exactly the total's calls, so only the
    total is kept. Operations without a call are left out: there is nothing to compare.
    """
    if result.probe is not None:
        return []  # a find_capacity step: a search, not a measurement of a fixed load
    version = plugin_version() if version is None else version
    load = _load_settings(result.settings)
    end = float(result.settings.get("warmup", 0.0) or 0.0) + result.duration
    window = result.window if result.window > 0 else 1.0

    def make(
        key: EntryKey, kind: str, hist: LatencyHistogram, errors: int, duration: float, rows: Any
    ) -> Entry:
        return Entry(
            key=key,
            kind=kind,
            histogram=hist,
            errors=errors,
            duration=duration,
            window=window,
            window_calls=_full_windows(rows, window, end),
            load=load,
            plugin_version=version,
            reference_ms=result.reference_ms,
            reference_cpu_ms=result.reference_cpu_ms,
        )

    entries = []
    if result.total:
        entries.append(
            make(
                EntryKey(result.test_id, result.name),
                "total",
                result.histogram,
                result.errors,
                result.duration,
                result.timeline,
            )
        )
    if len(result.operations) > 1:
        for name, op in result.operations.items():
            if op.total:
                key = EntryKey(result.test_id, result.name, name)
                entries.append(
                    make(key, op.kind, op.histogram, op.errors, op.duration, op.timeline)
                )
    return entries


def entries_from_results(results: Iterable[LoadResult]) -> list[Entry]:
    """:func:`entries_from_result` of each result, in order."""
    version = plugin_version()
    return [entry for result in results for entry in entries_from_result(result, version)]


def finite(value: float) -> float | None:
    """``value``, or ``None`` when it is not finite (JSON has no NaN)."""
    return value if math.isfinite(value) else None
