"""Lines on load spread over processes: each worker's part of a run (``processes=N``), its
start skew, any worker lost; and load tests that ran at the same time (on pytest-xdist's
workers), whose figures include each other's load."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pytest_loadtest._report._escape import name_text, one_line

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult

__all__ = ["overlap_lines", "worker_lines"]


def worker_lines(results: Sequence[LoadResult]) -> list[str]:
    """For each run with workers: one line of the run, one per worker."""
    lines: list[str] = []
    for result in results:
        if not result.workers:
            continue
        skews = [w["skew_ms"] for w in result.workers if w.get("skew_ms") is not None]
        spread = f", start skew {max(skews) - min(skews):.1f} ms" if len(skews) > 1 else ""
        lines.append(f"{name_text(result.name)}: {len(result.workers)} worker processes{spread}")
        for w in result.workers:
            lost = f"  LOST {one_line(w['lost'], 300)}" if w.get("lost") else ""
            lines.append(
                f"  worker {w['worker']} {one_line(w['place'], 80)} pid {w['pid']}: "
                f"{w['users']} users, {w['calls']:,} calls, {w['errors']:,} errors, "
                f"CPU {w['cpu_s']:.1f}s, RSS {w['rss_mb']:.0f} MB{lost}"
            )
    return lines


def _span(result: LoadResult) -> tuple[float, float]:
    """Wall-clock start and end of a run (its warm-up included)."""
    warmup = float(result.settings.get("warmup") or 0.0)
    return result.started_at, result.started_at + warmup + result.duration


def overlap_lines(results: Sequence[LoadResult]) -> list[str]:
    """A note naming the load tests that ran at the same time, with how to keep them apart.

    One pytest process runs its tests one after another, and pytest-xdist's workers take turns
    for load tests, so runs of different tests overlap only when workers may run load tests
    together (``--load-xdist-parallel``)."""
    pairs: list[tuple[float, str, str]] = []
    ordered = sorted((r for r in results if r.started_at > 0), key=lambda r: r.started_at)
    for i, first in enumerate(ordered):
        _, end = _span(first)
        for second in ordered[i + 1 :]:
            other_start, other_end = _span(second)
            if other_start >= end:
                break
            if second.test_id != first.test_id:
                pairs.append((min(end, other_end) - other_start, first.test_id, second.test_id))
    if not pairs:
        return []
    shown = sorted(pairs, reverse=True)[:5]
    listed = "; ".join(
        f"{name_text(a)} and {name_text(b)} for {seconds:.1f}s" for seconds, a, b in shown
    )
    more = f" (and {len(pairs) - len(shown)} more pairs)" if len(pairs) > len(shown) else ""
    return [
        f"note: load tests ran at the same time (pytest-xdist's workers with "
        f"--load-xdist-parallel, or another session), so each one's figures include the other's "
        f"load: {listed}{more}. Without --load-xdist-parallel, load tests take turns; for more "
        "load than one process gives, spread one test with processes=N."
    ]
