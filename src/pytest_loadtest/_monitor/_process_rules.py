"""Process detectors: CPU-bound under the GIL, memory spikes, and leaks in soak tests.

They read the resource samples (``facts.resources``) beside the run's timeline.

Samples merged from several worker processes (scale-out, :meth:`ResourceSamples.merge`) sum
the processes: CPU 100 is one core of all of them together, RSS their sum. Summed as is, they
would trip these rules wrongly: two processes at half a core each would read as one process
stuck at one core (``cpu_bound``), and an instant one process did not sample would drop the sum
by its whole RSS and the next jump it back (``memory_spike``; the trend of ``soak_leak`` would
bend). So ``cpu_bound`` judges one process's CPU (each sample divided by the processes it sums,
:func:`busiest_cpu`) and its users per process, and the memory rules read only the samples
that count every process (:meth:`ResourceSamples.complete`).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import ClassVar, final

from pytest_loadtest._model._finding import Finding
from pytest_loadtest._model._units import format_bytes
from pytest_loadtest._monitor._facts import RunFacts, WindowRow, busiest_cpu
from pytest_loadtest._monitor._leaks import soak_trend

__all__ = ["CpuBound", "MemorySpike", "SoakLeak"]

MB = 1e6


def _throughput_by_users(timeline: list[WindowRow], window: float) -> dict[int, float]:
    """Active users -> mean calls per second of the windows run with that many users."""
    calls: dict[int, list[int]] = defaultdict(list)
    for row in timeline:
        if row.users > 0:
            calls[row.users].append(row.calls)
    return {users: sum(c) / len(c) / window for users, c in calls.items()}


@final
@dataclass(frozen=True)
class CpuBound:
    """Process CPU near one core (``min_cores``..``max_cores``) in the windows with the most
    users ``U``: Python code holding the GIL. When the run also had at most ``U/2`` users for a
    while (a ramp, stages), the finding needs calls/s to have stopped rising too: going from
    the largest such level ``u`` to ``U`` users added less than ``min_scaling`` of the linear
    gain (``(rate(U)/rate(u) - 1) / (U/u - 1)``). Without such a level (no ramp, one number of
    users) there is no evidence that more users would not help: nothing is reported, unless
    ``require_scaling`` is off, which reports it with low severity."""

    name: ClassVar[str] = "cpu_bound"
    min_cores: float = 0.8
    max_cores: float = 1.3
    min_scaling: float = 0.25
    min_users: int = 2
    min_samples: int = 2
    require_scaling: bool = True

    def check(self, facts: RunFacts) -> list[Finding]:
        """At most one finding."""
        busiest = busiest_cpu(facts, min_samples=self.min_samples)
        if busiest is None or facts.resources is None:
            return []
        cores, top_users = busiest  # one process's cores; the users of all processes
        processes = facts.resources.processes
        per_process = math.ceil(top_users / processes)  # threads contending for one GIL
        if per_process < self.min_users or not self.min_cores <= cores <= self.max_cores:
            return []
        rates = _throughput_by_users(list(facts.timeline), facts.window)
        lower = [u for u in rates if u * 2 <= top_users and rates[u] > 0]
        scaling = None
        if lower:
            users = max(lower)  # the level nearest to the top that is at most half of it
            scaling = (rates[top_users] / rates[users] - 1) / (top_users / users - 1)
            if scaling >= self.min_scaling:
                return []  # throughput still grows with users: not held back by one core
            ramp = (
                f"; {users} users gave {rates[users]:.0f} calls/s, {top_users} gave "
                f"{rates[top_users]:.0f} ({max(scaling, 0):.0%} of the linear gain)"
            )
        elif self.require_scaling:
            return []  # busy, but nothing shows that threads stopped paying off
        else:
            ramp = "; no lower user level in the run to compare scaling with"
        each = f" per process (the mean of {processes})" if processes > 1 else ""
        return [
            Finding(
                kind=self.name,
                title=f"CPU-bound on one core (the GIL) at {top_users} users",
                evidence=f"process CPU {cores * 100:.0f}% of one core{each}{ramp}",
                recommendation=(
                    "More threads will not help: run the work in several processes "
                    "(worker processes, multiprocessing, pytest-xdist for the test), or move "
                    "the hot Python code to C/numpy that releases the GIL"
                ),
                severity="medium" if scaling is not None else "low",
                data={
                    "cpu_cores": cores,
                    "users": top_users,
                    "scaling": scaling,
                    "cpu_count": facts.resources.cpu_count,
                    "processes": processes,
                },
            )
        ]


def _operation_of_window(facts: RunFacts, start: float, end: float) -> str | None:
    """The operation most over-represented in the windows overlapping ``[start, end]``: its
    calls there relative to its mean calls per window over the run."""
    best, best_ratio = None, 0.0
    for op, rows in facts.operation_timelines.items():
        total = sum(row.calls for row in rows)
        if total == 0:
            continue
        inside = sum(row.calls for row in rows if start - facts.window < row.t <= end)
        ratio = inside / (total / len(rows))
        if ratio > best_ratio:
            best, best_ratio = op, ratio
    if best is None and len(facts.operation_calls) == 1:
        return next(iter(facts.operation_calls))
    return best


@final
@dataclass(frozen=True)
class MemorySpike:
    """RSS rising by ``min_jump_mb`` or more between two consecutive samples (the largest jump
    is reported). It names the operation whose calls are most over-represented from the jump
    until the memory is given back (or two windows on): calls are counted when they complete,
    after they allocated."""

    name: ClassVar[str] = "memory_spike"
    min_jump_mb: float = 100.0

    def check(self, facts: RunFacts) -> list[Finding]:
        """At most one finding: the largest jump."""
        if facts.resources is None:
            return []
        samples = facts.resources.complete()  # a merged sum lacking a process is no jump
        jumps = [
            (after.rss_bytes - before.rss_bytes, before, after)
            for before, after in itertools.pairwise(samples)
        ]
        if not jumps:
            return []
        jump, before, after = max(jumps, key=lambda j: j[0])
        if jump < self.min_jump_mb * MB:
            return []
        # a call completes (and is counted in the timeline) after it allocated: look on until
        # the memory is given back, or two windows on
        later = [s for s in samples if s.t > after.t]
        back = next((s.t for s in later if s.rss_bytes <= before.rss_bytes + jump / 2), None)
        op = _operation_of_window(
            facts, before.t, back if back is not None else after.t + 2 * facts.window
        )
        during = f" during {op}" if op else ""
        return [
            Finding(
                kind=self.name,
                title=f"Memory spike{during} - {format_bytes(jump)}",
                evidence=(
                    f"RSS {format_bytes(before.rss_bytes)} -> {format_bytes(after.rss_bytes)} "
                    f"between {before.t:.1f}s and {after.t:.1f}s "
                    f"(peak {format_bytes(facts.resources.rss_peak)})"
                ),
                recommendation=(
                    f"Process {op or 'the work'} in batches (pagination, chunked queries, "
                    "yield_per()/stream_results) instead of loading everything at once"
                ),
                severity="medium",
                data={
                    "operation": op,
                    "jump_bytes": jump,
                    "from_t": before.t,
                    "to_t": after.t,
                    "rss_before": before.rss_bytes,
                    "rss_after": after.rss_bytes,
                },
            )
        ]


@final
@dataclass(frozen=True)
class SoakLeak:
    """RSS growing significantly faster than ``max_mb_per_hour`` after the warm-up (the
    whole ``confidence`` interval of the least-squares slope above it) by at least
    ``min_growth_mb`` in total. Runs for soak tests only unless ``soak_only`` is false.
    The warm-up is the run's own, but at least ``warmup_fraction`` of its duration."""

    name: ClassVar[str] = "soak_leak"
    max_mb_per_hour: float = 50.0
    min_growth_mb: float = 5.0
    warmup_fraction: float = 0.1
    confidence: float = 0.95
    soak_only: bool = True

    def check(self, facts: RunFacts) -> list[Finding]:
        """At most one finding."""
        if facts.resources is None or (self.soak_only and not facts.soak):
            return []
        trend = soak_trend(
            facts.resources,
            duration=facts.duration,
            warmup_s=facts.warmup_s,
            warmup_fraction=self.warmup_fraction,
            confidence=self.confidence,
        )
        if trend is None or not trend.exceeds(
            self.max_mb_per_hour, min_growth_mb=self.min_growth_mb
        ):
            return []
        sites = list(facts.allocations[:3])
        if sites:
            where = "; ".join(f"{s.where} +{format_bytes(s.size_diff_bytes)}" for s in sites)
            evidence = f"RSS {trend.describe()}; growing allocations: {where}"
            recommendation = (
                f"Find what keeps the objects allocated at {sites[0].where} alive (a cache "
                "without a bound, a list or dict that is only appended to, listeners never "
                "removed) and bound or release it"
            )
        else:
            evidence = f"RSS {trend.describe()}"
            recommendation = (
                "Run with --load-tracemalloc to see the growing allocation sites, then bound "
                "or release what keeps them alive (caches, lists only appended to)"
            )
        return [
            Finding(
                kind=self.name,
                title=f"Memory leak: RSS grows {trend.slope_mb_per_hour:,.0f} MB/h",
                evidence=evidence,
                recommendation=recommendation,
                severity="high",
                data={
                    "trend": trend.to_dict(),
                    "limit_mb_per_hour": self.max_mb_per_hour,
                    "allocations": [s.to_dict() for s in sites],
                },
            )
        ]
