"""``results.json``: every result's ``to_dict()`` plus metadata about the run.

Layout (``REPORT_SCHEMA_VERSION`` 1)::

    {
      "report_schema_version": 1,       # this file's layout
      "result_schema_version": 1,       # the layout of each entry of "results" (LoadResult)
      "metadata": {
        "created_at": "2025-01-31T12:00:00+00:00",   # UTC, when the report was written
        "plugin_version": "0.1.0",
        "python": {"version": "3.12.1", "implementation": "CPython"},
        "platform": {"system": "Linux", "release": "...", "machine": "x86_64",
                     "platform": "Linux-6.1-x86_64-with-glibc2.36", "cpu_count": 8},
        "git": {"commit": "<40 hex digits>"} or null,
        ...                               # whatever the caller adds (pytest version, arguments)
      },
      "results": [LoadResult.to_dict(), ...]
    }

Non-finite floats (``nan``, ``inf``) become ``null`` so that the file is strict JSON; values JSON
cannot hold (tuples, paths, objects) become lists or strings. Text is kept as it is but for lone
surrogates (``os.fsdecode`` of a bad file name), which no UTF-8 writer takes: each becomes the
six characters ``\\udcff``, as the engine writes them (not a JSON ``\\udcff`` escape, which strict
readers in other languages reject).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from pytest_loadtest._model._text import safe_str, safe_text
from pytest_loadtest._report._files import write_with

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "collect_metadata",
    "git_commit",
    "jsonable",
    "results_document",
    "write_results_json",
]

#: Version of the ``results.json`` layout; bumped on incompatible change. Each result inside
#: carries its own ``schema_version`` (``pytest_loadtest._model._result.SCHEMA_VERSION``) as well.
REPORT_SCHEMA_VERSION: Final = 1

_GIT_TIMEOUT: Final = 2.0
_COMMIT: Final = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


def git_commit(cwd: Path | None = None, *, timeout: float = _GIT_TIMEOUT) -> str | None:
    """``git rev-parse HEAD`` in ``cwd``; ``None`` without git, outside a repository, on
    time-out."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and _COMMIT.fullmatch(commit) else None


def _plugin_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pytest-loadtest")
    except PackageNotFoundError:
        return "0+unknown"


def collect_metadata(
    cwd: Path | None = None, *, now: datetime.datetime | None = None
) -> dict[str, Any]:
    """Facts about this run: time, Python, platform, plugin version and git commit."""
    created = now if now is not None else datetime.datetime.now(datetime.timezone.utc)
    commit = git_commit(cwd)
    return {
        "created_at": created.isoformat(timespec="seconds"),
        "plugin_version": _plugin_version(),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
        },
        "git": {"commit": commit} if commit else None,
    }


def jsonable(value: object) -> Any:
    """``value`` as strict JSON data: non-finite floats to ``None``, unknown objects to ``str``,
    text valid UTF-8 (see :func:`~pytest_loadtest._model._text.safe_text`)."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        # most text, and every encoded histogram, is ASCII: no need to try encoding it
        return value if value.isascii() else safe_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {safe_str(k, None): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [jsonable(v) for v in items]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return jsonable(to_dict())
    return safe_str(value, None)


def results_document(results: Sequence[LoadResult], metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The ``results.json`` document (already passed through :func:`jsonable`)."""
    from pytest_loadtest._model._result import SCHEMA_VERSION

    return {
        "report_schema_version": REPORT_SCHEMA_VERSION,
        "result_schema_version": SCHEMA_VERSION,
        "metadata": jsonable(metadata),
        "results": [jsonable(result.to_dict()) for result in results],
    }


def dump_document(document: Mapping[str, Any], handle: IO[str]) -> None:
    """Write ``document`` as indented strict JSON."""
    json.dump(document, handle, indent=1, allow_nan=False, ensure_ascii=False)
    handle.write("\n")


def write_results_json(
    path: Path, results: Sequence[LoadResult], metadata: Mapping[str, Any]
) -> Path:
    """Write ``results.json`` atomically; returns ``path``."""
    document = results_document(results, metadata)
    return write_with(path, lambda handle: dump_document(document, handle))
