"""The suite's one fake clock: time moves only when a test, a target or a sleep moves it.

It serves every clock the code under test takes: the engine's and the monitor's ``Clock``
(``now_ns()`` and ``sleep(seconds, stop)``) and the progress printer's ``time.monotonic``
twin (calling it gives seconds). ``moved_by`` says what moves time besides ``advance``.
"""

from __future__ import annotations

import threading
from typing import Final, Literal

NS: Final = 1_000_000_000

#: What moves the clock besides :meth:`FakeClock.advance` (see :class:`FakeClock`).
MovedBy = Literal["users", "main", "sleeps", "test"]


class FakeClock:
    """A clock whose time advances only when told to.

    The thread that makes the clock is its owner (in engine tests, the engine's main loop).
    ``moved_by`` chooses what a sleep does:

    ``"users"`` (the default, for the engine): targets move time with ``advance``; a user
    thread's sleep (think time, a ramp-up slot) moves it by the time slept, and the owner's
    sleep waits a little real time without moving it, so that a measured call sees only the
    time its target added.

    ``"main"``: the owner's sleep moves time by each poll instead, and a user's sleep waits
    until the clock reaches its wake-up time, as several sleeping users would in real time.
    The open model's dispatcher is the engine's main loop, so it needs this mode.

    ``"sleeps"``: every sleep moves time exactly to its wake-up time, after a little real time
    so that ``stop`` gets through (a sampler thread that samples on schedule).

    ``"test"``: only the test moves time; every sleep waits a little real time, so a sampler
    thread takes no sample before the test has advanced past its due time.

    ``now`` is the time in seconds and may be set; calling the clock gives it too.
    """

    def __init__(self, *, start: float = 1_000.0, moved_by: MovedBy = "users") -> None:
        self._ns = round(start * NS)
        self._changed = threading.Condition()
        self._owner = threading.get_ident()
        self._moved_by = moved_by
        #: the sleeps of every thread but the owner, in seconds (``"users"`` and ``"main"``)
        self.sleeps: list[float] = []
        self._stalled = False  # the main loop stopped moving time (see pass_time)

    def now_ns(self) -> int:
        """The time in nanoseconds (the engine's and the monitor's clock)."""
        return self._ns

    @property
    def now(self) -> float:
        """The time in seconds."""
        return self._ns / NS

    @now.setter
    def now(self, seconds: float) -> None:
        with self._changed:
            self._ns = round(seconds * NS)
            self._changed.notify_all()

    def __call__(self) -> float:
        """The time in seconds, as ``time.monotonic()`` gives it (the progress printer's clock)."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time on by ``seconds``."""
        with self._changed:
            self._ns += round(seconds * NS)
            self._changed.notify_all()

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        """Sleep as ``moved_by`` says; a set ``stop`` cuts the sleep short."""
        if self._moved_by == "test":
            stop.wait(0.0005)
            return
        if self._moved_by == "sleeps":
            if not stop.wait(0.0005):
                self.advance(seconds)
            return
        if threading.get_ident() == self._owner:
            if self._moved_by == "main":
                # real time for users woken at this instant to take their turn before time moves
                # on: an open-model user handed an iteration then starts it at its due time
                stop.wait(0.002)
                self._stalled = False
                self.advance(seconds)
            else:
                stop.wait(0.0005)
            return
        self.sleeps.append(seconds)
        if self._moved_by == "users":
            self.advance(seconds)
            return
        with self._changed:
            wake = self._ns + round(seconds * NS)
            while self._ns < wake and not stop.is_set():
                self._changed.wait(0.01)

    def pass_time(self, seconds: float) -> None:
        """A target's work of ``seconds`` (``moved_by="main"``): wait for the main loop to move
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
