"""The time source of a run, injectable so that tests need not wait."""

from __future__ import annotations

import threading
import time
from typing import Protocol, final

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """Time source of a run; injectable so tests need not wait."""

    def now_ns(self) -> int:
        """Monotonic nanoseconds."""
        ...

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        """Pause for ``seconds`` or until ``stop`` is set."""
        ...


@final
class SystemClock:
    """``time.perf_counter_ns`` and an interruptible sleep."""

    now_ns = staticmethod(time.perf_counter_ns)

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        """Wait on ``stop`` so that stopping cuts the pause short."""
        if seconds > 0:
            stop.wait(seconds)
