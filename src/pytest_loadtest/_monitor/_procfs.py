"""Reading the process from Linux's ``/proc`` when psutil cannot be imported.

psutil is a dependency, but an environment may lack it (a broken install, a platform without
wheels). On Linux this reader gives the resource monitor the same
:class:`~pytest_loadtest._monitor._process.Reading` from the standard library; elsewhere the
monitor needs psutil (:func:`default_reader`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final, final

from pytest_loadtest._monitor._process import ProcessReader, PsutilReader, Reading

__all__ = ["ProcfsReader", "default_reader"]

_PROC: Final = Path("/proc")


@final
class ProcfsReader:
    """Reads ``/proc/<pid>`` (this process by default) and ``/proc/stat``: what psutil reads
    there, in one pass of a few small files."""

    def __init__(self, pid: int | None = None, proc: Path = _PROC) -> None:
        self._dir = proc / str(pid if pid is not None else os.getpid())
        self._stat = proc / "stat"
        self._tick = float(os.sysconf("SC_CLK_TCK"))
        self._page = os.sysconf("SC_PAGE_SIZE")
        self.cpu_count = os.cpu_count() or 1

    def read(self) -> Reading:
        """One reading of the process and the machine's CPU times."""
        # /proc/<pid>/stat: "pid (comm) state ..."; comm may hold spaces and parentheses
        fields = (self._dir / "stat").read_text().rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
        threads, rss_pages = int(fields[17]), int(fields[21])  # fields 20 and 24
        io = self._io()
        busy, total = self._machine()
        return Reading(
            cpu_seconds=(utime + stime) / self._tick,
            rss_bytes=rss_pages * self._page,
            threads=threads,
            open_fds=self._fds(),
            read_bytes=None if io is None else io[0],
            write_bytes=None if io is None else io[1],
            system_busy=busy,
            system_total=total,
        )

    def _fds(self) -> int | None:
        try:
            return len(os.listdir(self._dir / "fd"))
        except OSError:
            return None

    def _io(self) -> tuple[int, int] | None:
        try:  # may be refused (a container without ptrace rights to itself)
            text = (self._dir / "io").read_text()
        except OSError:
            return None
        values = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        try:
            return int(values["read_bytes"]), int(values["write_bytes"])
        except (KeyError, ValueError):
            return None

    def _machine(self) -> tuple[float, float]:
        """Non-idle and all CPU seconds of every core since boot (psutil's arithmetic)."""
        first = self._stat.read_text().split("\n", 1)[0].split()
        names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
        # older kernels have fewer columns: the missing ones count 0
        columns = (*names, "guest", "guest_nice")
        values = dict(zip(columns, (int(v) for v in first[1:]), strict=False))
        # guest time is already counted in user/nice
        total = sum(values.get(name, 0) for name in names)
        idle = values.get("idle", 0) + values.get("iowait", 0)
        return (total - idle) / self._tick, total / self._tick


def default_reader() -> tuple[ProcessReader, int] | None:
    """The reader of this process and the machine's CPU count: psutil's when it is installed,
    else ``/proc``'s on Linux; ``None`` where neither is there (the monitor is then off)."""
    try:
        psutil_reader = PsutilReader()
    except ImportError:
        pass
    else:
        return psutil_reader, psutil_reader.cpu_count
    if (_PROC / "self" / "stat").is_file() and (_PROC / "stat").is_file():
        reader = ProcfsReader()
        return reader, reader.cpu_count
    return None
