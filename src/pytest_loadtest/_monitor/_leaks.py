"""Leak evidence: the RSS trend of a soak by least squares, and growing allocation sites.

:func:`rss_trend` fits a line to the RSS samples after a warm-up (caches, pools and allocator
arenas fill up first) and gives the slope in MB/hour with a Student-t confidence interval.
Consecutive RSS samples are not independent (memory moves in steps and stays), so the interval
is narrower than it should be: the detector therefore also asks for a minimum fitted growth in
MB, which short or noisy runs do not reach.

:class:`AllocationTracker` wraps ``tracemalloc``: a snapshot after the warm-up, another at the
end, and the lines whose allocations grew most in between. Tracing slows allocation-heavy code
several-fold, so it runs only when asked (``--load-tracemalloc``).
"""

from __future__ import annotations

import math
import threading
import tracemalloc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, final

import numpy as np

from pytest_loadtest._model._clock import Clock, SystemClock
from pytest_loadtest._model._tdist import t_quantile
from pytest_loadtest._monitor._samples import ResourceSamples

__all__ = [
    "AllocationSite",
    "AllocationTracker",
    "LeakEstimate",
    "merge_allocations",
    "rss_trend",
    "soak_trend",
    "t_quantile",
]

MB: Final = 1e6


@final
@dataclass(frozen=True)
class LeakEstimate:
    """The RSS trend after warm-up: slope and its confidence interval in MB/hour."""

    slope_mb_per_hour: float
    low_mb_per_hour: float
    high_mb_per_hour: float
    confidence: float  # e.g. 0.95
    samples: int
    span_s: float  # seconds covered by the fitted samples
    growth_mb: float  # fitted growth over the span: slope * span
    start_mb: float  # fitted RSS at the first fitted sample

    def exceeds(self, limit_mb_per_hour: float, *, min_growth_mb: float = 0.0) -> bool:
        """Significantly above the limit: the whole interval above it, and at least
        ``min_growth_mb`` of fitted growth (the memory_growth SLA and the leak detector)."""
        return self.low_mb_per_hour > limit_mb_per_hour and self.growth_mb >= min_growth_mb

    def describe(self) -> str:
        """``+120.5 MB/h (95% CI 98.2..142.8, 57 samples over 9.5 min)``."""
        span = f"{self.span_s / 60:.1f} min" if self.span_s >= 120 else f"{self.span_s:.1f} s"
        return (
            f"{self.slope_mb_per_hour:+.1f} MB/h ({self.confidence:.0%} CI "
            f"{self.low_mb_per_hour:.1f}..{self.high_mb_per_hour:.1f}, "
            f"{self.samples} samples over {span})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "slope_mb_per_hour": self.slope_mb_per_hour,
            "low_mb_per_hour": self.low_mb_per_hour,
            "high_mb_per_hour": self.high_mb_per_hour,
            "confidence": self.confidence,
            "samples": self.samples,
            "span_s": self.span_s,
            "growth_mb": self.growth_mb,
            "start_mb": self.start_mb,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeakEstimate:
        """Inverse of :meth:`to_dict`."""
        return cls(
            slope_mb_per_hour=float(data["slope_mb_per_hour"]),
            low_mb_per_hour=float(data["low_mb_per_hour"]),
            high_mb_per_hour=float(data["high_mb_per_hour"]),
            confidence=float(data["confidence"]),
            samples=int(data["samples"]),
            span_s=float(data["span_s"]),
            growth_mb=float(data["growth_mb"]),
            start_mb=float(data["start_mb"]),
        )


def rss_trend(
    times_s: Sequence[float],
    rss_bytes: Sequence[float],
    *,
    warmup_s: float = 0.0,
    confidence: float = 0.95,
) -> LeakEstimate | None:
    """Least-squares RSS slope of the samples at or after ``warmup_s``; ``None`` with fewer
    than 3 such samples or no spread in time (no slope to fit)."""
    if len(times_s) != len(rss_bytes):
        raise ValueError("times and RSS values differ in length")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    x = np.asarray(times_s, dtype=np.float64)
    y = np.asarray(rss_bytes, dtype=np.float64) / MB
    keep = x >= warmup_s
    x, y = x[keep], y[keep]
    n = int(x.size)
    if n < 3:
        return None
    x_mean, y_mean = float(x.mean()), float(y.mean())
    dx = x - x_mean
    sxx = float(np.dot(dx, dx))
    if sxx <= 0:
        return None
    slope = float(np.dot(dx, y - y_mean)) / sxx  # MB per second
    residuals = y - (y_mean + slope * dx)
    variance = float(np.dot(residuals, residuals)) / (n - 2)
    half = t_quantile(0.5 + confidence / 2, n - 2) * math.sqrt(variance / sxx)
    span = float(x.max() - x.min())
    return LeakEstimate(
        slope_mb_per_hour=slope * 3600,
        low_mb_per_hour=(slope - half) * 3600,
        high_mb_per_hour=(slope + half) * 3600,
        confidence=confidence,
        samples=n,
        span_s=span,
        growth_mb=slope * span,
        start_mb=y_mean + slope * (float(x.min()) - x_mean),
    )


def soak_trend(
    resources: ResourceSamples,
    *,
    duration: float,
    warmup_s: float = 0.0,
    warmup_fraction: float = 0.1,
    confidence: float = 0.95,
) -> LeakEstimate | None:
    """The RSS trend of a run's resource samples, after its warm-up but at least
    ``warmup_fraction`` of ``duration``: what the leak detector and the ``memory_growth`` SLA
    both judge (``estimate.exceeds(limit, min_growth_mb=5)``). Samples merged from several
    processes count only where every process sampled (:meth:`ResourceSamples.complete`): a sum
    lacking one process's RSS would bend the line."""
    samples = resources.complete()
    return rss_trend(
        [s.t for s in samples],
        [s.rss_bytes for s in samples],
        warmup_s=max(warmup_s, warmup_fraction * duration),
        confidence=confidence,
    )


@final
@dataclass(frozen=True)
class AllocationSite:
    """A source line whose live allocations grew between two tracemalloc snapshots."""

    file: str
    line: int
    size_diff_bytes: int
    count_diff: int
    size_bytes: int  # live at the end

    @property
    def where(self) -> str:
        """``file:line``."""
        return f"{self.file}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "file": self.file,
            "line": self.line,
            "size_diff_bytes": self.size_diff_bytes,
            "count_diff": self.count_diff,
            "size_bytes": self.size_bytes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AllocationSite:
        """Inverse of :meth:`to_dict`."""
        return cls(
            str(data["file"]),
            int(data["line"]),
            int(data["size_diff_bytes"]),
            int(data["count_diff"]),
            int(data["size_bytes"]),
        )


def merge_allocations(parts: Sequence[Sequence[AllocationSite]]) -> list[AllocationSite]:
    """The growing sites of several processes (each a tracker's list) as one list: sites of one
    ``file:line`` merged, their growth, count growth and live size summed; the largest growth
    first. Each process reports only its own top sites, so a site one process left out of its
    top counts only where it was reported."""
    merged: dict[tuple[str, int], AllocationSite] = {}
    for sites in parts:
        for site in sites:
            key = (site.file, site.line)
            into = merged.get(key)
            merged[key] = (
                site
                if into is None
                else AllocationSite(
                    site.file,
                    site.line,
                    into.size_diff_bytes + site.size_diff_bytes,
                    into.count_diff + site.count_diff,
                    into.size_bytes + site.size_bytes,
                )
            )
    return sorted(merged.values(), key=lambda site: site.size_diff_bytes, reverse=True)


_IGNORED: Final = (tracemalloc.__file__, __file__, "<frozen importlib._bootstrap>", "<unknown>")


@final
class AllocationTracker:
    """Top growing allocation sites by ``file:line`` between the warm-up and the end of a run.

    ``start()`` starts tracemalloc (unless something else already traces; then it is left
    running at ``stop()``) and takes a baseline snapshot, replaced by a new one once
    ``warmup_s`` has passed if the run is still going. ``stop()`` returns up to ``top`` sites
    that grew by at least ``min_bytes``, the largest growth first.
    """

    def __init__(
        self,
        *,
        top: int = 10,
        min_bytes: int = 1,
        warmup_s: float = 0.0,
        frames: int = 1,
        clock: Clock | None = None,
    ) -> None:
        self.top = top
        self.min_bytes = min_bytes
        self.warmup_s = warmup_s
        self.frames = frames
        self._clock = clock if clock is not None else SystemClock()
        self._started_tracing = False
        self._baseline: tracemalloc.Snapshot | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        #: set once the baseline has been retaken after the warm-up
        self.warmed_up = threading.Event()

    def start(self, start_ns: int | None = None) -> None:
        """Start tracing and take the baseline snapshot (again after the warm-up)."""
        if not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)
            self._started_tracing = True
        self._baseline = self._snapshot()
        self._stop.clear()
        self.warmed_up.clear()
        if self.warmup_s > 0:
            self._thread = threading.Thread(
                target=self._after_warmup, name="loadtest-tracemalloc", daemon=True
            )
            self._thread.start()

    def _after_warmup(self) -> None:
        self._clock.sleep(self.warmup_s, self._stop)
        if not self._stop.is_set():
            snapshot = self._snapshot()
            with self._lock:
                if not self._stop.is_set():
                    self._baseline = snapshot
                    self.warmed_up.set()

    def stop(self, end_ns: int | None = None) -> list[AllocationSite]:
        """The sites that grew most since the baseline; stops tracing if ``start()`` began it."""
        with self._lock:
            self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        baseline, self._baseline = self._baseline, None
        if baseline is None:
            raise RuntimeError("the allocation tracker is not running")
        final_snapshot = self._snapshot()
        if self._started_tracing:
            tracemalloc.stop()
            self._started_tracing = False
        sites = []
        for stat in final_snapshot.compare_to(baseline, "lineno"):
            if stat.size_diff < self.min_bytes:
                continue
            frame = stat.traceback[0]
            sites.append(
                AllocationSite(
                    frame.filename, frame.lineno, stat.size_diff, stat.count_diff, stat.size
                )
            )
        sites.sort(key=lambda site: site.size_diff_bytes, reverse=True)
        return sites[: self.top]

    @staticmethod
    def _snapshot() -> tracemalloc.Snapshot:
        return tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, pattern) for pattern in _IGNORED]
        )
