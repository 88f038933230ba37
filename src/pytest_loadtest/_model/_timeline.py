"""Timeline rows (one window of one operation, or of all) and error samples of a run."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, final

from pytest_loadtest._model._metrics import nan_if_none, none_if_nan

__all__ = ["ErrorSample", "TimelineRow"]


@final
@dataclass(slots=True)
class TimelineRow:
    """One window (by default one second) of one operation, or of all operations."""

    t: float  # window start, seconds since the run started
    calls: int
    errors: int
    users: int
    p50: float
    p95: float
    p99: float
    max: float
    warmup: bool = False
    dropped: int = 0  # open model: iterations due in this window that found no free user
    cpu: float = math.nan  # process CPU in the window, 100 = one core (resource monitor)
    rss_mb: float = math.nan  # resident memory at the window's sample, MB
    loop_lag: float = math.nan  # async users: the event loop's worst lag in the window, ms

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form; latencies in ms, ``None`` for an empty window."""
        return {
            "t": self.t,
            "calls": self.calls,
            "errors": self.errors,
            "users": self.users,
            "p50": none_if_nan(self.p50),
            "p95": none_if_nan(self.p95),
            "p99": none_if_nan(self.p99),
            "max": none_if_nan(self.max),
            "warmup": self.warmup,
            "dropped": self.dropped,
            "cpu": none_if_nan(self.cpu),
            "rss_mb": none_if_nan(self.rss_mb),
            "loop_lag": none_if_nan(self.loop_lag),
        }

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> TimelineRow:
        """Inverse of :meth:`to_dict`."""
        return cls(
            t=float(row["t"]),
            calls=int(row["calls"]),
            errors=int(row["errors"]),
            users=int(row["users"]),
            p50=nan_if_none(row.get("p50")),
            p95=nan_if_none(row.get("p95")),
            p99=nan_if_none(row.get("p99")),
            max=nan_if_none(row.get("max")),
            warmup=bool(row.get("warmup", False)),
            dropped=int(row.get("dropped", 0)),
            cpu=nan_if_none(row.get("cpu")),
            rss_mb=nan_if_none(row.get("rss_mb")),
            loop_lag=nan_if_none(row.get("loop_lag")),
        )


@final
@dataclass(slots=True)
class ErrorSample:
    """Count of one exception type in one operation, with the first message and traceback."""

    type_name: str
    count: int = 0
    message: str = ""
    traceback: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "type": self.type_name,
            "count": self.count,
            "message": self.message,
            "traceback": self.traceback,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorSample:
        """Inverse of :meth:`to_dict`."""
        return cls(
            str(data["type"]), int(data["count"]), str(data["message"]), str(data["traceback"])
        )
