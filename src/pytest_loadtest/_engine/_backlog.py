"""The backlog between users and the collector: what users hand over, and its bounds.

Users append durations to ``array('q')`` buffers and hand them over every tick; the collector
folds them. When a fast target makes users hand over more than the collector folds, the backlog
is bounded (backpressure): a user whose share of :data:`BACKLOG_LIMIT` is passed waits for the
collector, and folds itself only when the collector is late.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from array import array
from typing import Final, Protocol, Union

import numpy as np

__all__ = [
    "BACKLOG_LIMIT",
    "HAND_OVER",
    "RELIEVE_WAIT",
    "SPARE_WINDOWS",
    "USER_BACKLOG_MIN",
    "Backpressure",
    "Durations",
    "Owner",
    "as_array",
]

#: Durations waiting to be folded, in all, above which users wait for the collector to fold them
#: (backpressure): 1.6 MB of int64. Whatever the target's speed,
#: memory stays bounded.
BACKLOG_LIMIT: Final = 200_000
#: Seconds a user waits for the collector before it folds the backlog itself (the collector is
#: late or absent). Folding stays on the collector's thread otherwise: numpy's temporaries then
#: come from one thread's heap, not from every user's.
RELIEVE_WAIT: Final = 0.5
#: Finished windows kept for reuse: a window's histogram is ~190 KB, and allocating one per
#: window and operation, then freeing it, grew the process's heap by fragmentation for as long as
#: a run lasted.
SPARE_WINDOWS: Final = 64
#: Calls after which a user on a fast target hands its durations over even within a tick (64 KB
#: of durations). A user alone on the GIL for a tick filled megabytes; such buffers, grown by
#: ``realloc`` in the user thread's heap and freed on the collector's, fragmented glibc's heap:
#: 1,000 users on a no-op grew RSS by a fifth over a minute with nothing live in it.
HAND_OVER: Final = 8_192
#: The least backlog a single user may have before it waits (128 KB of durations): with 1,000
#: users a share of 200 made every user wait at every tick on a fast target, and 1,000 users on a
#: no-op fell from ~400,000 to ~43,000 calls/s.
USER_BACKLOG_MIN: Final = 16_384


#: Durations handed over: ``array('q')`` from virtual users (read by numpy without a copy), or
#: a list of ints.
Durations = Union["array[int]", list[int]]


def as_array(chunks: list[Durations]) -> np.ndarray:
    """One int64 array of ``chunks``' durations."""
    parts = [
        np.frombuffer(c, dtype=np.int64) if isinstance(c, array) else np.asarray(c, dtype=np.int64)
        for c in chunks
    ]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


class Owner(Protocol):
    """Who submitted a chunk: counts its own submitted durations; the recorder its folded ones."""

    drained: int

    @property
    def backlog(self) -> int:
        """Durations submitted and not folded yet."""
        ...


class Backpressure(ABC):
    """The recorder's side of backpressure: when a user must wait, and for what."""

    backlog_limit: int
    relieve_wait: float
    users: int  # users feeding the recorder (their share of the backlog limit)
    pending_total: int  # durations submitted and not folded yet, by every user
    collecting: bool  # a collector thread drains the recorder
    wanted: threading.Event  # set: the collector drains now
    _drained: threading.Condition  # notified after every drain
    drains: int = 0  # drains finished so far (see drained_once)

    @abstractmethod
    def drain(self, now_ns: int | None = None) -> None:
        """Fold everything pending (the recorder's)."""

    def over_limit(self, owner: Owner) -> bool:
        """Must this user wait for the backlog to be folded? When its own backlog passed its
        share (:meth:`user_backlog`), or everyone's passed :attr:`backlog_limit` (many users'
        shares add up to more, and the collector, one thread of many, gets the GIL seldom)."""
        return owner.backlog > self.user_backlog() or self.pending_total > self.backlog_limit

    def user_backlog(self) -> int:
        """Durations one user may have waiting before it must wait for them to be folded."""
        return max(self.backlog_limit // max(self.users, 1), USER_BACKLOG_MIN)

    def relieve(self, owner: Owner) -> None:
        """Backpressure: wait until the collector folded half of this user's backlog, and half
        of everyone's or all that was there when the wait began (waiting hands it the GIL); fold
        here only when no collector runs.

        Not for everyone's backlog alone: with 1,000 users on a no-op, those woken first went on
        and handed over more before the others looked, the backlog was seldom under half the
        limit when they did, and some users waited for the whole run."""

        self.wanted.set()  # wakes the collector between its ticks
        with self._drained:
            since = self.drains

            def relieved() -> bool:
                return self.relieved(owner) or (
                    self.drains > since and owner.backlog <= self.user_backlog() // 2
                )

            while not self._drained.wait_for(relieved, self.relieve_wait) and self.collecting:
                self.wanted.set()
        if not relieved():
            self.drain()

    def relieved(self, owner: Owner) -> bool:
        """May a user that passed its share go on? (Half its share and half the limit are
        left.) Users on a shared event loop poll this: :meth:`relieve` would block the loop."""
        half = self.user_backlog() // 2
        return owner.backlog <= half and self.pending_total <= self.backlog_limit // 2

    def drained_once(self) -> None:
        """A drain finished: count it, and wake the users waiting for one."""
        with self._drained:
            self.drains += 1
            self._drained.notify_all()

    def stop_collecting(self) -> None:
        """The collector stopped (or failed): users waiting for it fold for themselves."""
        self.collecting = False
        with self._drained:
            self._drained.notify_all()
