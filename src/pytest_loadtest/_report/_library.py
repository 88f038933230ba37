"""The chart library of ``index.html``: uPlot's script and stylesheet, from the package that
ships them (the ``report`` extra), read from its files at report time."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, final

__all__ = ["CHART_PACKAGE", "ChartLibrary", "ReportError", "load_chart_library"]

#: The package that ships uPlot's script and stylesheet, and where in it they are.
CHART_PACKAGE: Final = "uplot"  # the import name of uplot-python
_CHART_FILES: Final = ("static", "uPlot.iife.js", "uPlot.min.css")
_CLOSING_SCRIPT: Final = re.compile(r"</script|<!--", re.IGNORECASE)


class ReportError(Exception):
    """A report could not be written; the message says which file and why."""


@final
@dataclass(frozen=True, slots=True)
class ChartLibrary:
    """uPlot's script and stylesheet, inlined in the page."""

    script: str
    style: str


def load_chart_library() -> ChartLibrary | None:
    """uPlot from the installed ``uplot-python`` package (imported as ``uplot``), or ``None``
    when it is missing.

    The files are read, not imported: its own Python is never run."""
    spec = importlib.util.find_spec(CHART_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder, script_name, style_name = _CHART_FILES
    root = Path(next(iter(spec.submodule_search_locations))) / folder
    try:
        script = (root / script_name).read_text(encoding="utf-8")
        style = (root / style_name).read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportError(
            f"the {CHART_PACKAGE} package has no readable {exc.filename}: reinstall it "
            "(pip install 'pytest-loadtest[report]')"
        ) from exc
    if _CLOSING_SCRIPT.search(script) or "</style" in style.lower():
        raise ReportError(f"the uPlot files of {CHART_PACKAGE} cannot be inlined in a page")
    return ChartLibrary(script, style)
