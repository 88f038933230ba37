"""Async users on one event loop: what the async drivers share.

Every virtual user of an ``async def`` target is an asyncio task on one event loop, run by one
thread of the engine (the *loop thread*), instead of a thread with a loop of its own. So objects
the code under test shares between users and binds to a loop on first use (an ``asyncio.Lock``,
an async database pool) work, and a thousand users cost a thousand small tasks, not a thousand
threads and loops.

:class:`LoopUsers` is what the closed model
(:class:`~pytest_loadtest._engine._async_closed.AsyncClosedDriver`) and the open model
(:class:`~pytest_loadtest._engine._async_open.AsyncOpenDriver`) share: the loop thread's body,
sleeping on the run's clock (cut short when the run stops), hooks, handing durations over, and
the end of the run. The loop thread only times calls and appends durations: folding stays on
the collector's thread, and backpressure is awaited (the user yields to the loop until the
collector folded its backlog) rather than waited for, which would block every user of the loop.

When the run stops, calls in progress get ``stop_timeout`` seconds to finish; the tasks still
pending then are cancelled (their ``finally`` blocks run) and counted as hung, by operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from pytest_loadtest import _monitor
from pytest_loadtest._engine._users import FATAL
from pytest_loadtest._model._clock import SystemClock
from pytest_loadtest._model._metrics import NS

if TYPE_CHECKING:
    from pytest_loadtest._engine._context import RunContext
    from pytest_loadtest._engine._users import VirtualUser, Work
    from pytest_loadtest._scenario._target import Task
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["LoopUsers", "coroutine_caller"]

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


class LoopUsers(ABC):
    """The shared part of the async drivers; a driver implements :meth:`_main` (the loop's
    main coroutine, given the users made before the clock started) and the :class:`Driver`
    methods the engine's main thread calls (``main``, ``active``, ``finish``)."""

    def __init__(self, context: RunContext, work: Work, settings: LoadSettings) -> None:
        self.context = context
        self.work = work
        self.stop_timeout = settings.stop_timeout
        self._real = isinstance(context.clock, SystemClock)
        self._calls = [coroutine_caller(t, watching=work.watching) for t in work.plan.tasks]
        self._go = threading.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sleepers: set[asyncio.Future[None]] = set()
        self._stopped: asyncio.Event | None = None
        self._cancelling = False  # the driver cancels hung tasks: CancelledError ends them
        self._fatal: BaseException | None = None
        self._hung: dict[str, int] = {}
        self._tasks: dict[asyncio.Future[Any], VirtualUser] = {}
        self._cancelled: set[asyncio.Future[Any]] = set()  # counted in _hung already

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

    def user_main(self, vu: VirtualUser) -> None:
        """Not used: every user runs on the loop thread (:meth:`run_users`)."""
        raise RuntimeError("users of a shared event loop run in run_users")

    def hung(self) -> dict[str, int]:
        """Calls hung when the run stopped, by operation: tasks cancelled after
        ``stop_timeout``, and, while the loop is still blocked (a sync call inside an
        ``async def``), the calls not finished yet."""
        hung = dict(self._hung)
        for task, vu in list(self._tasks.items()):
            if not task.done() and task not in self._cancelled:
                name = vu.current or self.work.plan.name
                hung[name] = hung.get(name, 0) + 1
        return hung

    # -- the loop thread ------------------------------------------------------------------------
    def run_users(self, users: list[VirtualUser]) -> None:
        """The loop thread's body: run the driver's main coroutine until every user finished;
        re-raise what ended the run from inside a target (Ctrl-C, ``sys.exit()``) or a user."""
        loop = asyncio.new_event_loop()
        try:
            self._go.wait()
            self._loop = loop
            if not self.context.stopping:
                loop.run_until_complete(self._run(users))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            self._loop = None
            loop.close()
            if self._executor is not None:
                self._executor.shutdown(wait=False)
        if self._fatal is not None:
            raise self._fatal

    async def _run(self, users: list[VirtualUser]) -> None:
        self._stopped = asyncio.Event()
        if self.context.stopping:
            return
        await self._main(users)
        for task in self._tasks:  # a bug of the driver's in a user: the run stops, as on a thread
            if task.done() and not task.cancelled() and task.exception() is not None:
                self._fatal = self._fatal or task.exception()

    @abstractmethod
    async def _main(self, users: list[VirtualUser]) -> None:
        """Run the users until the run ends (each driver's own profile)."""

    def _spawn(self, coroutine: Awaitable[None], vu: VirtualUser) -> asyncio.Future[Any]:
        """Run ``coroutine`` (of user ``vu``) as a task of the loop."""
        task = asyncio.ensure_future(coroutine)
        self._tasks[task] = vu
        return task

    async def _until_stopped(self, busy: Collection[asyncio.Future[Any]]) -> None:
        """Wait until every task of ``busy`` is done, or the run stops; then give the tasks
        still pending ``stop_timeout`` (none when the engine already waited for them) and
        cancel those still pending after it: they are hung."""
        assert self._stopped is not None
        stopping: asyncio.Future[Any] = asyncio.ensure_future(self._stopped.wait())
        pending: set[asyncio.Future[Any]] = {t for t in busy if not t.done()}
        try:
            while pending and not stopping.done():
                _, pending = await asyncio.wait(
                    pending | {stopping}, return_when=asyncio.FIRST_COMPLETED
                )
                pending.discard(stopping)
        finally:
            stopping.cancel()
        await self._cancel_after_grace(pending)

    async def _cancel_after_grace(self, pending: set[asyncio.Future[Any]]) -> None:
        if pending:
            grace = 0.0 if self.context.ended_at else self.stop_timeout
            if grace:
                _, pending = await asyncio.wait(pending, timeout=grace)
        if not pending:
            return
        self._cancelling = True
        for task in pending:
            vu = self._tasks[task]
            name = vu.current or self.work.plan.name
            self._hung[name] = self._hung.get(name, 0) + 1
            self._cancelled.add(task)
            task.cancel()
        await asyncio.wait(pending, timeout=CANCEL_GRACE)

    def _fail(self, exc: BaseException) -> None:
        """Ctrl-C or ``sys.exit()`` in a target: the run stops, the engine re-raises it."""
        self._fatal = self._fatal or exc
        self.context.stop()

    def _on_stop(self) -> None:
        if self._stopped is not None:
            self._stopped.set()
        self._wake_sleepers()

    def _wake_sleepers(self) -> None:
        for future in self._sleepers:
            if not future.done():
                future.set_result(None)

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
                self._executor = ThreadPoolExecutor(len(self._tasks) + 1, "loadtest-fake-sleep")
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
