"""The closed model: a number of virtual users, constant or following stages, each looping.

User ``i`` runs while the profile's value exceeds ``i``; so with ``ramp_up`` user ``i`` starts at
``ramp_up * i / users``, and when stages lower the target, the highest-numbered users finish the
iteration they are in and park (running their ``on_stop`` hooks) until the profile wants them
again.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Final, final

from pytest_loadtest._engine._users import VirtualUser

if TYPE_CHECKING:
    from pytest_loadtest._engine._engine import Engine

__all__ = ["ClosedDriver"]

NS: Final = 1_000_000_000


@final
class ClosedDriver:
    """Runs ``users`` (or a stage profile of users) in loops; see the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        settings = engine.settings
        self.profile = settings.profile()
        self.threads = settings.peak_users
        # With a flat profile every user runs from its start to the end: skip the per-tick check.
        self.flat = len(set(self.profile.values)) == 1
        self.pacing_ns = int(settings.pacing * NS)
        self._go = [threading.Event() for _ in range(self.threads)]
        self._began: list[int] = []  # activations (appended; atomic under the GIL)
        self._ended: list[int] = []  # deactivations

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

    def main(self) -> None:
        """Wait for the deadline, or for every user to finish (iterations ran out)."""
        engine = self.engine
        engine.wait_until(lambda: len(engine.exited) == self.threads)

    def _wanted(self, user_id: int, t: int) -> bool:
        return self.profile.at((t - self.engine.start_ns) / NS) > user_id

    def _check(self, vu: VirtualUser, t: int) -> int:
        """Next check time, or -1 when the run ends or the profile no longer wants this user."""
        check = self.engine.next_check(t)
        if check >= 0 and not self.flat and not self._wanted(vu.id, t):
            return -1
        return check

    def user_main(self, vu: VirtualUser) -> None:
        """Wait for each of this user's turns in the profile and loop through it."""
        self._go[vu.id].wait()
        engine = self.engine
        clock = engine.clock
        plan, settings = engine.plan, engine.settings
        fast = plan.simple and settings.think_time.is_zero and not self.pacing_ns
        fast = fast and not engine.watch  # a watched run names each call's operation
        after = 0.0
        while True:
            begin = self.profile.first_above(vu.id, after)
            if begin is None or not engine.sleep_until(engine.start_ns + int(begin * NS)):
                return
            self._began.append(vu.id)
            engine.note_active()
            vu.span_start = clock.now_ns()
            try:
                started = True if fast else self._generic_loop(vu)
                if fast:
                    self._fast_loop(vu)
            finally:
                vu.flush(clock.now_ns())
                self._ended.append(vu.id)
            if not started or self.flat or engine.stopping or engine.exhausted:
                return  # a user whose on_start failed does not come back
            after = (clock.now_ns() - engine.start_ns) / NS

    def _fast_loop(self, vu: VirtualUser) -> None:
        # One synchronous task without arguments, think time or pacing: keep every line cheap.
        engine = self.engine
        now = engine.clock.now_ns
        op = engine.task_ops[0]
        task = engine.plan.tasks[0]
        func = task.func
        vu.current = task.name
        limited = engine.limit is not None
        buf = vu.buffer(op)
        append = buf.append
        check_at = 0
        while True:
            t0 = now()
            if t0 >= check_at:
                vu.iteration += len(buf)
                vu.flush(t0)
                check_at = self._check(vu, t0)
                if check_at < 0:
                    return
                buf = vu.buffer(op)
                append = buf.append
                vu.span_start = t0 = now()
            if limited and not engine.claim():
                vu.iteration += len(buf)
                return
            try:
                func()
            except Exception as exc:
                append(now() - t0)
                vu.record_error(op, t0, exc)
            else:
                append(now() - t0)

    def _generic_loop(self, vu: VirtualUser) -> bool:
        """Loop until the run or this user's turn ends; False if an ``on_start`` hook failed."""
        engine = self.engine
        plan = engine.plan
        now = engine.clock.now_ns
        tasks, callers, ops = plan.tasks, engine.callers, engine.task_ops
        think = engine.settings.think_time
        pacing = self.pacing_ns
        for hook in plan.on_start:
            if not engine.call_hook(vu, hook):
                return False  # a user that cannot start (say, login fails) does not run
        check_at = 0
        try:
            while True:
                t0 = now()
                if t0 >= check_at:
                    vu.flush(t0)
                    check_at = self._check(vu, t0)
                    if check_at < 0:
                        return True
                    vu.span_start = t0 = now()
                if not engine.claim():
                    return True
                index = engine.pick(vu)
                vu.current = tasks[index].name
                try:
                    callers[index](vu)
                except Exception as exc:
                    vu.buffer(ops[index]).append(now() - t0)
                    vu.record_error(ops[index], t0, exc)
                else:
                    vu.buffer(ops[index]).append(now() - t0)
                vu.iteration += 1
                if pacing:
                    engine.pause(vu, (t0 + pacing - now()) / NS, check_at)
                elif not think.is_zero:
                    engine.pause(vu, think.sample(vu, vu.random), check_at)
        finally:
            for hook in plan.on_stop:
                engine.call_hook(vu, hook)
