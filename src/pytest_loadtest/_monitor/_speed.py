"""How fast the interpreter runs right now: a fixed pure-Python workload, timed during a run.

A shared CI runner is slower when other jobs take its cores, and every latency of a run is then
longer with no change in the code. :class:`SpeedProbe` times :func:`reference_workload` (a
loop of integer arithmetic, about a millisecond on an idle core) every ``interval`` seconds on a
thread of its own while the users run, so that it waits for the CPU and the GIL as the users'
calls do; the median of its timings is the run's *reference time*, and the fastest its *floor*:
a timing that nothing interrupted, which only a slower CPU lengthens, not a queue for it. A
baseline comparison allows for a current run whose reference time is longer than the
baseline's (the machine was slower), never the other way round; the fastest calls of a run
(``p1`` .. ``p25``) are allowed for by the floor, which is what moves them.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, final

__all__ = ["REFERENCE_ROUNDS", "ReferenceTimes", "SpeedProbe", "reference_workload"]

#: Iterations of the reference loop: about 1 ms on an idle core of a 2020s machine.
REFERENCE_ROUNDS: Final = 20_000
#: Seconds between two timings of the reference workload.
PROBE_INTERVAL: Final = 0.25


def reference_workload(rounds: int = REFERENCE_ROUNDS) -> int:
    """Nanoseconds the reference loop took now."""
    now = time.perf_counter_ns
    began = now()
    total = 0
    for i in range(rounds):
        total += i * i
    return now() - began


@final
@dataclass(frozen=True, slots=True)
class ReferenceTimes:
    """What the probe saw in a run: the median and the fastest timing, in ms."""

    median_ms: float
    floor_ms: float


@final
class SpeedProbe:
    """Times ``workload`` every ``interval`` seconds from :meth:`start` to :meth:`stop`, which
    returns the median and the fastest timing (``None`` if it never ran)."""

    def __init__(
        self, interval: float = PROBE_INTERVAL, workload: Callable[[], int] = reference_workload
    ) -> None:
        self.interval = interval
        self._workload = workload
        self._samples: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, start_ns: int | None = None) -> None:
        """Start timing (``start_ns`` is unused: watchers share one signature)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="loadtest-speed", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._samples.append(self._workload())

    def stop(self, end_ns: int | None = None) -> ReferenceTimes | None:
        """Stop; the median and fastest timings, or ``None`` without one."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if not self._samples:
            return None
        return ReferenceTimes(statistics.median(self._samples) / 1e6, min(self._samples) / 1e6)
