"""What the detectors look at: :class:`RunFacts`, plain data the engine fills after a run.

Timeline rows are anything with ``t``, ``calls`` and ``users`` (the engine's ``TimelineRow``, or
:class:`Window` in tests), so the detectors can be tested without running anything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol, final

from pytest_loadtest._model._loop import LoopHealth
from pytest_loadtest._monitor._leaks import AllocationSite
from pytest_loadtest._monitor._samples import ResourceSamples
from pytest_loadtest._monitor._statements import DatabaseStats

__all__ = ["RunFacts", "Window", "WindowRow", "busiest_cpu", "short_sql"]

_SQL_WIDTH: Final = 70
_SELECT_LIST: Final = re.compile(r"^(SELECT(?: DISTINCT)?) (?!\.\.\. ).+? FROM ", re.IGNORECASE)


class WindowRow(Protocol):
    """One timeline window: its start (seconds since the run began), calls and active users."""

    @property
    def t(self) -> float:
        """Window start in seconds since the run started."""
        ...

    @property
    def calls(self) -> int:
        """Calls that completed in the window."""
        ...

    @property
    def users(self) -> int:
        """Users active in the window."""
        ...


@final
@dataclass(frozen=True)
class Window:
    """A plain :class:`WindowRow`."""

    t: float
    calls: int
    users: int = 0


@final
@dataclass(frozen=True)
class RunFacts:
    """A run as the detectors see it.

    ``operation_calls``: measured calls of each operation (tasks, steps, hooks), the divisor of
    statements per call. ``operation_timelines``: each operation's windows (its calls per
    window; ``users`` unused). ``warmup_s``: seconds at the start that leak fitting ignores
    (at least ``SoakLeak.warmup_fraction`` of the duration is ignored anyway). ``soak``: the
    test is a soak test (the leak rule runs only then, unless told otherwise). ``loop``: the
    health of the async users' event loop (lag, blocking steps), ``None`` for users on threads.
    """

    duration: float = 0.0
    window: float = 1.0
    timeline: Sequence[WindowRow] = ()
    operation_calls: Mapping[str, int] = field(default_factory=dict)
    operation_timelines: Mapping[str, Sequence[WindowRow]] = field(default_factory=dict)
    resources: ResourceSamples | None = None
    databases: Sequence[DatabaseStats] = ()
    allocations: Sequence[AllocationSite] = ()
    soak: bool = False
    warmup_s: float = 0.0
    loop: LoopHealth | None = None


def short_sql(sql: str, width: int = _SQL_WIDTH) -> str:
    """A statement for a one-line title: a long select list shown as ``...`` (the ``FROM`` and
    ``WHERE`` say more), then cut to ``width`` characters."""
    if len(sql) > width:
        sql = _SELECT_LIST.sub(r"\1 ... FROM ", sql, count=1)
    return sql if len(sql) <= width else sql[: width - 3].rstrip() + "..."


def busiest_cpu(facts: RunFacts, *, min_samples: int = 2) -> tuple[float, int] | None:
    """``(cores, users)``: the process's CPU (in cores) over the timeline windows with the most
    users, and that number of users; ``None`` with fewer than ``min_samples`` resource samples
    there. Samples count by the middle of the interval they cover, weighted by its length (a
    short interval's CPU figure is mostly clock-tick noise).

    Samples merged from several worker processes sum their CPU: each is divided by the
    processes it sums, so ``cores`` is always one process's (their mean), which is what the
    GIL's one core is compared with (two processes at half a core each are not one GIL-bound
    process at one core). ``users`` stays the run's total: the timeline's."""
    timeline = list(facts.timeline)
    if facts.resources is None or not timeline:
        return None
    top_users = max(row.users for row in timeline)
    busiest = {round(row.t / facts.window) for row in timeline if row.users == top_users}
    weighted = total = 0.0
    count = 0
    for sample in facts.resources.samples:
        window = math.floor((sample.t - sample.span / 2) / facts.window + 1e-9)
        if sample.span > 0 and math.isfinite(sample.cpu_percent) and window in busiest:
            weighted += sample.cpu_percent / sample.processes * sample.span
            total += sample.span
            count += 1
    if count < min_samples or total <= 0:
        return None
    return weighted / total / 100, top_users
