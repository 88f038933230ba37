"""The closed model: a number of virtual users, constant or following stages, each looping.

User ``i`` runs while the profile's value exceeds ``i``; so with ``ramp_up`` user ``i`` starts at
``ramp_up * i / users``, and when stages lower the target, the highest-numbered users finish the
iteration they are in and park (running their ``on_stop`` hooks) until the profile wants them
again.
"""

from __future__ import annotations

import threading
from itertools import repeat
from typing import TYPE_CHECKING, final

from pytest_loadtest._engine._backlog import HAND_OVER
from pytest_loadtest._engine._driver import DriverFigures
from pytest_loadtest._engine._users import FATAL
from pytest_loadtest._model._metrics import NS

if TYPE_CHECKING:
    from pytest_loadtest._engine._context import RunContext
    from pytest_loadtest._engine._users import VirtualUser, Work
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["ClosedDriver"]


@final
class ClosedDriver:
    """Runs ``users`` (or a stage profile of users) in loops; see the module docstring."""

    def __init__(self, context: RunContext, work: Work, settings: LoadSettings) -> None:
        self.context = context
        self.work = work
        self.profile = context.share.users(settings.profile())
        self.threads = context.share.count(settings.peak_users)
        self.think = settings.think_time
        self.stop_timeout = settings.stop_timeout
        # With a flat profile every user runs from its start to the end: skip the per-tick check.
        self.flat = len(set(self.profile.values)) == 1
        self.pacing_ns = int(settings.pacing * NS)
        # one synchronous task without arguments, think time, pacing or a database watch
        self.fast = (
            work.plan.simple and self.think.is_zero and not self.pacing_ns and not work.watching
        )
        self._go = [threading.Event() for _ in range(self.threads)]
        self._began: list[int] = []  # activations (appended; atomic under the GIL)
        self._ended: list[int] = []  # deactivations
        self._peak = 0

    def start(self) -> None:
        """Release the users, which wait for the clock to start."""
        for event in self._go:
            event.set()

    def wake_all(self) -> None:
        """Release users still waiting for the start (stopping before it)."""
        self.start()

    def active(self) -> int:
        """Users inside their loop now."""
        return len(self._began) - len(self._ended)

    def finish(self) -> DriverFigures:
        """The most users that were inside their loop at once."""
        return DriverFigures(peak_active=self._peak)

    def main(self) -> None:
        """Wait for the deadline, or for every user to finish (iterations ran out: then a user
        hung in a call holds the run ``stop_timeout`` at most)."""
        context = self.context
        context.wait_for_users(
            lambda: len(context.exited) == self.threads,
            lambda: context.last_exit,
            self.stop_timeout,
        )

    def _wanted(self, user_id: int, t: int) -> bool:
        return self.profile.at((t - self.context.start_ns) / NS) > user_id

    def _check(self, vu: VirtualUser, t: int) -> int:
        """Next check time, or -1 when the run ends or the profile no longer wants this user."""
        check = self.context.next_check(t)
        if check >= 0 and not self.flat and not self._wanted(vu.index, t):
            return -1
        return check

    def user_main(self, vu: VirtualUser) -> None:
        """Wait for each of this user's turns in the profile and loop through it."""
        self._go[vu.index].wait()
        context = self.context
        clock = context.clock
        after = 0.0
        while True:
            begin = self.profile.first_above(vu.index, after)
            if begin is None or not context.sleep_until(context.start_ns + int(begin * NS)):
                return
            self._began.append(vu.index)
            # keep the peak exact even between collector ticks
            self._peak = max(self._peak, self.active())
            vu.span_start = clock.now_ns()
            try:
                started = True if self.fast else self._generic_loop(vu)
                if self.fast:
                    self._fast_loop(vu)
            finally:
                vu.flush(clock.now_ns())
                self._ended.append(vu.index)
            if not started or self.flat or context.stopping or context.exhausted:
                return  # a user whose on_start failed does not come back
            after = (clock.now_ns() - context.start_ns) / NS

    def _fast_loop(self, vu: VirtualUser) -> None:
        # One synchronous task without arguments, think time or pacing: keep every line cheap.
        context, work = self.context, self.work
        now = context.clock.now_ns
        op = work.task_ops[0]
        task = work.plan.tasks[0]
        func = task.func
        vu.current = task.name
        limited = context.limit is not None
        buf = vu.buffer(op)
        append = buf.append
        check_at = 0
        while True:
            # at most HAND_OVER calls between hand-overs, whatever the tick: see HAND_OVER
            for _ in repeat(None, HAND_OVER):
                t0 = now()
                if t0 >= check_at:
                    vu.iteration += len(buf)
                    vu.flush(t0, wait=False)
                    # drop the buffer handed over before waiting: see VirtualUser.wait_for_collector
                    buf = vu.buffer(op)
                    append = buf.append
                    vu.wait_for_collector()
                    check_at = self._check(vu, t0)
                    if check_at < 0:
                        return
                    vu.span_start = t0 = now()
                if limited and not context.claim():
                    vu.iteration += len(buf)
                    return
                try:
                    func()
                except BaseException as exc:
                    if isinstance(exc, FATAL):
                        raise
                    append(now() - t0)
                    vu.record_error(op, t0, exc)
                else:
                    append(now() - t0)
            check_at = 0  # hand over now

    def _generic_loop(self, vu: VirtualUser) -> bool:
        """Loop until the run or this user's turn ends; False if an ``on_start`` hook failed."""
        context, work = self.context, self.work
        plan = work.plan
        now = context.clock.now_ns
        tasks, callers, ops = plan.tasks, work.callers, work.task_ops
        think = self.think
        pacing = self.pacing_ns
        for hook in plan.on_start:
            if not work.call_hook(vu, hook):
                return False  # a user that cannot start (say, login fails) does not run
        check_at = 0
        try:
            while True:
                # at most HAND_OVER iterations between hand-overs: see HAND_OVER
                for _ in repeat(None, HAND_OVER):
                    t0 = now()
                    if t0 >= check_at:
                        vu.flush(t0)
                        check_at = self._check(vu, t0)
                        if check_at < 0:
                            return True
                        vu.span_start = t0 = now()
                    if not context.claim():
                        return True
                    index = work.pick(vu)
                    vu.current = tasks[index].name
                    try:
                        callers[index](vu)
                    except BaseException as exc:
                        if isinstance(exc, FATAL):
                            raise
                        vu.buffer(ops[index]).append(now() - t0)
                        vu.record_error(ops[index], t0, exc)
                    else:
                        vu.buffer(ops[index]).append(now() - t0)
                    vu.iteration += 1
                    if pacing:
                        context.pause(vu, (t0 + pacing - now()) / NS, check_at)
                    elif not think.is_zero:
                        context.pause(vu, think.sample(vu, vu.random), check_at)
                check_at = 0  # hand over now
        finally:
            for hook in plan.on_stop:
                work.call_hook(vu, hook)
