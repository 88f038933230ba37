"""The open model: iterations start at a rate, whatever earlier ones take (k6's arrival-rate
executors, wrk2's constant throughput).

The main thread is the dispatcher. Iteration ``k`` is due at a time fixed in advance by the rate
profile (:class:`~pytest_loadtest._model._shapes.Arrivals`); at that time the dispatcher hands
it to a free user of a pool of at most ``max_users``, or, when every user is busy, drops it and
counts it. Free users wait on a stack (last in, first out), so only as many distinct users ever
run as the load needs at its peak, and ``on_start`` hooks run only for those.

Coordinated omission (as wrk2 defines it) is corrected: each call's latency is measured from its
*intended* start, so a stall is charged to every call that should have started during it. The
plain service time (from the actual start) and the start lag (actual minus intended start) are
recorded beside it.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Final, final

from pytest_loadtest._engine._driver import DriverFigures, OpenLedger
from pytest_loadtest._engine._users import FATAL
from pytest_loadtest._model._metrics import NS
from pytest_loadtest._model._shapes import Arrivals

if TYPE_CHECKING:
    from pytest_loadtest._engine._context import RunContext
    from pytest_loadtest._engine._users import VirtualUser, Work
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["SERVICE", "START_LAG", "OpenDriver"]

#: Fewest users started before the clock.
PREALLOCATED: Final = 4
#: Kinds of the shadow operations that hold service times and start lags of each task.
SERVICE: Final = "service"
START_LAG: Final = "start_lag"


@final
class _Slot:
    """A pool user's mailbox: the intended start of its next iteration, and a wake-up."""

    __slots__ = ("due", "go")

    def __init__(self) -> None:
        self.due = 0
        self.go = threading.Event()


@final
class OpenDriver:
    """Dispatches iterations at the profile's rate to a pool of users; see the module docstring."""

    def __init__(self, context: RunContext, work: Work, settings: LoadSettings) -> None:
        self.context = context
        self.work = work
        profile, share = settings.profile(), context.share
        self.arrivals = share.arrivals(Arrivals(profile))
        self.max_users = share.max_users(settings.max_users)
        self.stop_timeout = settings.stop_timeout
        self._last_done = 0  # when an iteration last finished (clock ns)
        # Threads started before the clock: enough for iterations of up to 100 ms at the peak
        # rate. More are started while it runs (as k6 does past its pre-allocated users), up to
        # max_users; a thread started then costs the iteration waiting for it some start lag.
        self.threads = min(
            self.max_users, max(PREALLOCATED, math.ceil(share.rate(profile.peak) * 0.1))
        )
        self._slots = [_Slot() for _ in range(self.threads)]
        self._free = list(reversed(self._slots))  # user 0 on top
        self.ledger = OpenLedger(context)
        self.service_ops = work.shadow_ops(SERVICE)
        self.lag_ops = work.shadow_ops(START_LAG)

    def start(self) -> None:
        """Nothing to release: users wait for iterations."""

    def wake_all(self) -> None:
        """Wake every waiting user so that it sees the run stopping."""
        for slot in self._slots:
            slot.go.set()

    def active(self) -> int:
        """Users inside an iteration now."""
        return len(self._slots) - len(self._free)

    def _grow(self) -> _Slot | None:
        """A new user for the pool (the dispatcher's thread only), or None at ``max_users``."""
        if len(self._slots) >= self.max_users:
            return None
        slot = _Slot()
        self._slots.append(slot)  # before the thread starts: it finds its slot by its id
        self.context.spawn()
        return slot

    def main(self) -> None:
        """Dispatch iterations on schedule until the deadline, the iteration limit or a stop."""
        context = self.context
        clock, arrivals, free = context.clock, self.arrivals, self._free
        now = clock.now_ns
        start, deadline, limit = context.start_ns, context.deadline, context.limit
        k = 0
        due = arrivals.due_ns(0, start)
        while not context.stopping and due < deadline and (limit is None or k < limit):
            t = now()
            if t < due:
                clock.sleep(min((due - t) / NS, 0.05), context.stop_event)
                continue
            slot = free.pop() if free else self._grow()  # only this thread pops
            if slot is not None:
                slot.due = due
                slot.go.set()
                busy = len(self._slots) - len(free)
                if busy > self.ledger.peak:
                    self.ledger.peak = busy
            else:
                self.ledger.drop(due)
            k += 1
            due = arrivals.due_ns(k, start)
        k = self.ledger.close(arrivals, k, min(deadline, now()), limit)
        if context.exhausted:
            context.settle(
                lambda: len(free) + len(context.exited) >= len(self._slots),
                lambda: self._last_done,
                self.stop_timeout,
            )
        else:
            context.wait_until(lambda: False)  # the run lasts its duration

    def finish(self) -> DriverFigures:
        """Every due iteration started or dropped: see :class:`OpenLedger`."""
        return self.ledger.figures()

    def user_main(self, vu: VirtualUser) -> None:
        """Run each iteration handed over, measured from its intended start."""
        context, work = self.context, self.work
        slot = self._slots[vu.index]
        now = context.clock.now_ns
        plan, callers, ops = work.plan, work.callers, work.task_ops
        service_ops, lag_ops = self.service_ops, self.lag_ops
        free = self._free
        started = False
        try:
            while True:
                slot.go.wait()
                slot.go.clear()
                if context.stopping:
                    if slot.due:
                        self.ledger.unstarted.append(slot.due)
                    return
                intended, slot.due = slot.due, 0
                vu.span_start = now()
                if not started:
                    started = True
                    if not all(work.call_hook(vu, hook) for hook in plan.on_start):
                        # this user cannot serve (the pool is one smaller) and its first
                        # iteration was not served: it counts as dropped
                        self.ledger.refused.append(intended)
                        return
                index = work.pick(vu)
                op = ops[index]
                vu.current = plan.tasks[index].name
                t0 = now()
                try:
                    callers[index](vu)
                except BaseException as exc:
                    if isinstance(exc, FATAL):
                        raise
                    t1 = now()
                    vu.record_error(op, t0, exc)
                else:
                    t1 = now()
                vu.buffer(op).append(t1 - intended)
                vu.buffer(service_ops[index]).append(t1 - t0)
                vu.buffer(lag_ops[index]).append(t0 - intended)
                vu.iteration += 1
                vu.flush(t1)
                self._last_done = t1
                free.append(slot)
        finally:
            if started:
                for hook in plan.on_stop:
                    work.call_hook(vu, hook)
