"""A clock for engine tests whose time moves only when a test, a target or a sleep moves it.

The same clock as ``test_engine.py``'s, shared by the engine tests of the load profiles.
"""

from __future__ import annotations

import threading
from typing import Final

NS: Final = 1_000_000_000


class FakeClock:
    """A clock for the engine whose time advances only when told to.

    By default targets move time with ``advance``; a user thread's sleep (think time, a ramp-up
    slot) moves it by the time slept, and the engine's main loop waits a little real time
    without moving it, so that a measured call sees only the time its target added.

    With ``driven_by_main`` the engine's main loop moves time by each poll instead, and a user's
    sleep waits until the clock reaches its wake-up time, as several sleeping users would in real
    time. The open model's dispatcher is the main loop, so it needs this mode.
    """

    def __init__(self, *, driven_by_main: bool = False) -> None:
        self._ns = 1_000 * NS
        self._changed = threading.Condition()
        self._owner = threading.get_ident()
        self._driven_by_main = driven_by_main
        self.sleeps: list[float] = []
        self._stalled = False  # the main loop stopped moving time (see pass_time)

    def now_ns(self) -> int:
        return self._ns

    def advance(self, seconds: float) -> None:
        with self._changed:
            self._ns += round(seconds * NS)
            self._changed.notify_all()

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        if threading.get_ident() == self._owner:
            if self._driven_by_main:
                # real time for users woken at this instant to take their turn before time moves
                # on: an open-model user handed an iteration then starts it at its due time
                stop.wait(0.002)
                self._stalled = False
                self.advance(seconds)
            else:
                stop.wait(0.0005)
            return
        self.sleeps.append(seconds)
        if not self._driven_by_main:
            self.advance(seconds)
            return
        with self._changed:
            wake = self._ns + round(seconds * NS)
            while self._ns < wake and not stop.is_set():
                self._changed.wait(0.01)

    def pass_time(self, seconds: float) -> None:
        """A target's work of ``seconds`` (``driven_by_main``): wait for the main loop to move
        time on that far.

        Once time has stood still for 0.2 s of real time the main loop has stopped moving it
        (the run is over, or stopping early): the call then moves time on itself, so that it
        ends, and a user looping on such calls sees the time of its next check come.
        """
        with self._changed:
            wake = self._ns + round(seconds * NS)
            while self._ns < wake:
                before = self._ns
                if not self._stalled:
                    self._changed.wait(0.2)
                if self._ns == before:
                    self._stalled = True
                    self._ns = wake
                    self._changed.notify_all()
