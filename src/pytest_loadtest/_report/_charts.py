"""Plotly figure specifications (plain dicts) for one load result: no plotting library needed.

Each function returns ``{"data": [...], "layout": {...}}`` that ``Plotly.newPlot`` draws. Text
that reaches Plotly (trace names, labels) is HTML-escaped, because Plotly reads a subset of HTML
in text. SLA targets are drawn where they apply: latency targets as dashed horizontal lines on the
latency chart and as markers on the percentile distribution, ``throughput_min`` and ``error_rate``
on the throughput chart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pytest_loadtest._report._layout import SLA_COLOR as _SLA_COLOR
from pytest_loadtest._report._layout import base_layout as _layout
from pytest_loadtest._report._layout import escape_text as _text
from pytest_loadtest._report._layout import finite_or_none as _value
from pytest_loadtest._report._layout import shade_warmup as _warmup
from pytest_loadtest._report._layout import threshold_line as _hline
from pytest_loadtest._report._view import (
    ResultView,
    count,
    latency_text,
    number,
    percent_text,
    rows_of,
)

__all__ = ["CHART_KINDS", "figures"]

Figure = dict[str, Any]

#: The charts of one result, in page order ("resources" only for runs with a resource monitor).
CHART_KINDS: Final = ("latency", "throughput", "users", "resources", "distribution")
_PERCENTILE_OF: Final = {"p50": 50.0, "p75": 75.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}
_PERCENTILE_OF_MORE: Final = {**_PERCENTILE_OF, "p99.9": 99.9}
_OPERATION_SLA_COLOR: Final = "#8c564b"
_COLORS: Final = {"p50": "#2ca02c", "p95": "#ff7f0e", "p99": "#9467bd", "max": "#7f7f7f"}
_TICKS: Final = (0.0, 50.0, 90.0, 99.0, 99.9, 99.99, 99.999)


def latency_figure(view: ResultView) -> Figure:
    """p50, p95 and p99 (and max, hidden) per window, with the latency SLA lines."""
    rows = view.timeline
    xs = [row.get("t") for row in rows]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": key,
            "x": xs,
            "y": [_value(row.get(key)) for row in rows],
            "line": {"color": _COLORS[key], "width": 1 if key == "max" else 2},
            "marker": {"size": 4},
            "visible": "legendonly" if key == "max" else True,
            "hovertemplate": "%{y:.3f} ms",
        }
        for key in ("p50", "p95", "p99", "max")
    ]
    tasks = [op for op in view.operations if op.kind == "task"]
    if len(tasks) > 1:
        for op in tasks:
            op_rows = rows_of(view.operation_data(op))
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": _text(f"{op.name} p95"),
                    "x": [row.get("t") for row in op_rows],
                    "y": [_value(row.get("p95")) for row in op_rows],
                    "visible": "legendonly",
                    "hovertemplate": "%{y:.3f} ms",
                }
            )
    layout = _layout("Latency over time", "ms")
    for metric, threshold in view.targets.get(None, {}).items():
        if metric in (*_PERCENTILE_OF_MORE, "max", "mean"):
            _hline(layout, threshold, f"{metric} SLA {latency_text(threshold)}")
    _warmup(layout, rows, view.window)
    return {"data": data, "layout": layout}


def throughput_figure(view: ResultView) -> Figure:
    """Calls/s and errors/s per window, error % on a second axis, with their SLA lines."""
    rows = view.timeline
    window = view.window
    xs = [row.get("t") for row in rows]
    calls = [count(row.get("calls")) for row in rows]
    errors = [count(row.get("errors")) for row in rows]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "calls/s",
            "x": xs,
            "y": [c / window for c in calls],
            "line": {"color": "#1f77b4", "width": 2},
            "marker": {"size": 4},
        },
        {
            "type": "bar",
            "name": "errors/s",
            "x": xs,
            "y": [e / window for e in errors],
            "marker": {"color": "rgba(214,39,40,0.6)"},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "error %",
            "x": xs,
            "y": [100 * e / c if c else None for c, e in zip(calls, errors, strict=True)],
            "yaxis": "y2",
            "line": {"color": _SLA_COLOR, "width": 1, "dash": "dot"},
            "hovertemplate": "%{y:.2f}%",
        },
    ]
    if any(count(row.get("dropped")) for row in rows):
        data.append(
            {
                "type": "bar",
                "name": "dropped/s",
                "x": xs,
                "y": [count(row.get("dropped")) / window for row in rows],
                "marker": {"color": "rgba(127,127,127,0.6)"},
            }
        )
    checks = view.targets.get(None, {})
    shares = [100 * e / c for c, e in zip(calls, errors, strict=True) if c]
    top = max([*shares, 100 * checks.get("error_rate", 0.0), 1e-3])
    layout = _layout(
        "Throughput and errors over time",
        "per second",
        yaxis2={
            "title": {"text": "error %"},
            "overlaying": "y",
            "side": "right",
            "range": [0, top * 1.15],
            "tickformat": ".2~f",
            "showgrid": False,
        },
        barmode="overlay",
    )
    layout["margin"]["r"] = 55
    if "throughput_min" in checks:
        _hline(layout, checks["throughput_min"], f"throughput_min {checks['throughput_min']}/s")
    if "error_rate" in checks:
        share = checks["error_rate"]
        _hline(layout, 100 * share, f"error_rate SLA {percent_text(share)}", yref="y2")
    _warmup(layout, rows, window)
    return {"data": data, "layout": layout}


def _planned(settings: Mapping[str, Any], end: float) -> tuple[list[float], list[float]] | None:
    """The planned number of users over time (closed model), from the settings' profile."""
    profile = settings.get("profile")
    if settings.get("model", "closed") != "closed" or not isinstance(profile, list):
        return None
    points = [
        (number(p[0]), number(p[1]))
        for p in profile
        if isinstance(p, (list, tuple)) and len(p) == 2
    ]
    points = [(t, u) for t, u in points if math.isfinite(t) and math.isfinite(u)]
    if not points:
        return None
    if points[-1][0] < end:
        points.append((end, points[-1][1]))  # a profile holds its last value
    return [t for t, _ in points], [u for _, u in points]


def users_figure(view: ResultView) -> Figure:
    """Active users per window, and the planned users when the profile is known."""
    rows = view.timeline
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "active users",
            "x": [row.get("t") for row in rows],
            "y": [count(row.get("users")) for row in rows],
            "line": {"shape": "hv", "color": "#17becf", "width": 2},
            "marker": {"size": 4},
        }
    ]
    end = view.result.duration
    planned = _planned(view.result.settings, end if math.isfinite(end) else 0.0)
    if planned is not None:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "planned users",
                "x": planned[0],
                "y": planned[1],
                "line": {"color": "#7f7f7f", "dash": "dot"},
            }
        )
    layout = _layout("Active users over time", "users")
    _warmup(layout, rows, view.window)
    return {"data": data, "layout": layout}


def _position(percentile: float) -> float:
    """x of a percentile on the log axis: 1 / (1 - q), so 90% -> 10, 99% -> 100, 99.9% -> 1000."""
    return 100.0 / (100.0 - percentile)


def _curve(name: str, pairs: Sequence[tuple[float, float]], **extra: Any) -> dict[str, Any]:
    kept = [(p, ms) for p, ms in pairs if p < 100 and math.isfinite(ms)]
    trace = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": _text(name),
        "x": [_position(p) for p, _ in kept],
        "y": [ms for _, ms in kept],
        "customdata": [p for p, _ in kept],
        "hovertemplate": "p%{customdata}: %{y:.3f} ms",
        "marker": {"size": 5},
    }
    trace.update(extra)
    return trace


def _sla_markers(
    name: str, checks: Mapping[str, float], operation: str | None = None
) -> dict[str, Any] | None:
    points = [(p, float(checks[m])) for m, p in _PERCENTILE_OF_MORE.items() if m in checks]
    scope = f"{operation} " if operation else ""
    color = _SLA_COLOR if operation is None else _OPERATION_SLA_COLOR
    if not points:
        return None
    return {
        "type": "scatter",
        "mode": "markers+text",
        "name": _text(name),
        "x": [_position(p) for p, _ in points],
        "y": [ms for _, ms in points],
        "text": [_text(f"{scope}p{p:g} ≤ {latency_text(ms)}") for p, ms in points],
        "textposition": "top center",
        "customdata": [p for p, _ in points],
        "hovertemplate": "SLA p%{customdata}: %{y:.3f} ms",
        "marker": {"symbol": "line-ew-open", "size": 18, "color": color, "line": {"width": 3}},
        "textfont": {"color": color, "size": 10},
    }


def distribution_figure(view: ResultView) -> Figure:
    """Latency by percentile (HDR), percentile on a log axis, SLA targets as markers."""
    data = [_curve("all calls", view.distribution(), line={"color": "#1f77b4", "width": 3})]
    ops = [op for op in view.operations if op.kind != "hook"]
    if len(ops) > 1:
        for op in ops:
            pairs = view.distribution(op.name)
            if pairs:
                data.append(_curve(op.name, pairs, line={"width": 1.5}))
    targets = view.targets
    markers = _sla_markers("SLA", targets.get(None, {}))
    if markers is not None:
        data.append(markers)
    for op_name, checks in targets.items():
        if op_name is None:
            continue
        op_markers = _sla_markers(f"SLA {op_name}", checks, op_name)
        if op_markers is not None:
            data.append(op_markers)
    layout = _layout(
        "Latency by percentile",
        "ms",
        xaxis={
            "title": {"text": "percentile"},
            "type": "log",
            "tickvals": [_position(p) for p in _TICKS],
            "ticktext": [f"{p:g}%" for p in _TICKS],
            "range": [0, math.log10(_position(_TICKS[-1])) + 0.1],
        },
        hovermode="closest",
    )
    return {"data": data, "layout": layout}


def resources_figure(view: ResultView) -> Figure | None:
    """The process's CPU (100% = one core) and resident memory over time, from the resource
    monitor's samples; ``None`` when the run had none."""
    resources = view.result.resources
    samples = resources.get("samples") if isinstance(resources, Mapping) else None
    if not isinstance(samples, list) or not samples:
        return None
    rows = [s for s in samples if isinstance(s, Mapping)]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "process CPU %",
            "x": [s.get("t") for s in rows],
            "y": [_value(s.get("cpu_percent")) for s in rows],
            "line": {"color": "#1f77b4", "width": 2},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "RSS (MB)",
            "x": [s.get("t") for s in rows],
            "y": [number(s.get("rss_bytes")) / 1e6 for s in rows],
            "yaxis": "y2",
            "line": {"color": "#8c564b", "width": 2, "dash": "dot"},
        },
    ]
    layout = _layout(
        "Process CPU and memory over time",
        "CPU % (100 = one core)",
        yaxis2={
            "title": {"text": "RSS (MB)"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        },
    )
    layout["margin"]["r"] = 55
    _warmup(layout, view.timeline, view.window)
    return {"data": data, "layout": layout}


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
