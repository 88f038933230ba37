"""The event loop's health in words: one line for the terminal summary and the HTML notes.

Async users share one event loop; the engine probes how late a scheduled wake-up runs there (its
lag) and which part of that lag the target's own blocking steps caused
(:mod:`pytest_loadtest._model._loop`). A target that blocks the loop is a finding
(``event_loop_blocked``); this line tells the lag itself, and says when it was not the target's.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult

__all__ = ["loop_text"]

#: Lag p99 (ms) from which the terminal tells the loop's lag without -v.
NOTABLE_LAG_MS: Final = 20.0


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def loop_text(result: LoadResult, *, always: bool = True) -> str:
    """``"event loop lag p99 .., max .. (...)"`` for a run of async users; ``""`` for users on
    threads, a loop the probe never saw wake, a run whose ``event_loop_blocked`` finding tells
    the lag already, or (``always`` false) a lag p99 below :data:`NOTABLE_LAG_MS`."""
    loop = result.loop
    if not loop or any(f.kind == "event_loop_blocked" for f in result.findings):
        return ""
    p99, top = loop.get("lag_p99"), loop.get("lag_max")
    if not isinstance(p99, (int, float)) or not isinstance(top, (int, float)):
        return ""
    if not always and p99 < NOTABLE_LAG_MS:
        return ""
    blamed = loop.get("blamed_p99")
    blamed = float(blamed) if isinstance(blamed, (int, float)) else math.nan
    text = f"event loop lag p99 {_ms(p99)}, max {_ms(top)}"
    loops = int(loop.get("loops") or 1)
    probe = f"probe every {float(loop.get('interval_ms') or 0):g} ms"
    text += f" ({probe}, worst of {loops} loops)" if loops > 1 else f" ({probe})"
    if p99 >= NOTABLE_LAG_MS:
        if math.isfinite(blamed) and blamed >= p99 * 0.5:
            text += f"; {_ms(blamed)} of it at p99 from the target's blocking steps"
        else:
            text += (
                "; not from the target's own steps (the harness or the machine: "
                "many users per loop, CPU contention)"
            )
    return text
