"""Why and when a run was stopped early (``abort_on_breach``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

__all__ = ["Abort"]


@final
@dataclass(frozen=True, slots=True)
class Abort:
    """Why and when a run was stopped early."""

    at: float  # seconds since the start
    since: float  # when the rolling breach began
    grace: float
    window: float
    breaches: tuple[str, ...]

    def message(self, duration: float) -> str:
        """One line saying the run was aborted, when, and on what breach."""
        return (
            f"aborted at {self.at:.1f}s of {duration:g}s (abort_on_breach): the SLA was breached "
            f"over a rolling {self.window:g}s window from {self.since:.1f}s on, for at least the "
            f"grace of {self.grace:g}s: " + "; ".join(self.breaches)
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "at": self.at,
            "since": self.since,
            "grace": self.grace,
            "window": self.window,
            "breaches": list(self.breaches),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Abort:
        """Inverse of :meth:`to_dict`."""
        breaches = data.get("breaches", [])
        return cls(
            at=float(data["at"]),  # type: ignore[arg-type]
            since=float(data["since"]),  # type: ignore[arg-type]
            grace=float(data["grace"]),  # type: ignore[arg-type]
            window=float(data["window"]),  # type: ignore[arg-type]
            breaches=tuple(str(b) for b in breaches) if isinstance(breaches, list) else (),
        )
