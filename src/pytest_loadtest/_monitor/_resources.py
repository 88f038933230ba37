"""The resource monitor: a thread sampling the process (and the machine's CPU).

One reused ``psutil.Process`` is read every ``interval`` seconds (1 s by default) by a
:class:`~pytest_loadtest._monitor._process.PsutilReader` (without psutil, on Linux,
:class:`~pytest_loadtest._monitor._procfs.ProcfsReader` reads ``/proc``). CPU
percentages are computed here from cumulative CPU times and the sampler's own clock, not with
``psutil.cpu_percent()``, whose module-level state another caller in the process would disturb:

- ``cpu_percent``: the process's CPU time over the interval ending at the sample, per wall
  time; 100 is one core busy (as ``top`` shows it), so a GIL-bound process stays near 100;
- ``system_cpu_percent``: the machine's busy share of all cores over the same interval (0..100).

RSS, threads and open file descriptors are read at the sample's instant; IO bytes are counted
from the start of the run. Timestamps are seconds since the ``start_ns`` the engine passes, in
the engine's clock (``time.perf_counter_ns`` unless a test injects another). The samples are
plain data (:mod:`._samples`, re-exported here), serialisable and mergeable across processes.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import final

from pytest_loadtest._model._clock import Clock, SystemClock
from pytest_loadtest._model._metrics import NS
from pytest_loadtest._monitor._process import NoProcessReader, ProcessReader, Reading
from pytest_loadtest._monitor._procfs import default_reader
from pytest_loadtest._monitor._samples import ResourceSample, ResourceSamples

__all__ = [
    "ResourceSample",
    "ResourceSampler",
    "ResourceSamples",
]


@dataclass
class _Sampling:
    start_ns: int
    first: Reading
    last: Reading
    last_ns: int
    last_began_ns: int  # just before the last reading: it was taken between then and last_ns
    samples: list[ResourceSample] = field(default_factory=list)
    missed: int = 0
    cost_ns: int = 0
    readings: int = 0


@final
class ResourceSampler:
    """Samples the process every ``interval`` seconds on a daemon thread of its own.

    ``start(start_ns)`` takes a first sample (t = 0) and starts the thread; ``stop(end_ns)``
    takes a last one, joins the thread and returns the :class:`ResourceSamples`. Samples are
    due at ``start + k * interval``, so a late one does not shift the ones after it. ``clock``
    and ``reader`` are injectable; :meth:`sample` takes one sample at once (tests drive it).
    """

    def __init__(
        self,
        interval: float = 1.0,
        *,
        clock: Clock | None = None,
        reader: ProcessReader | None = None,
        cpu_count: int | None = None,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"resource sampling interval must be positive, got {interval!r}")
        self.interval = interval
        self._clock = clock if clock is not None else SystemClock()
        if reader is None:
            found = default_reader()
            if found is None:
                raise NoProcessReader("no way to read the process here: install psutil")
            reader, cpu_count = found[0], cpu_count or found[1]
        self._reader = reader
        self._cpu_count = cpu_count or 1
        self._stop = threading.Event()
        self._lock = threading.Lock()  # sample() from the thread and from stop()
        self._thread: threading.Thread | None = None
        self._state: _Sampling | None = None

    def start(self, start_ns: int | None = None) -> None:
        """Take the first sample (t = 0) and start sampling."""
        if self._state is not None:
            raise RuntimeError("the resource sampler is already running")
        start = self._clock.now_ns() if start_ns is None else start_ns
        began = self._clock.now_ns()
        first = self._reader.read()
        now = self._clock.now_ns()
        self._state = _Sampling(
            start_ns=start, first=first, last=first, last_ns=now, last_began_ns=began
        )
        self._state.samples.append(self._make(first, first, now, now))
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="loadtest-resources", daemon=True)
        self._thread.start()

    def sample(self) -> ResourceSample:
        """Take one sample now (the thread calls this; so may a test)."""
        with self._lock:
            state = self._require()
            began = self._clock.now_ns()
            reading = self._reader.read()
            now = self._clock.now_ns()
            state.cost_ns += now - began
            state.readings += 1
            # the last reading was taken somewhere after last_began_ns, this one before now: over
            # the longest span they can be apart, a CPU figure is never more than was possible
            # (a thread starved between a reading and its clock read made 463% of one core)
            sample = self._make(state.last, reading, state.last_began_ns, now)
            state.last, state.last_ns, state.last_began_ns = reading, now, began
            state.samples.append(sample)
            return sample

    def stop(self, end_ns: int | None = None) -> ResourceSamples:
        """Stop the thread, take a last sample unless the last one is less than half an
        interval old, and return everything sampled.

        ``end_ns`` is accepted for symmetry with the other watchers; the last sample is timed by
        the sampler's clock.
        """
        state = self._require()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._clock.now_ns() - state.last_ns >= self.interval * NS / 2:
            self.sample()  # shorter spans give CPU figures that are mostly clock-tick noise
        self._state = None
        return ResourceSamples(
            interval=self.interval,
            cpu_count=self._cpu_count,
            samples=tuple(state.samples),
            sample_cost_s=state.cost_ns / state.readings / NS if state.readings else 0.0,
            missed=state.missed,
        )

    def _require(self) -> _Sampling:
        if self._state is None:
            raise RuntimeError("the resource sampler is not running")
        return self._state

    def _loop(self) -> None:
        state = self._require()
        tick = 1
        while not self._stop.is_set():
            due = state.start_ns + round(tick * self.interval * NS)
            now = self._clock.now_ns()
            if due > now:
                self._clock.sleep((due - now) / NS, self._stop)
                continue  # re-check: the sleep may have been cut short
            # A starved thread (the GIL, a busy machine) may come back after its next tick has
            # passed too: it samples once, not twice in a row, since a CPU figure over a span
            # of microseconds is all clock-tick noise (10 ms ticks make 1,000s of percent).
            if now - state.last_ns >= self.interval * NS / 2:
                self.sample()
            now = self._clock.now_ns()
            following = max(tick + 1, int((now - state.start_ns) / (self.interval * NS)) + 1)
            state.missed += following - tick - 1  # ticks that passed while the thread starved
            tick = following

    def _make(self, before: Reading, after: Reading, before_ns: int, now_ns: int) -> ResourceSample:
        state = self._require()
        span = (now_ns - before_ns) / NS
        cpu = system = math.nan
        if span > 0:
            cpu = max(after.cpu_seconds - before.cpu_seconds, 0.0) / span * 100
            cpu = min(cpu, self._cpu_count * 100.0)  # all cores busy: the most there is
            total = after.system_total - before.system_total
            if total > 0:
                system = min(max((after.system_busy - before.system_busy) / total * 100, 0), 100)

        def since_start(now: int | None, first: int | None) -> int | None:
            return None if now is None or first is None else now - first

        return ResourceSample(
            t=(now_ns - state.start_ns) / NS,
            span=span,
            cpu_percent=cpu,
            system_cpu_percent=system,
            rss_bytes=after.rss_bytes,
            threads=after.threads,
            open_fds=after.open_fds,
            read_bytes=since_start(after.read_bytes, state.first.read_bytes),
            write_bytes=since_start(after.write_bytes, state.first.write_bytes),
        )
