"""How fast the interpreter runs right now: a fixed pure-Python workload, timed during a run.

A shared CI runner is slower when other jobs take its cores, and every latency of a run is then
longer with no change in the code. :class:`SpeedProbe` times :func:`reference_workload` (a
loop of integer arithmetic, about a millisecond on an idle core) every ``interval`` seconds on a
thread of its own while the users run, so that it waits for the CPU and the GIL as the users'
calls do; the median of its timings is the run's *reference time*. The least CPU time the
loop took (its thread's, which waiting for the GIL or for a core does not add to) is the run's
*reference CPU time*: how fast the CPU ran at its best moments. A baseline comparison allows for
a current run whose reference time is longer than the baseline's (the machine was slower), never
the other way round; the fastest calls of a run (``p1`` .. ``p25``), which did not queue and met
the CPU at its best, are allowed for by the reference CPU time instead.
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
    """What the probe saw in a run, in ms: the median time the workload took, and its least CPU
    time."""

    median_ms: float
    cpu_ms: float


@final
class SpeedProbe:
    """Times ``workload`` every ``interval`` seconds from :meth:`start` to :meth:`stop`, which
    returns the median time and the least CPU time it took (``None`` if it never ran).
    ``cpu_clock``: the calling thread's CPU time in ns."""

    def __init__(
        self,
        interval: float = PROBE_INTERVAL,
        workload: Callable[[], int] = reference_workload,
        cpu_clock: Callable[[], int] = time.thread_time_ns,
    ) -> None:
        self.interval = interval
        self._workload = workload
        self._cpu_clock = cpu_clock
        self._samples: list[int] = []
        self._cpu_samples: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, start_ns: int | None = None) -> None:
        """Start timing (``start_ns`` is unused: watchers share one signature)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="loadtest-speed", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        cpu = self._cpu_clock
        while not self._stop.wait(self.interval):
            began = cpu()
            wall = self._workload()
            self._cpu_samples.append(cpu() - began)
            self._samples.append(wall)

    def stop(self, end_ns: int | None = None) -> ReferenceTimes | None:
        """Stop; the median time and the least CPU time, or ``None`` without a timing."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if not self._samples:
            return None
        return ReferenceTimes(statistics.median(self._samples) / 1e6, min(self._cpu_samples) / 1e6)
