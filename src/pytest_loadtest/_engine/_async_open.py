"""The open model for async targets: iterations started at a rate, as tasks on one event loop.

A dispatcher coroutine on the loop does what
:class:`~pytest_loadtest._engine._open.OpenDriver`'s main thread does: iteration ``k`` is due at
a time fixed in advance by the rate profile; at that time it is started as a task of a free user
of a pool of at most ``max_users`` (grown as needed, ``on_start`` run on a user's first
iteration), or, when every user is busy, dropped and counted. Latency is measured from each
iteration's intended start (coordinated omission corrected), with the service time and the start
lag beside it. See :mod:`._async` for what all async users share.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, Any, final

from pytest_loadtest._engine._async import LoopUsers
from pytest_loadtest._engine._driver import DriverFigures, OpenLedger
from pytest_loadtest._engine._lag import Meters, merged_health, probing, stepped_calls
from pytest_loadtest._engine._open import PREALLOCATED, SERVICE, START_LAG
from pytest_loadtest._engine._users import FATAL
from pytest_loadtest._model._metrics import NS
from pytest_loadtest._model._shapes import Arrivals

if TYPE_CHECKING:
    from pytest_loadtest._engine._context import RunContext
    from pytest_loadtest._engine._users import VirtualUser, Work
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["AsyncOpenDriver"]


@final
class AsyncOpenDriver(LoopUsers):
    """Starts iterations at the profile's rate as tasks of a pool of users on one event loop.
    ``threads`` is the number of users made before the clock; more come from
    ``context.spawn`` up to ``max_users``."""

    def __init__(self, context: RunContext, work: Work, settings: LoadSettings) -> None:
        super().__init__(context, work, settings)
        self._meters = Meters()  # loop health (_lag.py): the loop's probe, blocking steps
        self._calls = stepped_calls(self._calls, work.plan.tasks, self._meters)
        profile, share = settings.profile(), context.share
        self.arrivals = share.arrivals(Arrivals(profile))
        self.max_users = share.max_users(settings.max_users)
        self.threads = min(
            self.max_users, max(PREALLOCATED, math.ceil(share.rate(profile.peak) * 0.1))
        )
        self.service_ops = work.shadow_ops(SERVICE)
        self.lag_ops = work.shadow_ops(START_LAG)
        self._free: list[VirtualUser] = []
        self._pool = 0
        self._busy = 0  # iterations started and not finished
        self.ledger = OpenLedger(context)
        self._started: dict[int, VirtualUser] = {}  # users that ran on_start
        self._running: set[asyncio.Future[Any]] = set()
        self._last_done = 0
        self._dispatched = False  # the dispatcher is done (deadline, limit or stop)

    # -- the engine's main thread ---------------------------------------------------------------
    def active(self) -> int:
        """Iterations running now."""
        return self._busy

    def main(self) -> None:
        """Wait for the deadline; a limited run ends when its last iteration finished (a hung
        one holds it ``stop_timeout`` at most)."""
        context = self.context
        context.wait_until(lambda: self._dispatched and context.exhausted)
        if context.exhausted and not context.stopping:
            context.settle(lambda: self._busy == 0, lambda: self._last_done, self.stop_timeout)

    def finish(self) -> DriverFigures:
        """Every due iteration started or dropped: see :class:`OpenLedger`; one loop thread, and
        its health."""
        figures = self.ledger.figures()
        figures.threads = 1
        figures.loop = merged_health(self._meters)
        return figures

    # -- the loop thread ------------------------------------------------------------------------
    async def _main(self, users: list[VirtualUser]) -> None:
        async with probing(self._meters, self.context, enabled=self._real):
            await self._serve(users)

    async def _serve(self, users: list[VirtualUser]) -> None:
        """Dispatch iterations until the run stops; then the end of the run."""
        self._free = list(reversed(users))  # user 0 on top
        self._pool = len(users)
        dispatcher = asyncio.ensure_future(self._dispatch())
        try:
            await self._state().stopped.wait()  # the engine stops the run when its end came
        finally:
            dispatcher.cancel()
        await self._cancel_after_grace({t for t in self._running if not t.done()})
        hung = {self._tasks[t].id for t in self._cancelled}
        self._cancelling = False
        for vu in self._started.values():
            if vu.id not in hung:
                for hook in self.work.plan.on_stop:
                    await self._hook(vu, hook)
                vu.flush(self.context.clock.now_ns(), wait=False)

    def _grow(self) -> VirtualUser | None:
        """A new user for the pool, or None at ``max_users``."""
        if self._pool >= self.max_users:
            return None
        self._pool += 1
        return self.context.spawn()

    async def _dispatch(self) -> None:
        """Start iterations on schedule until the deadline, the iteration limit or a stop."""
        context = self.context
        now = context.clock.now_ns
        arrivals, free = self.arrivals, self._free
        start, deadline, limit = context.start_ns, context.deadline, context.limit
        k = 0
        due = arrivals.due_ns(0, start)
        try:
            while not context.stopping and due < deadline and (limit is None or k < limit):
                t = now()
                if t < due:
                    await self._sleep(min((due - t) / NS, 0.05))
                    continue
                vu = free.pop() if free else self._grow()
                if vu is not None:
                    self._busy += 1
                    self.ledger.peak = max(self.ledger.peak, self._busy)
                    task = self._spawn(self._iteration(vu, due), vu)
                    self._running.add(task)
                    task.add_done_callback(self._running.discard)
                else:
                    self.ledger.drop(due)
                k += 1
                due = arrivals.due_ns(k, start)
            k = self.ledger.close(arrivals, k, min(deadline, now()), limit)
        finally:
            self.ledger.scheduled = k
            self._dispatched = True

    async def _iteration(self, vu: VirtualUser, intended: int) -> None:
        """One iteration of ``vu``, measured from its intended start; ``vu`` is free after."""
        context, work = self.context, self.work
        now = context.clock.now_ns
        free = False  # back to the pool after
        try:
            if context.stopping:
                self.ledger.unstarted.append(intended)
                free = True
                return
            vu.span_start = now()
            if vu.id not in self._started:
                self._started[vu.id] = vu
                for hook in work.plan.on_start:
                    if not await self._hook(vu, hook):
                        # this user cannot serve (the pool is one smaller), and its first
                        # iteration was not served: it counts as dropped
                        self.ledger.refused.append(intended)
                        return
            index = work.pick(vu)
            op = work.task_ops[index]
            vu.current = work.plan.tasks[index].name
            t0 = now()
            try:
                await self._calls[index](vu)
            except BaseException as exc:
                if isinstance(exc, FATAL) or self._cancelling:
                    raise
                t1 = now()
                vu.record_error(op, t0, exc)
            else:
                t1 = now()
            vu.buffer(op).append(t1 - intended)
            vu.buffer(self.service_ops[index]).append(t1 - t0)
            vu.buffer(self.lag_ops[index]).append(t0 - intended)
            vu.iteration += 1
            self._last_done = t1
            await self._flush(vu, t1)
            free = True
        except FATAL as exc:
            self._fail(exc)
        finally:
            self._busy -= 1
            if free:
                self._free.append(vu)
