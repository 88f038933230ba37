"""Chart specifications (plain dicts) for one load result, drawn in the page by uPlot.

Each function returns what :func:`~pytest_loadtest._report._layout.chart` builds. The y axes are
scaled to the data, never stretched to an SLA line: a threshold above the data is ``off`` the
chart and drawn as a labelled marker at the top edge. SLA targets are drawn where they apply:
latency targets on the latency chart and as markers on the percentile distribution (one label per
distinct threshold), ``throughput_min`` and ``error_rate`` on the throughput chart.

Per-second series leave out a last window that the run did not fill (a run of 10.4s has a last
window of 0.4s): its few calls would read as a collapse of the rate at the end of every run. The
chart says so in its note.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pytest_loadtest._report._escape import name_text
from pytest_loadtest._report._layout import SLA_COLOR, aligned, chart, series, sla_line, top_of
from pytest_loadtest._report._layout import finite_or_none as _value
from pytest_loadtest._report._layout import warmup_bands as _bands
from pytest_loadtest._report._view import (
    ResultView,
    count,
    latency_text,
    number,
    percent_text,
    rate_text,
    rows_of,
)

__all__ = ["CHART_KINDS", "figures", "full_windows"]

Figure = dict[str, Any]

#: The charts of one result, in page order ("resources" only for runs with a resource monitor).
CHART_KINDS: Final = ("latency", "throughput", "users", "resources", "distribution")
_PERCENTILE_OF: Final = {"p50": 50.0, "p75": 75.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}
_PERCENTILE_OF_MORE: Final = {**_PERCENTILE_OF, "p99.9": 99.9}
_COLORS: Final = {"p50": "#2ca02c", "p95": "#ff7f0e", "p99": "#9467bd", "max": "#7f7f7f"}
_OTHER_COLORS: Final = ("#1f77b4", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f")
_TICKS: Final = (0.0, 50.0, 90.0, 99.0, 99.9, 99.99, 99.999)
_FEW_SAMPLES: Final = 12  # below this many points a line gets markers, so one point still shows


def full_windows(view: ResultView) -> tuple[list[dict[str, Any]], str]:
    """The timeline rows whose window the run filled, and a note naming a left-out last window
    (``""`` when every window is whole)."""
    rows = view.timeline
    if len(rows) < 2:
        return rows, ""
    covered = view.result.duration - number(rows[-1].get("t"))
    if not math.isfinite(covered) or covered >= view.window - 1e-6:
        return rows, ""
    if covered < 1e-3:
        return rows[:-1], "the empty window that closes the run is left out"
    return rows[:-1], (
        f"the last {latency_text(covered * 1000)} of the run, a window shorter than "
        f"{view.window:g}s, is left out of the per-second series"
    )


def latency_figure(view: ResultView) -> Figure:
    """p50, p95 and p99 (and max, hidden) per window, with the latency SLA lines."""
    rows = view.timeline
    xs = [_value(row.get("t")) for row in rows]
    data = [
        series(
            key,
            [_value(row.get(key)) for row in rows],
            _COLORS[key],
            width=1 if key == "max" else 2,
            show=key != "max",
            points=len(rows) < _FEW_SAMPLES,
        )
        for key in ("p50", "p95", "p99", "max")
    ]
    lag = [_value(row.get("loop_lag")) for row in rows]
    if any(value is not None for value in lag):  # async users: the event loop's worst lag
        data.append(series("event loop lag (max)", lag, "#d62728", width=1, dash=True))
    tasks = [op for op in view.operations if op.kind == "task"]
    if len(tasks) > 1:
        for i, op in enumerate(tasks):
            op_rows = rows_of(view.operation_data(op))
            by_t = {number(r.get("t")): _value(r.get("p95")) for r in op_rows}
            column = [by_t.get(number(row.get("t"))) for row in rows]
            color = _OTHER_COLORS[i % len(_OTHER_COLORS)]
            data.append(series(f"{name_text(op.name)} p95", column, color, width=1, show=False))
    top = top_of(*(s["values"] for s in data if s["show"]))
    lines = [
        sla_line(threshold, f"{metric} SLA {latency_text(threshold)}", top)
        for metric, threshold in view.targets.get(None, {}).items()
        if metric in (*_PERCENTILE_OF_MORE, "max", "mean")
    ]
    return chart(
        "Latency over time",
        xs,
        data,
        y_label="ms",
        y_max=top,
        sla=lines,
        bands=_bands(rows, view.window),
        x_max=view.result.duration,
    )


def throughput_figure(view: ResultView) -> Figure:
    """Calls/s and errors/s per full window, error % on a second axis, with their SLA lines."""
    rows, note = full_windows(view)
    window = view.window
    xs = [_value(row.get("t")) for row in rows]
    calls = [count(row.get("calls")) for row in rows]
    errors = [count(row.get("errors")) for row in rows]
    few = len(rows) < _FEW_SAMPLES
    shares = [100 * e / c if c else None for c, e in zip(calls, errors, strict=True)]
    data = [
        series("calls/s", [c / window for c in calls], "#1f77b4", points=few),
        series("errors/s", [e / window for e in errors], "rgba(214,39,40,0.6)", kind="bars"),
        series("error %", shares, SLA_COLOR, width=1, dash=True, axis="y2", points=few),
    ]
    if any(count(row.get("dropped")) for row in rows):
        dropped = [count(row.get("dropped")) / window for row in rows]
        data.append(series("dropped/s", dropped, "rgba(127,127,127,0.6)", kind="bars"))
    top = top_of(*(s["values"] for s in data if s["axis"] == "y"))
    top2 = top_of(shares, floor=1.0)
    checks = view.targets.get(None, {})
    lines = []
    if "throughput_min" in checks:
        minimum = checks["throughput_min"]
        lines.append(sla_line(minimum, f"throughput_min {rate_text(minimum)}/s", top))
    if "error_rate" in checks:
        share = checks["error_rate"]
        lines.append(
            sla_line(100 * share, f"error_rate SLA {percent_text(share)}", top2, axis="y2")
        )
    return chart(
        "Throughput and errors over time",
        xs,
        data,
        y_label="per second",
        y_max=top,
        y2={"label": "error %", "max": top2},
        sla=lines,
        bands=_bands(rows, window),
        x_max=view.result.duration,
        note=note,
    )


def _planned(settings: Mapping[str, Any], end: float) -> list[tuple[float, float | None]]:
    """The planned number of users over time (closed model), from the settings' profile."""
    profile = settings.get("profile")
    if settings.get("model", "closed") != "closed" or not isinstance(profile, list):
        return []
    points = [
        (number(p[0]), number(p[1]))
        for p in profile
        if isinstance(p, (list, tuple)) and len(p) == 2
    ]
    points = [(t, u) for t, u in points if math.isfinite(t) and math.isfinite(u)]
    if points and points[-1][0] < end:
        points.append((end, points[-1][1]))  # a profile holds its last value
    return [(t, u) for t, u in points]


def users_figure(view: ResultView) -> Figure:
    """Active users per full window (a last, partial one would read as users leaving), and the
    planned users when the profile is known."""
    rows, note = full_windows(view)
    active: list[tuple[float, float | None]] = [
        (t, float(count(row.get("users"))))
        for row in rows
        if (t := _value(row.get("t"))) is not None
    ]
    end = view.result.duration
    planned = _planned(view.result.settings, end if math.isfinite(end) else 0.0)
    xs, (users, plan) = aligned([active, planned])
    data = [series("active users", users, "#17becf", kind="step", points=len(rows) < _FEW_SAMPLES)]
    if planned:
        data.append(series("planned users", plan, "#7f7f7f", width=1, dash=True))
    return chart(
        "Active users over time",
        xs,
        data,
        y_label="users",
        y_max=top_of(users, plan, floor=1.0),
        bands=_bands(rows, view.window),
        x_max=view.result.duration,
        note=note.replace("per-second series", "users"),
    )


def _position(percentile: float) -> float:
    """x of a percentile on the log axis: 1 / (1 - q), so 90% -> 10, 99% -> 100, 99.9% -> 1000."""
    return 100.0 / (100.0 - percentile)


def _curve(pairs: Sequence[tuple[float, float]]) -> list[tuple[float, float | None]]:
    return [(_position(p), ms) for p, ms in pairs if p < 100 and math.isfinite(ms)]


def _sla_markers(view: ResultView, top: float) -> list[dict[str, Any]]:
    """One marker per distinct (percentile, threshold), naming the scopes that share it."""
    scopes: dict[tuple[str, float], list[str]] = {}
    for operation, checks in view.targets.items():
        for metric, threshold in checks.items():
            if metric in _PERCENTILE_OF_MORE:
                scope = "all calls" if operation is None else name_text(operation)
                scopes.setdefault((metric, float(threshold)), []).append(scope)
    markers = []
    for (metric, threshold), names in sorted(scopes.items(), key=lambda kv: kv[0][1]):
        shown = ", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")
        label = f"{metric} ≤ {latency_text(threshold)}"
        if names != ["all calls"]:
            label += f" ({shown})"
        markers.append(sla_line(threshold, label, top, x=_position(_PERCENTILE_OF_MORE[metric])))
    return markers


def distribution_figure(view: ResultView) -> Figure:
    """Latency by percentile (HDR), percentile on a log axis, SLA targets as markers."""
    curves = [("all calls", _curve(view.distribution()), "#1f77b4", 3.0)]
    ops = [op for op in view.operations if op.kind != "hook"]
    if len(ops) > 1:
        for i, op in enumerate(ops):
            pairs = _curve(view.distribution(op.name))
            if pairs:
                color = _OTHER_COLORS[(i + 1) % len(_OTHER_COLORS)]
                curves.append((name_text(op.name), pairs, color, 1.5))
    xs, columns = aligned([points for _, points, _, _ in curves])
    data = [
        series(name, column, color, width=width, points=True)
        for (name, _, color, width), column in zip(curves, columns, strict=True)
    ]
    top = top_of(*columns)
    return chart(
        "Latency by percentile",
        xs,
        data,
        x_label="percentile",
        y_label="ms",
        y_max=top,
        sla=_sla_markers(view, top),
        x_log=True,
        x_ticks=[(_position(p), f"{p:g}%") for p in _TICKS],
    )


def resources_figure(view: ResultView) -> Figure | None:
    """The process's CPU (100% = one core) and resident memory over time, from the resource
    monitor's samples; ``None`` when the run had none."""
    resources = view.result.resources
    samples = resources.get("samples") if isinstance(resources, Mapping) else None
    if not isinstance(samples, list) or not samples:
        return None
    rows = [s for s in samples if isinstance(s, Mapping)]
    cpu = [_value(s.get("cpu_percent")) for s in rows]
    rss = [_value(number(s.get("rss_bytes")) / 1e6) for s in rows]
    few = len(rows) < _FEW_SAMPLES  # a short run's one or two samples: points, not a line
    data = [
        series("process CPU %", cpu, "#1f77b4", points=few),
        series("RSS (MB)", rss, "#8c564b", dash=True, axis="y2", points=few),
    ]
    return chart(
        "Process CPU and memory over time",
        [_value(s.get("t")) for s in rows],
        data,
        y_label="CPU % (100 = one core)",
        y_max=top_of(cpu, floor=1.0),
        y2={"label": "RSS (MB)", "max": top_of(rss, floor=1.0)},
        bands=_bands(view.timeline, view.window),
        x_max=view.result.duration,
    )


def figures(view: ResultView) -> dict[str, Figure]:
    """Every chart of one result, keyed by :data:`CHART_KINDS`."""
    charts = {
        "latency": latency_figure(view),
        "throughput": throughput_figure(view),
        "users": users_figure(view),
    }
    resources = resources_figure(view)
    if resources is not None:
        charts["resources"] = resources
    charts["distribution"] = distribution_figure(view)
    return charts
