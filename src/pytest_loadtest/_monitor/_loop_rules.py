"""Loop detector: async targets that block the event loop every async user shares.

It reads the loop health (``facts.loop``): the lag probe's figures and the blocking steps of each
operation (a step of a target's coroutine that held the loop for ``step_floor_ms`` or more).
Only the lag that those steps overlapped (``blamed_*``) counts: lag from the harness or the
machine happens outside the target's steps and is never blamed on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Final, final

from pytest_loadtest._model._finding import Finding
from pytest_loadtest._model._loop import LoopHealth
from pytest_loadtest._monitor._facts import RunFacts

__all__ = ["EventLoopBlocked"]

#: Operations named in the title and the evidence, at most.
_NAMED: Final = 3


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


@final
@dataclass(frozen=True)
class EventLoopBlocked:
    """The target's blocking steps caused event-loop lag of ``min_lag_ms`` or more at
    ``min_wakes`` of the probe's wake-ups or more (a block or two, such as SQLAlchemy's first
    compile of a statement, is not a pattern), or held the loop for ``min_share`` of the run or
    more (many shorter blocks: each delays every other user a little, all the time). Names the
    operations whose blocking steps (each at least the engine's floor, 5 ms) held the loop
    longest in all, with their longest step; operations whose longest step is below
    ``min_step_ms`` are left out. Severity: high from ``high_lag_ms`` of blamed lag at p99,
    medium from ``min_lag_ms`` at p99, low below (blocks that recur, rarely)."""

    name: ClassVar[str] = "event_loop_blocked"
    min_lag_ms: float = 20.0
    min_wakes: int = 5
    min_step_ms: float = 10.0
    min_share: float = 0.25
    high_lag_ms: float = 100.0

    def check(self, facts: RunFacts) -> list[Finding]:
        """At most one finding."""
        loop = facts.loop
        if loop is None or not loop.wakes or not math.isfinite(loop.blamed_p99):
            return []
        culprits = sorted(
            (
                (name, steps)
                for name, steps in loop.operations.items()
                if steps.longest_ms >= self.min_step_ms
            ),
            key=lambda item: -item[1].total_ms,
        )
        held_s = sum(s.total_ms for _, s in culprits) / 1000
        share = held_s / (facts.duration * loop.loops) if facts.duration > 0 else 0.0
        late = sum(1 for lag in loop.blamed_top if lag >= self.min_lag_ms)
        if not culprits or (late < self.min_wakes and share < self.min_share):
            return []
        named = [name for name, _ in culprits[:_NAMED]]
        more = f" (+{len(culprits) - _NAMED} more)" if len(culprits) > _NAMED else ""
        steps = "; ".join(
            f"{name}: {s.steps:,} blocking step{'s' if s.steps != 1 else ''}, longest "
            f"{_ms(s.longest_ms)}, {_ms(s.total_ms)} in all"
            + (f" ({s.total_ms / 1000 / facts.duration:.0%} of the run)" if facts.duration else "")
            for name, s in culprits[:_NAMED]
        )
        return [
            Finding(
                kind=self.name,
                title=f"Event loop blocked by {', '.join(named)}{more}",
                evidence=f"{_lag_text(loop)}; {steps}",
                recommendation=(
                    f"{' and '.join(named[:2])} run{'s' if len(named) == 1 else ''} blocking "
                    "code inside `async def`, holding the loop every async user shares: use an "
                    "async driver (httpx.AsyncClient, asyncpg/aiosqlite, `await asyncio.sleep`) "
                    "instead of a sync one (requests, a sync database driver, `time.sleep`), "
                    "wrap a blocking call that must stay in `await asyncio.to_thread(...)`, and "
                    "move CPU work out of the loop (a process pool via `run_in_executor`)"
                ),
                severity="high"
                if loop.blamed_p99 >= self.high_lag_ms
                else "medium"
                if loop.blamed_p99 >= self.min_lag_ms or share >= self.min_share
                else "low",
                data={
                    "operations": {name: s.to_dict() for name, s in culprits},
                    "lag_p99_ms": loop.lag_p99,
                    "lag_max_ms": loop.lag_max,
                    "blamed_p99_ms": loop.blamed_p99,
                    "blamed_max_ms": loop.blamed_max,
                    "held_share": share,
                    "blamed_wakes": late,
                    "probe_interval_ms": loop.interval_ms,
                    "loops": loop.loops,
                },
            )
        ]


def _lag_text(loop: LoopHealth) -> str:
    """The lag figures: all lag, and the part the target's steps caused when it differs."""
    text = f"event loop lag p99 {_ms(loop.lag_p99)}, max {_ms(loop.lag_max)}"
    if loop.blamed_p99 < loop.lag_p99 * 0.9:
        text += f" ({_ms(loop.blamed_p99)} at p99 from these steps)"
    text += f" (probe every {loop.interval_ms:g} ms"
    return text + (f", worst of {loop.loops} loops)" if loop.loops > 1 else ")")
