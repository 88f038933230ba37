"""A worker's share of a run spread over several processes (``processes=N``).

User ``i`` of the whole run is user ``i // N`` of worker ``i % N``: ids stay unique and every
worker's users are a fixed part of the whole. The closed model's profile keeps its shape as a
whole: user ``i`` runs while the profile exceeds ``i``, so worker ``k``'s user ``j`` (user
``j * N + k`` of the whole) runs while ``(profile - k) / N`` exceeds ``j``; the worker's profile
is that line, and the users of all workers together follow the profile exactly. The open model's
iteration ``m`` of the whole is iteration ``m // N`` of worker ``m % N``, due when the whole
run's schedule says: the rate is divided and the arrivals interleave. A limit of iterations is
split the same way, so the workers together run no more than asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, final

from pytest_loadtest._model._shapes import Profile

if TYPE_CHECKING:
    from pytest_loadtest._model._shapes import Arrivals

__all__ = ["WHOLE", "Share", "SharedArrivals"]


@final
@dataclass(frozen=True, slots=True)
class Share:
    """Worker ``worker`` (from 0) of ``workers``."""

    worker: int = 0
    workers: int = 1

    def __post_init__(self) -> None:
        if self.workers < 1 or not 0 <= self.worker < self.workers:
            raise ValueError(f"worker {self.worker} of {self.workers} is not a share")

    @property
    def whole(self) -> bool:
        """One process runs everything."""
        return self.workers == 1

    def count(self, total: int) -> int:
        """How many of ``total`` numbered things (users, iterations) are this worker's: those
        whose number ``i`` has ``i % workers == worker``."""
        if total <= self.worker:
            return 0
        return (total - self.worker + self.workers - 1) // self.workers

    def limit(self, total: int | None) -> int | None:
        """This worker's part of an iteration limit (``None``: unlimited)."""
        return None if total is None else self.count(total)

    def global_id(self, index: int) -> int:
        """The id in the whole run of this worker's user ``index``."""
        return index * self.workers + self.worker

    def users(self, profile: Profile) -> Profile:
        """The closed model's profile of this worker's users; see the module docstring."""
        if self.whole:
            return profile
        values = tuple((v - self.worker) / self.workers for v in profile.values)
        return Profile(profile.times, values)

    def max_users(self, total: int) -> int:
        """The open model's pool limit of this worker: its part of ``total``, at least one."""
        return max(1, self.count(total))

    def rate(self, rate: float) -> float:
        """This worker's part of an arrival rate."""
        return rate / self.workers

    def arrivals(self, arrivals: Arrivals) -> Arrivals | SharedArrivals:
        """The open model's schedule of this worker's iterations."""
        return arrivals if self.whole else SharedArrivals(arrivals, self)


@final
class SharedArrivals:
    """Every ``workers``-th iteration of a schedule, from the ``worker``-th: what one worker of
    an open-model run starts (see :class:`~pytest_loadtest._model._shapes.Arrivals`)."""

    __slots__ = ("_arrivals", "_share")

    def __init__(self, arrivals: Arrivals, share: Share) -> None:
        self._arrivals = arrivals
        self._share = share

    def time_of(self, k: int) -> float:
        """Seconds after the start at which this worker's iteration ``k`` is due."""
        return self._arrivals.time_of(self._share.global_id(k))

    def due_ns(self, k: int, start_ns: int) -> int:
        """Clock time at which this worker's iteration ``k`` is due."""
        return self._arrivals.due_ns(self._share.global_id(k), start_ns)


#: The share of a run in one process.
WHOLE: Final = Share()
