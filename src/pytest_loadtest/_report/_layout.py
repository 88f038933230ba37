"""Layout helpers shared by the report's Plotly figures: axes, threshold lines, warm-up shading."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pytest_loadtest._report._escape import one_line
from pytest_loadtest._report._view import number

__all__ = [
    "SLA_COLOR",
    "base_layout",
    "escape_text",
    "finite_or_none",
    "shade_warmup",
    "threshold_line",
]

#: Colour of SLA thresholds on every chart.
SLA_COLOR: Final = "#d62728"


def escape_text(value: object) -> str:
    """Text for Plotly, which reads a subset of HTML: one line, escaped (names in it are cut
    by the caller)."""
    return html.escape(one_line(value), quote=True)


def finite_or_none(value: object) -> float | None:
    """A number for a trace, ``None`` (a gap) for what is not a finite number."""
    n = number(value)
    return n if math.isfinite(n) else None


def base_layout(title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 14}, "x": 0.01, "xanchor": "left"},
        "height": 330,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
        "xaxis": {"title": {"text": "seconds since start"}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": -0.3, "yanchor": "top"},
        "hovermode": "x unified",
        "shapes": [],
        "annotations": [],
    }
    layout.update(extra)
    return layout


def threshold_line(layout: dict[str, Any], y: float, label: str, *, yref: str = "y") -> None:
    """A dashed horizontal SLA line across the chart with its label at the right end."""
    layout["shapes"].append(
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "yref": yref,
            "y0": y,
            "y1": y,
            "line": {"color": SLA_COLOR, "width": 1.5, "dash": "dash"},
        }
    )
    layout["annotations"].append(
        {
            "xref": "paper",
            "x": 1,
            "xanchor": "right",
            "yref": yref,
            "y": y,
            "yanchor": "bottom",
            "text": escape_text(label),
            "showarrow": False,
            "font": {"color": SLA_COLOR, "size": 11},
        }
    )


def shade_warmup(layout: dict[str, Any], rows: Sequence[Mapping[str, Any]], window: float) -> None:
    times = [number(row.get("t")) for row in rows if row.get("warmup")]
    if times:
        layout["shapes"].append(
            {
                "type": "rect",
                "xref": "x",
                "x0": min(times),
                "x1": max(times) + window,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "fillcolor": "rgba(128,128,128,0.12)",
                "line": {"width": 0},
                "layer": "below",
            }
        )
