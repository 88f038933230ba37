"""Pieces of the page's chart specifications: series, SLA lines, y ranges, warm-up bands.

A chart specification is a plain dict that the page's renderer (``_render_js``) draws with uPlot;
every text in it reaches the page through ``textContent`` (uPlot's legend and title, the SLA
labels), so it is plain text, made one line here, never markup.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from pytest_loadtest._report._escape import one_line
from pytest_loadtest._report._view import number

__all__ = [
    "HEADROOM",
    "SLA_COLOR",
    "aligned",
    "chart",
    "finite_or_none",
    "series",
    "sla_line",
    "top_of",
    "warmup_bands",
]

#: Colour of SLA thresholds on every chart.
SLA_COLOR: Final = "#d62728"
#: Space above the highest value shown: the y axis ends this much above the data.
HEADROOM: Final = 1.15


def finite_or_none(value: object) -> float | None:
    """A number for a series, ``None`` (a gap) for what is not a finite number."""
    n = number(value)
    return n if math.isfinite(n) else None


def top_of(*columns: Iterable[float | None], floor: float = 1e-3) -> float:
    """The top of a y axis scaled to the data: the largest finite value times :data:`HEADROOM`
    (``floor`` when there is none), never to the SLA lines (see :func:`sla_line`)."""
    values = [v for column in columns for v in column if v is not None and math.isfinite(v)]
    return max([*values, 0.0]) * HEADROOM or floor


def series(
    label: str,
    values: Sequence[float | None],
    color: str,
    *,
    width: float = 2.0,
    dash: bool = False,
    show: bool = True,
    axis: str = "y",
    kind: str = "line",
    points: bool = False,
) -> dict[str, Any]:
    """One series; ``kind`` is ``"line"``, ``"bars"`` or ``"step"``, ``axis`` ``"y"`` or
    ``"y2"``; ``show=False`` starts it hidden (a click on its legend entry shows it)."""
    return {
        "label": one_line(label),
        "values": list(values),
        "color": color,
        "width": width,
        "dash": dash,
        "show": show,
        "axis": axis,
        "kind": kind,
        "points": points,
    }


def sla_line(
    value: float, label: str, top: float, *, axis: str = "y", x: float | None = None
) -> dict[str, Any]:
    """An SLA threshold: a dashed line across the chart (or, with ``x``, a marker at that x),
    labelled. Above ``top`` it is ``off`` the chart: drawn as a labelled marker at the top edge,
    so the axis stays scaled to the data."""
    line: dict[str, Any] = {"y": value, "label": one_line(label), "axis": axis, "off": value > top}
    if x is not None:
        line["x"] = x
    return line


def warmup_bands(rows: Sequence[Mapping[str, Any]], window: float) -> list[list[float]]:
    """``[[start, end]]`` of the warm-up windows (shaded grey), ``[]`` without warm-up."""
    times = [t for row in rows if row.get("warmup") and math.isfinite(t := number(row.get("t")))]
    return [[min(times), max(times) + window]] if times else []


def aligned(
    curves: Sequence[Sequence[tuple[float, float | None]]],
) -> tuple[list[float], list[list[float | None]]]:
    """Curves with their own x values on one x column (what uPlot draws): the union of the
    x values, each curve ``None`` where it has no point (gaps the renderer spans)."""
    xs = sorted({x for curve in curves for x, _ in curve if math.isfinite(x)})
    index = {x: i for i, x in enumerate(xs)}
    columns: list[list[float | None]] = []
    for curve in curves:
        column: list[float | None] = [None] * len(xs)
        for x, y in curve:
            if x in index:
                column[index[x]] = y
        columns.append(column)
    return xs, columns


def chart(
    title: str,
    xs: Sequence[float | None],
    data: Sequence[dict[str, Any]],
    *,
    y_label: str,
    y_max: float,
    x_label: str = "seconds since start",
    y2: dict[str, Any] | None = None,
    sla: Sequence[dict[str, Any]] = (),
    bands: Sequence[Sequence[float]] = (),
    x_log: bool = False,
    x_ticks: Sequence[tuple[float, str]] = (),
    x_max: float | None = None,
    note: str = "",
) -> dict[str, Any]:
    """A chart specification for the renderer (see the module's docstring). ``x_max``: the end
    of the x axis (a run's duration), so that a run of one or two windows is not stretched."""
    return {
        "title": one_line(title),
        "x": {
            "label": x_label,
            "log": x_log,
            "ticks": [[p, t] for p, t in x_ticks],
            "max": x_max if x_max is not None and math.isfinite(x_max) and x_max > 0 else None,
        },
        "y": {"label": y_label, "max": y_max},
        "y2": y2,
        "xs": list(xs),
        "series": list(data),
        "sla": list(sla),
        "bands": [list(b) for b in bands],
        "note": note,
    }
