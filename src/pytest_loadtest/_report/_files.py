"""Atomic file writes: a report file is either the old one or the whole new one, never half.

Each file is written to a temporary file in the same directory (so that the final rename stays on
one file system), flushed to disk, then renamed over the target with :func:`os.replace`, which is
atomic on POSIX and Windows. If anything fails on the way, including ``KeyboardInterrupt``, the
temporary file is removed and the old file is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Final

__all__ = ["FILE_MODE", "atomic_write", "atomic_write_text"]

#: Permissions of written files: readable by all, like a file made by ``open()`` under umask 022.
#: (``tempfile`` creates files readable only by their owner.)
FILE_MODE: Final = 0o644


@contextlib.contextmanager
def atomic_write(path: Path, *, newline: str | None = None) -> Iterator[IO[str]]:
    """Open a UTF-8 text file that replaces ``path`` only when the ``with`` block succeeds.

    The parent directory must exist. ``newline`` is passed to :func:`open` (``""`` for
    :mod:`csv`).
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with open(fd, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return ``path``."""
    with atomic_write(path) as handle:
        handle.write(text)
    return path


def write_with(
    path: Path, render: Callable[[IO[str]], None], *, newline: str | None = None
) -> Path:
    """Call ``render(handle)`` on an atomic writer for ``path`` and return ``path``."""
    with atomic_write(path, newline=newline) as handle:
        render(handle)
    return path
