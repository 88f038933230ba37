"""Atomic writes: a report file is the old one or the whole new one, and no temporary is left."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

import pytest

from pytest_loadtest._report._files import FILE_MODE, atomic_write, atomic_write_text, write_with
from pytest_loadtest._report._html import ReportError
from pytest_loadtest._report._write import write_report


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_writes_text_and_returns_the_path(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    assert atomic_write_text(path, "héllo\n") == path
    assert path.read_text(encoding="utf-8") == "héllo\n"
    assert stat.S_IMODE(path.stat().st_mode) == FILE_MODE
    assert _leftovers(tmp_path) == []


def test_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old", encoding="utf-8")
    atomic_write_text(path, "new")
    assert path.read_text(encoding="utf-8") == "new"


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_a_failure_mid_write_keeps_the_old_file(tmp_path: Path, error: BaseException) -> None:
    path = tmp_path / "results.json"
    path.write_text('{"old": true}', encoding="utf-8")

    def render(handle: IO[str]) -> None:
        handle.write('{"new": ')  # half a document, then the failure
        handle.flush()
        raise error

    with pytest.raises(type(error)):
        write_with(path, render)
    assert path.read_text(encoding="utf-8") == '{"old": true}'
    assert _leftovers(tmp_path) == []


def test_a_failing_rename_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "index.html"
    path.write_text("old page", encoding="utf-8")

    def refuse(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        atomic_write_text(path, "new page")
    assert path.read_text(encoding="utf-8") == "old page"
    assert _leftovers(tmp_path) == []


def test_the_target_is_untouched_until_the_block_ends(tmp_path: Path) -> None:
    path = tmp_path / "summary.csv"
    path.write_text("old", encoding="utf-8")
    with atomic_write(path) as handle:
        handle.write("new")
        handle.flush()
        assert path.read_text(encoding="utf-8") == "old"
        assert len(_leftovers(tmp_path)) == 1
    assert path.read_text(encoding="utf-8") == "new"


def test_write_report_failing_midway_leaves_earlier_files_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupted report: each file is either the previous version or complete."""
    from pytest_loadtest._report import _html

    directory = tmp_path / "report"
    directory.mkdir()
    (directory / "index.html").write_text("previous page", encoding="utf-8")

    def broken(*args: object, **kwargs: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("pytest_loadtest._report._write.render_html", broken)
    assert _html.render_html is not broken  # only the reference used by write_report
    with pytest.raises(KeyboardInterrupt):
        write_report(directory, [])
    assert (directory / "index.html").read_text(encoding="utf-8") == "previous page"
    assert (directory / "results.json").read_text(encoding="utf-8").rstrip().endswith("}")
    assert _leftovers(directory) == []


def test_write_report_names_the_path_it_could_not_write(tmp_path: Path) -> None:
    blocker = tmp_path / "report"
    blocker.write_text("a file, not a directory", encoding="utf-8")
    with pytest.raises(ReportError, match="cannot write the load report"):
        write_report(blocker, [])
