"""What a running load test has done so far, and what shows it (the report's printer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, final

__all__ = ["Progress", "ProgressSnapshot"]


@final
@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    """What a running load test has done so far.

    ``total`` is the planned duration in seconds (``None``: the run ends by iterations or has no
    planned end); ``iterations``/``iterations_total`` count finished and planned iterations
    when the run is bounded by them. Rates and the p95 are over a recent window; ``p95_ms`` is
    ``nan`` while nothing was measured.
    """

    elapsed: float
    total: float | None
    active_users: int
    calls_per_s: float
    error_rate: float
    p95_ms: float
    name: str = ""
    users: int | None = None
    calls: int | None = None
    iterations_total: int | None = None


class Progress(Protocol):
    """Shows a run's progress: what :class:`ProgressPrinter` does."""

    def due(self) -> bool:
        """Whether a new snapshot would be shown now."""
        ...

    def update(self, snapshot: ProgressSnapshot) -> object:
        """A new snapshot (called by the engine's collector thread)."""
        ...

    def finish(self) -> object:
        """The run ended."""
        ...
