"""Lines on runs spread over worker processes (``processes=N``): each worker's part, its start
skew, and any worker lost."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pytest_loadtest._report._escape import name_text, one_line

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult

__all__ = ["worker_lines"]


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
