"""Load tests take turns on one machine: under pytest-xdist, each run holds a lock that every
worker of the session shares (an ``flock`` on a file in the session's directory), so that no
two load tests measure each other's load. Where ``fcntl`` is missing (Windows), runs do not wait.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

__all__ = ["one_at_a_time"]


@contextlib.contextmanager
def one_at_a_time(path: Path | None) -> Iterator[None]:
    """Hold the lock at ``path`` (made if missing) for the block; ``None``: no lock."""
    if path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # a Ctrl-C while waiting ends the wait
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
