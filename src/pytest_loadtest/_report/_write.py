"""Writing the report files: ``results.json``, ``summary.csv``, ``timeline.csv``, ``index.html``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pytest_loadtest._report._files import atomic_write_text
from pytest_loadtest._report._html import (
    CHART_PACKAGE,
    MISSING_EXTRA,
    ReportError,
    load_chart_library,
    render_html,
)
from pytest_loadtest._report._json import collect_metadata, write_results_json
from pytest_loadtest._report._view import views

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult

__all__ = ["REPORT_FILES", "charts_note", "write_report"]


#: The files :func:`write_report` writes, in the order it writes them (HTML last: it is the
#: one that needs the optional extra).
REPORT_FILES: Final = ("results.json", "summary.csv", "timeline.csv", "index.html")


def charts_note() -> str | None:
    """``None`` when ``index.html`` gets charts, else a sentence saying how to get them."""
    try:
        import importlib.util

        found = importlib.util.find_spec(CHART_PACKAGE) is not None
    except (ImportError, ValueError):
        found = False
    return None if found else f"load report: {MISSING_EXTRA}"


def write_report(
    directory: Path | str,
    results: Sequence[LoadResult],
    *,
    metadata: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write the report of ``results`` into ``directory`` and return the files written.

    Creates ``directory`` if needed; other files in it are left alone. Each file is replaced
    atomically, so a reader (or an interrupted run) sees the old file or the new one, never half
    of one. ``metadata`` is added to what :func:`collect_metadata` finds (time, Python, platform,
    plugin version, git commit), its keys winning. Without the ``report`` extra, ``index.html``
    is written without charts (see :func:`charts_note`); the other files never need it.

    Raises :class:`ReportError` when a file cannot be written.
    """
    target = Path(directory)
    info = {**collect_metadata(), **(metadata or {})}
    items = views(results)
    written: list[Path] = []
    try:
        target.mkdir(parents=True, exist_ok=True)
        written.append(write_results_json(target / "results.json", results, info))
        from pytest_loadtest._report._csv import write_summary_csv, write_timeline_csv

        written.append(write_summary_csv(target / "summary.csv", items))
        written.append(write_timeline_csv(target / "timeline.csv", items))
        page = render_html(items, info, charts=load_chart_library())
        written.append(atomic_write_text(target / "index.html", page))
    except OSError as exc:
        where = exc.filename or target
        raise ReportError(
            f"cannot write the load report in {target}: {where}: {exc.strerror or exc}"
        ) from exc
    return written
