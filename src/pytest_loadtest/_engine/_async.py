"""Async users on one event loop: the closed model for ``async def`` targets.

Every virtual user is an asyncio task on one event loop, run by one thread of the engine (the
*loop thread*), instead of a thread with a loop of its own. So objects the code under test
shares between users and binds to a loop on first use (an ``asyncio.Lock``, an async database
pool) work, and a thousand users cost a thousand small tasks, not a thousand threads and loops.

Each user does what a thread of :class:`~pytest_loadtest._engine._closed.ClosedDriver` does:
it waits for its turn in the profile (ramp-up, stages), runs ``on_start``, loops over
iterations (think time and pacing are awaited, not slept), hands its durations to the recorder
at every check, and runs ``on_stop``. The loop thread only times calls and appends durations:
folding stays on the collector's thread, and backpressure is awaited (the user yields to the
loop until the collector folded its backlog) rather than waited for, which would block every
user of the loop.

When the run stops, users still inside a call get ``stop_timeout`` seconds to finish it; the
tasks still pending then are cancelled and counted as hung, by operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final, final

from pytest_loadtest import _monitor
from pytest_loadtest._engine._driver import DriverFigures
from pytest_loadtest._engine._users import FATAL
from pytest_loadtest._model._clock import SystemClock
from pytest_loadtest._model._metrics import NS

if TYPE_CHECKING:
    from pytest_loadtest._engine._context import RunContext
    from pytest_loadtest._engine._users import VirtualUser, Work
    from pytest_loadtest._scenario._target import Task
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["AsyncClosedDriver", "coroutine_caller"]

#: Seconds between looks at the backlog while a user waits for the collector to fold it.
RELIEVE_POLL: Final = 0.005
#: Seconds cancelled tasks get to unwind (their ``finally`` blocks) before the loop ends.
CANCEL_GRACE: Final = 1.0

Coroutines = Callable[["VirtualUser"], Awaitable[Any]]


def coroutine_caller(task: Task, *, watching: bool) -> Coroutines:
    """A function making the coroutine of ``task`` for a user; naming the running operation for
    a database watch when ``watching`` (a context variable: each asyncio task has its own)."""
    func = task.func
    name = task.name

    def call(vu: VirtualUser) -> Awaitable[Any]:
        return func(vu) if task.takes_user else func()  # type: ignore[no-any-return]

    if not watching:
        return call

    async def attributed(vu: VirtualUser) -> Any:
        token = _monitor.set_operation(name)
        try:
            return await call(vu)
        finally:
            _monitor.reset_operation(token)

    return attributed


@final
class AsyncClosedDriver:
    """Runs ``users`` (or a stage profile of users) as tasks on one event loop; see the module
    docstring. ``threads`` is the number of virtual users; the engine runs them all on one
    thread with :meth:`run_users`."""

    def __init__(self, context: RunContext, work: Work, settings: LoadSettings) -> None:
        self.context = context
        self.work = work
        self.profile = settings.profile()
        self.threads = settings.peak_users
        self.think = settings.think_time
        self.stop_timeout = settings.stop_timeout
        self.flat = len(set(self.profile.values)) == 1
        self.pacing_ns = int(settings.pacing * NS)
        self._real = isinstance(context.clock, SystemClock)
        plan = work.plan
        self._calls = [coroutine_caller(t, watching=work.watching) for t in plan.tasks]
        self._go = threading.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sleepers: set[asyncio.Future[None]] = set()
        self._stopped: asyncio.Event | None = None
        self._cancelling = False  # the driver cancels hung tasks: CancelledError ends them
        self._fatal: BaseException | None = None
        self._began: list[int] = []
        self._ended: list[int] = []
        self._exited: list[int] = []
        self._last_exit = 0
        self._peak = 0
        self._hung: dict[str, int] = {}
        self._tasks: dict[asyncio.Future[Any], VirtualUser] = {}

    # -- the engine's main thread ---------------------------------------------------------------
    def start(self) -> None:
        """Release the loop thread, which waits for the clock to start."""
        self._go.set()

    def wake_all(self) -> None:
        """Stopping (any thread): wake every sleeping user and the loop's main task."""
        self._go.set()
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to wake
                loop.call_soon_threadsafe(self._on_stop)

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

        def done() -> bool:
            return len(self._exited) == self.threads

        context.wait_until(lambda: done() or context.exhausted)
        if context.exhausted and not done():
            context.settle(done, lambda: self._last_exit, self.stop_timeout)

    def hung(self) -> dict[str, int]:
        """Calls hung when the run stopped, by operation: tasks cancelled after
        ``stop_timeout``, and, while the loop is still blocked (a sync call inside an
        ``async def``), the users not finished yet."""
        hung = dict(self._hung)
        for task, vu in list(self._tasks.items()):
            if not task.done():
                name = vu.current or self.work.plan.name
                hung[name] = hung.get(name, 0) + 1
        return hung

    def user_main(self, vu: VirtualUser) -> None:
        """Not used: every user runs on the loop thread (:meth:`run_users`)."""
        raise RuntimeError("users of a shared event loop run in run_users")

    # -- the loop thread ------------------------------------------------------------------------
    def run_users(self, users: list[VirtualUser]) -> None:
        """The loop thread's body: run every user as a task until all finished; re-raise what
        ended the run from inside a target (Ctrl-C, ``sys.exit()``)."""
        loop = asyncio.new_event_loop()
        try:
            self._go.wait()
            self._loop = loop
            if not self.context.stopping:
                loop.run_until_complete(self._main(users))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            self._loop = None
            loop.close()
            if self._executor is not None:
                self._executor.shutdown(wait=False)
        if self._fatal is not None:
            raise self._fatal

    def _on_stop(self) -> None:
        if self._stopped is not None:
            self._stopped.set()
        self._wake_sleepers()

    def _wake_sleepers(self) -> None:
        for future in self._sleepers:
            if not future.done():
                future.set_result(None)

    async def _main(self, users: list[VirtualUser]) -> None:
        self._stopped = stopped = asyncio.Event()
        if self.context.stopping:
            return
        tasks = self._tasks
        for vu in users:
            tasks[asyncio.ensure_future(self._user(vu))] = vu
        stopping: asyncio.Future[Any] = asyncio.ensure_future(stopped.wait())
        pending: set[asyncio.Future[Any]] = set(tasks)
        try:
            while pending and not stopping.done():
                _, pending = await asyncio.wait(
                    pending | {stopping}, return_when=asyncio.FIRST_COMPLETED
                )
                pending.discard(stopping)
            if pending:  # stopping: calls in progress get stop_timeout to finish
                grace = 0.0 if self.context.ended_at else self.stop_timeout
                _, pending = await asyncio.wait(pending, timeout=grace) if grace else ((), pending)
            if pending:
                self._cancelling = True
                for task in pending:
                    vu = tasks[task]
                    name = vu.current or self.work.plan.name
                    self._hung[name] = self._hung.get(name, 0) + 1
                    task.cancel()
                await asyncio.wait(pending, timeout=CANCEL_GRACE)
        finally:
            stopping.cancel()

    async def _user(self, vu: VirtualUser) -> None:
        """One user: each of its turns in the profile, looped through."""
        context = self.context
        now = context.clock.now_ns
        try:
            after = 0.0
            while True:
                begin = self.profile.first_above(vu.id, after)
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
        except FATAL as exc:  # Ctrl-C or sys.exit() in a target: the run stops
            self._fatal = self._fatal or exc
            context.stop()
        finally:
            self._exited.append(vu.id)
            self._last_exit = now()

    def _check(self, vu: VirtualUser, t: int) -> int:
        """Next check time, or -1 when the run ends or the profile no longer wants this user."""
        check = self.context.next_check(t)
        if (
            check >= 0
            and not self.flat
            and self.profile.at((t - self.context.start_ns) / NS) <= vu.id
        ):
            return -1
        return check

    async def _iterations(self, vu: VirtualUser) -> bool:
        """Loop until the run or this user's turn ends; False if an ``on_start`` hook failed."""
        context, work = self.context, self.work
        plan = work.plan
        now = context.clock.now_ns
        tasks, calls, ops = plan.tasks, self._calls, work.task_ops
        think, pacing = self.think, self.pacing_ns
        for hook in plan.on_start:
            if not await self._hook(vu, hook):
                return False
        check_at = 0
        try:
            while True:
                t0 = now()
                if t0 >= check_at:
                    await self._flush(vu, t0)
                    check_at = self._check(vu, t0)
                    if check_at < 0:
                        return True
                    vu.span_start = t0 = now()
                if not context.claim():
                    self._wake_sleepers()  # users waiting for a turn need not wait on
                    return True
                index = work.pick(vu)
                vu.current = tasks[index].name
                try:
                    await calls[index](vu)
                except BaseException as exc:
                    if isinstance(exc, FATAL) or self._cancelling:
                        raise
                    vu.buffer(ops[index]).append(now() - t0)
                    vu.record_error(ops[index], t0, exc)
                else:
                    vu.buffer(ops[index]).append(now() - t0)
                vu.iteration += 1
                if pacing:
                    await self._pause(vu, (t0 + pacing - now()) / NS, check_at)
                elif not think.is_zero:
                    await self._pause(vu, think.sample(vu, vu.random), check_at)
        finally:
            if not self._cancelling:
                for hook in plan.on_stop:
                    await self._hook(vu, hook)

    async def _hook(self, vu: VirtualUser, hook: Task) -> bool:
        """Run an ``on_start``/``on_stop`` hook (sync or async), timed; False if it failed."""
        now = self.work.now
        op = self.work.hook_ops[hook.name]
        vu.current = hook.name
        t0 = now()
        try:
            if hook.is_async:
                await coroutine_caller(hook, watching=self.work.watching)(vu)
            elif hook.takes_user:
                hook.func(vu)
            else:
                hook.func()
        except BaseException as exc:
            if isinstance(exc, FATAL) or self._cancelling:
                raise
            vu.buffer(op).append(now() - t0)
            vu.record_error(op, t0, exc)
            return False
        vu.buffer(op).append(now() - t0)
        return True

    async def _flush(self, vu: VirtualUser, t: int) -> None:
        """Hand this user's durations over; past its share of the backlog, yield to the loop
        until the collector folded enough (never block the loop). Also yields once, so that a
        target that never awaits cannot hold the loop for more than a check."""
        recorder = self.work.recorder
        vu.flush(t, wait=False)
        if recorder.over_limit(vu):
            recorder.wanted.set()  # wakes the collector between its ticks
            while not recorder.relieved(vu):
                if not recorder.collecting:
                    recorder.drain()  # no collector (any more): fold here
                    break
                await asyncio.sleep(RELIEVE_POLL)
                recorder.wanted.set()
        else:
            await asyncio.sleep(0)

    async def _pause(self, vu: VirtualUser, seconds: float, check_at: int) -> None:
        """Await between iterations (think time, pacing), flushing before long pauses."""
        if seconds <= 0:
            return
        context = self.context
        t = context.clock.now_ns()
        if t + seconds * NS >= check_at:
            await self._flush(vu, t)
        await self._sleep(min(seconds, max(0.0, (context.deadline - t) / NS)))

    async def _sleep_until(self, due: int) -> bool:
        """Await ``due`` (clock ns); False if the run ends or runs out first."""
        context = self.context
        now = context.clock.now_ns
        while (t := now()) < due:
            if context.stopping or context.exhausted:
                return False
            await self._sleep((due - t) / NS)
        return not (context.stopping or context.exhausted or t >= context.deadline)

    async def _sleep(self, seconds: float) -> None:
        """Await ``seconds``, cut short when the run stops or runs out of iterations. A clock
        that is not the system's (a test's fake clock) sleeps on its own terms, on a worker
        thread."""
        if seconds <= 0:
            return
        if not self._real:  # a test's clock may block in sleep: not on the loop
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.threads, "loadtest-fake-sleep")
            sleep = self.context.clock.sleep
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, sleep, seconds, self.context.wake_event)
            return
        if self.context.stopping:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        handle = loop.call_later(seconds, _wake, future)
        self._sleepers.add(future)
        try:
            await future
        finally:
            handle.cancel()
            self._sleepers.discard(future)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
