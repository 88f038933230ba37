"""Reading the process with psutil: the :class:`ProcessReader` the resource sampler calls.

:class:`PsutilReader` keeps one ``psutil.Process`` for the whole run and reads it inside
``oneshot()``, so that the figures of one reading come from one pass over ``/proc``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, final

__all__ = ["NoProcessReader", "ProcessReader", "PsutilReader", "Reading"]


class NoProcessReader(RuntimeError):
    """Neither psutil nor Linux's ``/proc`` is there to read the process: no resource monitor."""


@final
@dataclass(frozen=True, slots=True)
class Reading:
    """Cumulative counters and instantaneous gauges of the process at one instant."""

    cpu_seconds: float  # process user + system CPU time since it started
    rss_bytes: int
    threads: int
    open_fds: int | None  # Windows: handles; None where unavailable
    read_bytes: int | None  # storage IO since the process started; None where unavailable
    write_bytes: int | None
    system_busy: float  # machine: non-idle CPU seconds, all cores, since boot
    system_total: float  # machine: all CPU seconds, all cores, since boot


class ProcessReader(Protocol):
    """Reads the process; :class:`PsutilReader` by default, a fake in tests."""

    def read(self) -> Reading:
        """One reading, now."""
        ...


@final
class PsutilReader:
    """Reads one ``psutil.Process`` (this one by default), created once and reused."""

    def __init__(self, pid: int | None = None) -> None:
        import psutil  # ImportError in an environment without it (see _procfs.py)

        self._psutil = psutil
        self._process = psutil.Process(pid)
        self.cpu_count = psutil.cpu_count() or 1

    def read(self) -> Reading:
        """One reading: process figures in one ``oneshot()`` pass, then the machine's CPU."""
        process = self._process
        with process.oneshot():
            times = process.cpu_times()
            rss = process.memory_info().rss
            threads = process.num_threads()
            fds = self._fds()
            io = self._io()
        machine = self._psutil.cpu_times()
        values = machine._asdict()
        # guest time is already counted in user/nice on Linux (psutil's cpu_percent does this)
        total = sum(values.values()) - values.get("guest", 0.0) - values.get("guest_nice", 0.0)
        idle = values.get("idle", 0.0) + values.get("iowait", 0.0)
        return Reading(
            cpu_seconds=times.user + times.system,
            rss_bytes=int(rss),
            threads=int(threads),
            open_fds=fds,
            read_bytes=None if io is None else io[0],
            write_bytes=None if io is None else io[1],
            system_busy=total - idle,
            system_total=total,
        )

    def _fds(self) -> int | None:
        try:
            # num_fds on POSIX, num_handles on Windows
            count = getattr(self._process, "num_fds", None) or getattr(
                self._process, "num_handles", None
            )
            return None if count is None else int(count())
        except (self._psutil.Error, AttributeError, NotImplementedError):
            return None

    def _io(self) -> tuple[int, int] | None:
        try:
            counters = self._process.io_counters()  # absent on macOS
        except (self._psutil.Error, AttributeError, NotImplementedError):
            return None
        return int(counters.read_bytes), int(counters.write_bytes)
