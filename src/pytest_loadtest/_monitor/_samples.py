"""What the resource monitor saw, as plain data: samples of the process over a run.

:class:`~pytest_loadtest._monitor._resources.ResourceSampler` makes them in one process;
``to_dict`` / ``from_dict`` carry them as JSON, and :meth:`ResourceSamples.merge` adds the samples
of several worker processes that ran one load test together (scale-out) into one series, each
merged sample counting the processes it sums (``processes``), so that a rule about one process
(the GIL's one core) can divide by it and a rule comparing samples over time (a memory jump, the
RSS trend) can leave out the instants some processes did not sample.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, final

from pytest_loadtest._model._metrics import nan_if_none, none_if_nan

__all__ = ["ResourceSample", "ResourceSamples"]


@final
@dataclass(frozen=True, slots=True)
class ResourceSample:
    """The process at ``t`` seconds since the start; CPU figures cover ``(t - span, t]``."""

    t: float
    span: float  # seconds since the previous sample (0 for the first)
    cpu_percent: float  # process; 100 = one core; nan for the first sample
    system_cpu_percent: float  # machine, 0..100 of all cores; nan for the first sample
    rss_bytes: int
    threads: int
    open_fds: int | None
    read_bytes: int | None  # since the start of the run
    write_bytes: int | None
    processes: int = 1  # the worker processes whose samples this one sums (merged runs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``None`` for nan; ``processes`` only for a merged sample)."""
        out = {
            "t": self.t,
            "span": self.span,
            "cpu_percent": none_if_nan(self.cpu_percent),
            "system_cpu_percent": none_if_nan(self.system_cpu_percent),
            "rss_bytes": self.rss_bytes,
            "threads": self.threads,
            "open_fds": self.open_fds,
            "read_bytes": self.read_bytes,
            "write_bytes": self.write_bytes,
        }
        if self.processes != 1:
            out["processes"] = self.processes
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResourceSample:
        """Inverse of :meth:`to_dict`."""

        def optional(key: str) -> int | None:
            value = data.get(key)
            return None if value is None else int(value)

        processes = int(data.get("processes", 1))
        if processes < 1:
            raise ValueError(f"a sample sums at least one process, not {processes}")
        return cls(
            t=float(data["t"]),
            span=float(data.get("span", 0.0)),
            cpu_percent=nan_if_none(data.get("cpu_percent")),
            system_cpu_percent=nan_if_none(data.get("system_cpu_percent")),
            rss_bytes=int(data["rss_bytes"]),
            threads=int(data.get("threads", 0)),
            open_fds=optional("open_fds"),
            read_bytes=optional("read_bytes"),
            write_bytes=optional("write_bytes"),
            processes=processes,
        )


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


@final
@dataclass(frozen=True)
class ResourceSamples:
    """What the sampler saw during a run: the samples, their peaks and means.

    Merged from several processes (:meth:`merge`), every figure is of the processes together
    (CPU 100 = one core of all of them, RSS their sum); :attr:`processes` says how many.
    """

    interval: float
    cpu_count: int
    samples: tuple[ResourceSample, ...] = ()
    sample_cost_s: float = 0.0  # mean wall time of one reading: the monitor's own cost
    missed: int = 0  # samples that were due and not taken (the sampler's thread was starved)

    @property
    def processes(self) -> int:
        """How many processes the samples sum: 1, or the parts of a :meth:`merge`."""
        return max((s.processes for s in self.samples), default=1)

    def complete(self) -> tuple[ResourceSample, ...]:
        """The samples that count every process: all of them, but for a merged series only
        the instants every process sampled (elsewhere a sum lacks whole processes' RSS)."""
        full = self.processes
        return tuple(s for s in self.samples if s.processes == full)

    @property
    def cpu_peak(self) -> float:
        """Highest process CPU % of a sample (100 = one core); nan without CPU samples."""
        values = _finite([s.cpu_percent for s in self.samples])
        return max(values) if values else math.nan

    @property
    def cpu_mean(self) -> float:
        """Process CPU % over the whole sampled period, weighted by each sample's span."""
        pairs = [(s.cpu_percent, s.span) for s in self.samples if math.isfinite(s.cpu_percent)]
        total = sum(span for _, span in pairs)
        return sum(v * span for v, span in pairs) / total if total > 0 else math.nan

    @property
    def system_cpu_peak(self) -> float:
        """Highest machine CPU % (0..100 of all cores)."""
        values = _finite([s.system_cpu_percent for s in self.samples])
        return max(values) if values else math.nan

    @property
    def rss_peak(self) -> int:
        """Highest RSS seen, in bytes (0 without samples)."""
        return max((s.rss_bytes for s in self.samples), default=0)

    @property
    def rss_mean(self) -> float:
        """Mean RSS of the samples, in bytes."""
        return sum(s.rss_bytes for s in self.samples) / len(self.samples) if self.samples else 0.0

    @property
    def threads_peak(self) -> int:
        """Most threads seen at once."""
        return max((s.threads for s in self.samples), default=0)

    @property
    def open_fds_peak(self) -> int | None:
        """Most open file descriptors seen at once (``None`` where unavailable)."""
        values = [s.open_fds for s in self.samples if s.open_fds is not None]
        return max(values) if values else None

    def summary(self) -> dict[str, Any]:
        """Peaks and means, JSON-ready (what ``result.resources`` shows first)."""

        def clean(value: float) -> float | None:
            return value if math.isfinite(value) else None

        last = self.samples[-1] if self.samples else None
        return {
            "cpu_peak_percent": clean(self.cpu_peak),
            "cpu_mean_percent": clean(self.cpu_mean),
            "system_cpu_peak_percent": clean(self.system_cpu_peak),
            "rss_peak_bytes": self.rss_peak,
            "rss_mean_bytes": self.rss_mean,
            "threads_peak": self.threads_peak,
            "open_fds_peak": self.open_fds_peak,
            "read_bytes": last.read_bytes if last else None,
            "write_bytes": last.write_bytes if last else None,
            "cpu_count": self.cpu_count,
            "samples": len(self.samples),
            "interval": self.interval,
            "sample_cost_ms": self.sample_cost_s * 1e3,
            "samples_missed": self.missed,
            **({"processes": self.processes} if self.processes != 1 else {}),
        }

    def by_window(self, window: float = 1.0) -> dict[float, ResourceSample]:
        """The sample that best describes each timeline window, keyed by the window's start.

        A sample's CPU covers the interval before it, so it belongs to the window holding the
        middle of that interval; when several do, the last one wins (its RSS is the window's
        latest). The first sample (t = 0, no CPU figure) describes window 0 only if no other does.
        In a merged series, a sample that counts every process wins over one that lacks some.
        """
        if window <= 0:
            raise ValueError("window must be positive")
        full = self.processes
        out: dict[float, ResourceSample] = {}
        for sample in self.samples:
            middle = sample.t - sample.span / 2
            key = math.floor(max(middle, 0.0) / window + 1e-9) * window
            held = out.get(key)
            if held is None or sample.processes == full or held.processes != full:
                out[key] = sample
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the summary plus every sample."""
        return {
            **self.summary(),
            "sample_cost_s": self.sample_cost_s,
            "samples": [s.to_dict() for s in self.samples],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResourceSamples:
        """Inverse of :meth:`to_dict` (the summary is recomputed from the samples)."""
        return cls(
            interval=float(data["interval"]),
            cpu_count=int(data.get("cpu_count", 1)),
            samples=tuple(ResourceSample.from_dict(s) for s in data.get("samples", [])),
            sample_cost_s=float(data.get("sample_cost_s", 0.0)),
            missed=int(data.get("samples_missed", 0)),
        )

    @classmethod
    def merge(cls, parts: Sequence[ResourceSamples]) -> ResourceSamples:
        """The samples of processes that ran one load test together, as one series.

        The parts' samples are aligned by their time since their own start (every process
        starts its sampler on the run's common start), rounded to the sampling interval; the
        samples of one instant are summed. A merged sample means:

        - ``t``, ``span``: the mean of the summed samples' (their CPU covers about that span);
        - ``cpu_percent``: the CPU of the processes together, 100 = one core (four processes
          each at one core: 400); ``nan`` when none of them has a CPU figure (the first sample);
        - ``system_cpu_percent``: the busiest machine's share of its cores (the highest of the
          parts', not a sum: processes on one machine all see that machine);
        - ``rss_bytes``, ``threads``, ``open_fds``: the processes' sums at that instant
          (``open_fds`` of those that can count them; ``None`` if none can);
        - ``read_bytes``, ``write_bytes``: the IO of the processes together since the start;
        - ``processes``: how many processes the sample sums. An instant only some processes
          sampled (one was starved, or stopped later) counts what those have: its sums lack the
          others, so rules comparing samples over time use :meth:`complete`, and rules about one
          process's CPU divide by ``processes``.

        Two samples of one process that round to the same instant (a starved sampler) are one
        sample first: their CPU averaged over their spans, the gauges of the later one.
        ``cpu_count`` is the highest of the parts' (processes of one machine share its cores),
        ``sample_cost_s`` their mean, ``missed`` their sum. ``ValueError`` for no part or parts
        sampled at different intervals.
        """
        if not parts:
            raise ValueError("no resource samples to merge")
        interval = parts[0].interval
        if any(part.interval != interval for part in parts):
            intervals = sorted({part.interval for part in parts})
            raise ValueError(f"resource samples of different intervals cannot merge: {intervals}")
        instants: dict[int, list[ResourceSample]] = {}
        for part in parts:
            for key, sample in _aligned(part).items():
                instants.setdefault(key, []).append(sample)
        return cls(
            interval=interval,
            cpu_count=max(part.cpu_count for part in parts),
            samples=tuple(_summed(instants[key]) for key in sorted(instants)),
            sample_cost_s=math.fsum(part.sample_cost_s for part in parts) / len(parts),
            missed=sum(part.missed for part in parts),
        )


def _aligned(part: ResourceSamples) -> dict[int, ResourceSample]:
    """One process's samples by instant (multiples of the interval since its start)."""
    out: dict[int, ResourceSample] = {}
    for sample in part.samples:
        key = math.floor(sample.t / part.interval + 0.5)  # halves up, not to even
        earlier = out.get(key)
        out[key] = sample if earlier is None else _joined(earlier, sample)
    return out


def _span_weighted(pairs: Sequence[tuple[float, float]]) -> float:
    """The mean of ``(value, span)`` pairs weighted by span, over the finite values."""
    known = [(value, span) for value, span in pairs if math.isfinite(value)]
    total = math.fsum(span for _, span in known)
    if not known:
        return math.nan
    if total <= 0:
        return known[-1][0]
    return math.fsum(value * span for value, span in known) / total


def _joined(earlier: ResourceSample, later: ResourceSample) -> ResourceSample:
    """Two consecutive samples of one process as one: CPU over both spans, the later gauges."""
    cpu = _span_weighted([(earlier.cpu_percent, earlier.span), (later.cpu_percent, later.span)])
    system = _span_weighted(
        [(earlier.system_cpu_percent, earlier.span), (later.system_cpu_percent, later.span)]
    )
    return ResourceSample(
        t=later.t,
        span=earlier.span + later.span,
        cpu_percent=cpu,
        system_cpu_percent=system,
        rss_bytes=later.rss_bytes,
        threads=later.threads,
        open_fds=later.open_fds,
        read_bytes=later.read_bytes,
        write_bytes=later.write_bytes,
        processes=later.processes,
    )


def _sum_known(values: Sequence[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _summed(samples: Sequence[ResourceSample]) -> ResourceSample:
    """The samples of several processes at one instant, as one (see ``merge``)."""
    cpu = _finite([s.cpu_percent for s in samples])
    system = _finite([s.system_cpu_percent for s in samples])
    return ResourceSample(
        t=math.fsum(s.t for s in samples) / len(samples),
        span=math.fsum(s.span for s in samples) / len(samples),
        cpu_percent=math.fsum(cpu) if cpu else math.nan,
        system_cpu_percent=max(system) if system else math.nan,
        rss_bytes=sum(s.rss_bytes for s in samples),
        threads=sum(s.threads for s in samples),
        open_fds=_sum_known([s.open_fds for s in samples]),
        read_bytes=_sum_known([s.read_bytes for s in samples]),
        write_bytes=_sum_known([s.write_bytes for s in samples]),
        processes=sum(s.processes for s in samples),
    )
