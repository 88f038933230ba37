"""The closed model for async targets: users as tasks on one event loop, each looping.

Each user does what a thread of :class:`~pytest_loadtest._engine._closed.ClosedDriver` does: it
waits for its turn in the profile (ramp-up, stages), runs ``on_start``, loops over iterations
(think time and pacing are awaited, not slept), hands its durations to the recorder at every
check, and runs ``on_stop``; see :mod:`._async` for what all async users share.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, final

from pytest_loadtest._engine._async import LoopUsers
from pytest_loadtest._engine._backlog import HAND_OVER
from pytest_loadtest._engine._driver import DriverFigures
from pytest_loadtest._engine._lag import Meters, merged_health, probing, stepped_calls
from pytest_loadtest._engine._users import FATAL
from pytest_loadtest._model._metrics import NS

if TYPE_CHECKING:
    from pytest_loadtest._engine._context import RunContext
    from pytest_loadtest._engine._users import VirtualUser, Work
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["AsyncClosedDriver"]


@final
class AsyncClosedDriver(LoopUsers):
    """Runs ``users`` (or a stage profile of users) as tasks on one event loop. ``threads`` is
    the number of virtual users; the engine runs them all on one thread with
    :meth:`run_users`."""

    def __init__(self, context: RunContext, work: Work, settings: LoadSettings) -> None:
        super().__init__(context, work, settings)
        self._meters = Meters()  # loop health (_lag.py): each loop's probe, blocking steps
        self._calls = stepped_calls(self._calls, work.plan.tasks, self._meters)
        self.profile = context.share.users(settings.profile())
        self.threads = context.share.count(settings.peak_users)
        self.think = settings.think_time
        self.flat = len(set(self.profile.values)) == 1
        self.pacing_ns = int(settings.pacing * NS)
        self._began: list[int] = []
        self._ended: list[int] = []
        self._exited: list[int] = []
        self._last_exit = 0
        self._peak = 0

    # -- the engine's main thread ---------------------------------------------------------------
    def active(self) -> int:
        """Users inside their loop now."""
        return len(self._began) - len(self._ended)

    def finish(self) -> DriverFigures:
        """The most users that were inside their loop at once; the loop threads; the loops'
        health."""
        return DriverFigures(
            peak_active=self._peak, threads=self.loop_threads, loop=merged_health(self._meters)
        )

    def main(self) -> None:
        """Wait for the deadline, or for every user to finish (iterations ran out: then a user
        hung in a call holds the run ``stop_timeout`` at most)."""
        self.context.wait_for_users(
            lambda: len(self._exited) == self.threads,
            lambda: self._last_exit,
            self.stop_timeout,
        )

    # -- the loop thread ------------------------------------------------------------------------
    async def _main(self, users: list[VirtualUser]) -> None:
        async with probing(self._meters, self.context, enabled=self._real):
            await self._until_stopped([self._spawn(self._user(vu), vu) for vu in users])

    async def _user(self, vu: VirtualUser) -> None:
        """One user: each of its turns in the profile, looped through."""
        context = self.context
        now = context.clock.now_ns
        try:
            after = 0.0
            while True:
                begin = self.profile.first_above(vu.index, after)
                if begin is None or not await self._sleep_until(context.start_ns + int(begin * NS)):
                    return
                self._began.append(vu.id)
                self._peak = max(self._peak, self.active())
                vu.span_start = now()
                try:
                    started = await self._iterations(vu)
                finally:
                    vu.flush(now(), wait=False)
                    self._ended.append(vu.id)
                if not started or self.flat or context.stopping or context.exhausted:
                    return
                after = (now() - context.start_ns) / NS
        except FATAL as exc:
            self._fail(exc)
        finally:
            self._exited.append(vu.id)
            self._last_exit = now()

    def _check(self, vu: VirtualUser, t: int) -> int:
        """Next check time, or -1 when the run ends or the profile no longer wants this user."""
        check = self.context.next_check(t)
        if check < 0 or self.flat:
            return check
        return check if self.profile.at((t - self.context.start_ns) / NS) > vu.index else -1

    async def _iterations(self, vu: VirtualUser) -> bool:
        """Loop until the run or this user's turn ends; False if an ``on_start`` hook failed."""
        context, work = self.context, self.work
        plan = work.plan
        now = context.clock.now_ns
        tasks, calls, ops = plan.tasks, self._calls, work.task_ops
        think, pacing = self.think, self.pacing_ns
        # what does not change within a run, looked up once (the loop's CPU per iteration is
        # the benchmark's measure)
        single, limited = len(tasks) == 1, context.limit is not None
        pauses, buffer = bool(pacing) or not think.is_zero, vu.buffer
        for hook in plan.on_start:
            if not await self._hook(vu, hook):
                return False
        check_at = hand_at = handed = 0
        state = self._state()
        seen = state.turns  # the first check yields: every user starts before one runs on
        try:
            while True:
                t0 = now()
                if t0 >= check_at:
                    if state.turns == seen:
                        # not yielded to the loop since the last check: a target that never
                        # awaits must not hold the loop for longer than a check
                        await asyncio.sleep(0)
                    seen = state.turns
                    t0 = now()
                    if t0 >= hand_at or vu.iteration - handed >= HAND_OVER:
                        # once a window, not every check: a chunk per user and tick cost the
                        # collector a fifth of the run's CPU with 1,000 users awaiting 50 ms
                        await self._flush(vu, t0)
                        vu.span_start = t0 = now()
                        hand_at, handed = context.next_hand_over(t0), vu.iteration
                    check_at = self._check(vu, t0)
                    if check_at < 0:
                        return True
                if limited and not context.claim():
                    self._wake_sleepers()  # users waiting for a turn need not wait on
                    return True
                index = 0 if single else work.pick(vu)
                vu.current = tasks[index].name
                try:
                    await calls[index](vu)
                except BaseException as exc:
                    if isinstance(exc, FATAL) or self._cancelling:
                        raise
                    buffer(ops[index]).append(now() - t0)
                    vu.record_error(ops[index], t0, exc)
                else:
                    buffer(ops[index]).append(now() - t0)
                vu.iteration += 1
                if not pauses:
                    continue
                if pacing:
                    await self._pause(vu, (t0 + pacing - now()) / NS, check_at)
                else:  # think time (pauses: pacing or a think time)
                    await self._pause(vu, think.sample(vu, vu.random), check_at)
        finally:
            if not self._cancelling:
                for hook in plan.on_stop:
                    await self._hook(vu, hook)

    async def _pause(self, vu: VirtualUser, seconds: float, check_at: int) -> None:
        """Await between iterations (think time, pacing), flushing before long pauses."""
        if seconds <= 0:
            return
        context = self.context
        t = context.clock.now_ns()
        if t + seconds * NS >= check_at:
            await self._flush(vu, t)
        await self._sleep(min(seconds, max(0.0, (context.deadline - t) / NS)))
