"""Recovery after a spike: how long until the per-window figures were back within bounds."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from pytest_loadtest._model._metrics import METRICS
from pytest_loadtest._model._sla import SLA, SLA_KEYS, Check, parse_sla
from pytest_loadtest._model._timeline import TimelineRow
from pytest_loadtest._model._units import parse_duration

__all__ = ["WINDOW_METRICS", "recovery_record", "recovery_text", "recovery_time"]

#: What a timeline row can be checked for: the SLA keys the registry can read from one window.
WINDOW_METRICS: Final = tuple(name for name in SLA_KEYS if METRICS[name].per_window is not None)


def _spec(own: SLA | None, sla: object) -> SLA:
    if sla is None:
        if own is None:
            raise ValueError(
                "recovery_time() needs bounds: this run has no SLA; give one, e.g. "
                "recovery_time({'p95': '200ms', 'error_rate': '1%'}) or recovery_time(200)"
            )
        return own
    if isinstance(sla, (int, float)) and not isinstance(sla, bool):
        return parse_sla({"p95": sla})
    return parse_sla(sla)


def _ok(check: Check, row: TimelineRow | None, window: float) -> bool:
    if row is None or row.calls == 0:
        return False  # no call in the window: no evidence of recovery
    per_window = check.definition.per_window
    assert per_window is not None  # recovery_time() accepts only WINDOW_METRICS
    measured = per_window(row, window)
    return not math.isnan(measured) and check.passed(measured)


def recovery_time(
    timelines: Mapping[str | None, Sequence[TimelineRow]],
    *,
    window: float,
    spike_end: float | None,
    own_sla: SLA | None,
    sla: object = None,
    after: float | None = None,
    stable: object = "3s",
    operation: str | None = None,
) -> float | None:
    """See :meth:`~pytest_loadtest._model._result.LoadResult.recovery_time`; ``timelines`` are
    the run's rows (key ``None``) and each operation's (by name)."""
    spec = _spec(own_sla, sla)
    for check in spec.checks:
        if check.metric not in WINDOW_METRICS:
            raise ValueError(
                f"recovery_time() checks each {window:g}s window of the timeline, which "
                f"has no {check.metric}; use {', '.join(WINDOW_METRICS)}"
            )
    start = spike_end if after is None else float(after)
    if start is None:
        raise ValueError(
            "this run's profile has no spike (no stage falls after its peak); give the spike's "
            "end as recovery_time(..., after=SECONDS)"
        )
    needed = max(1, math.ceil(parse_duration(stable) / window - 1e-9))
    times = [row.t for row in timelines.get(None, ()) if row.t + window > start]
    rows = {name: {r.t: r for r in rows_} for name, rows_ in timelines.items()}

    def table(check: Check) -> dict[float, TimelineRow]:
        name = check.operation if check.operation is not None else operation
        if name is not None and name not in rows:
            raise ValueError(
                f"no operation {name!r} in this result (have: {sorted(n for n in rows if n)})"
            )
        return rows[name]

    tables = [(check, table(check)) for check in spec.checks]

    def ok_at(t: float) -> bool:
        return all(_ok(check, found.get(t), window) for check, found in tables)

    return _first_stable(times, ok_at, needed, start)


def _first_stable(
    times: Sequence[float], ok_at: Callable[[float], bool], needed: int, start: float
) -> float | None:
    """Time from ``start`` to the first window from which ``needed`` windows in a row are ok;
    a recovery too close to the end of the run to have lasted ``needed`` windows does not count."""
    for i, t in enumerate(times):
        following = times[i : i + needed]
        if len(following) == needed and all(ok_at(u) for u in following):
            return max(0.0, t - start)
    return None


def recovery_record(
    seconds: float | None,
    *,
    own_sla: SLA | None,
    sla: object,
    start: float | None,
    stable: object,
) -> dict[str, Any]:
    """What a result keeps of a :func:`recovery_time` that a test asked for, so that the
    terminal and the report show it: the seconds (``None``: never), from when, within which
    bounds, held how long. JSON-ready."""
    return {
        "seconds": seconds,
        "after": start,
        "stable": parse_duration(stable),
        "bounds": [check.describe() for check in _spec(own_sla, sla).checks],
    }


def recovery_text(record: Mapping[str, Any]) -> str:
    """``recovered 1.0s after the spike ended at 5.0s (p95 <= 500.0ms, held 2s)``, or that it
    did not recover."""
    after = record.get("after")
    bounds = ", ".join(str(b) for b in record.get("bounds") or [])
    stable = record.get("stable")
    held = f", held {stable:g}s" if isinstance(stable, (int, float)) else ""
    when = f"the spike ended at {after:.1f}s" if isinstance(after, (int, float)) else "the spike"
    seconds = record.get("seconds")
    if isinstance(seconds, (int, float)):
        return f"recovered {seconds:.1f}s after {when} ({bounds}{held})"
    return f"did not recover after {when} ({bounds}{held}) before the run ended"
