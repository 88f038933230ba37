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
import concurrent.futures
import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from pytest_loadtest import _monitor
from pytest_loadtest._engine._lifespan import lifespan
from pytest_loadtest._engine._loops import (
    Loop,
    close_clients,
    new_event_loop,
    on_stop,
    turn,
    wake,
    wake_all,
)
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
#: Seconds between looks at whether the test's loop still runs, while users run on it.
HOST_POLL: Final = 0.05

Coroutines = Callable[["VirtualUser"], Awaitable[Any]]


def coroutine_caller(task: Task, *, watching: bool) -> Coroutines:
    """A function making the coroutine of ``task`` for a user; naming the running operation for
    a database watch when ``watching`` (a context variable: each asyncio task has its own)."""
    func = task.func
    name = task.name

    def call(vu: VirtualUser) -> Awaitable[Any]:
        return func(vu) if task.takes_user else func()  # type: ignore[no-any-return]

    if not watching:
        return func if task.takes_user else call

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
        self.loops = settings.loops
        #: event-loop threads the users ran on (with ``arun``: the test's one)
        self.loop_threads = 1
        self.loop_name = settings.loop
        self._go = threading.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._loops: dict[asyncio.AbstractEventLoop, Loop] = {}  # the users' loops, running
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
        for state in list(self._loops.values()):
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to wake
                state.loop.call_soon_threadsafe(on_stop, state)

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
        re-raise what ended the run from inside a target (Ctrl-C, ``sys.exit()``) or a user.

        On the test's loop (``context.host_loop``, from ``load_runner.arun``) the users run as
        its tasks and this thread waits for them. Otherwise it runs a new event loop (of
        ``loop_name``), and with ``loops`` > 1 starts one more thread and loop per extra loop,
        the users dealt round-robin among them."""
        self._go.wait()
        try:
            host = self.context.host_loop
            if host is not None:
                self._run_hosted(host, users)
            else:
                self.loop_threads = max(1, min(self.loops, len(users)))
                shards = [users[i :: self.loops] for i in range(min(self.loops, len(users)))]
                others = [
                    threading.Thread(
                        target=self._run_own_guarded,
                        args=(shard,),
                        name=f"loadtest-loop-{i + 1}",
                        daemon=True,
                    )
                    for i, shard in enumerate(shards[1:])
                ]
                for thread in others:
                    thread.start()
                self._run_own(shards[0] if shards else [])
                for thread in others:
                    thread.join()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=False)
        if self._fatal is not None:
            raise self._fatal

    def _run_own_guarded(self, users: list[VirtualUser]) -> None:
        """An extra loop thread: what ends it is kept for the first thread to re-raise."""
        try:
            self._run_own(users)
        except BaseException as exc:  # Ctrl-C cannot reach this thread; a bug of ours can
            self._fail(exc)

    def _run_own(self, users: list[VirtualUser]) -> None:
        """Run ``users`` on a new event loop in this thread."""
        loop = new_event_loop(self.loop_name)
        try:
            if not self.context.stopping:
                loop.run_until_complete(self._run(users))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            self._loops.pop(loop, None)
            loop.close()

    def _run_hosted(self, host: asyncio.AbstractEventLoop, users: list[VirtualUser]) -> None:
        """Run ``users`` as tasks of ``host`` (running in another thread) and wait for them; give
        up when ``host`` stops running (the test was interrupted)."""
        if self.context.stopping:
            return
        try:
            done = asyncio.run_coroutine_threadsafe(self._run(users), host)
        except RuntimeError:  # the test's loop is closed
            return
        while True:
            try:
                done.result(timeout=HOST_POLL)
                return
            except concurrent.futures.TimeoutError:
                if not host.is_running():
                    done.cancel()
                    return

    async def _run(self, users: list[VirtualUser]) -> None:
        loop = asyncio.get_running_loop()
        state = self._loops[loop] = Loop(loop, asyncio.Event())
        period = self.context.tick_ns / NS / 2
        state.turner = loop.call_later(period, turn, state, period)
        try:
            if self.context.stopping:
                return
            app = getattr(self.work.http, "app", None)  # an ASGI app in process: its lifespan
            first = bool(users) and users[0].index == 0  # once, on the loop of user 0
            async with lifespan(app) if app is not None and first else contextlib.nullcontext():
                await self._main(users)
            await close_clients(users)
        finally:
            self._loops.pop(loop, None)
            state.stopped.set()
            if state.turner is not None:
                state.turner.cancel()
        for task in list(self._tasks):  # a bug of the driver's in a user: the run stops
            if task.get_loop() is loop and task.done() and not task.cancelled():
                self._fatal = self._fatal or task.exception()

    def _state(self) -> Loop:
        """The running loop's state (on a loop thread)."""
        return self._loops[asyncio.get_running_loop()]

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
        stopping: asyncio.Future[Any] = asyncio.ensure_future(self._state().stopped.wait())
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

    def _wake_sleepers(self) -> None:
        """Wake every sleeping user, on every loop (from a loop thread)."""
        running = asyncio.get_running_loop()
        for state in list(self._loops.values()):
            if state.loop is running:
                wake_all(state)
            else:
                with contextlib.suppress(RuntimeError):  # that loop is closed
                    state.loop.call_soon_threadsafe(wake_all, state)

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
        until the collector folded enough (never block the loop)."""
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
        sleepers = self._loops[loop].sleepers
        future: asyncio.Future[None] = loop.create_future()
        handle = loop.call_later(seconds, wake, future)
        sleepers.add(future)
        try:
            await future
        finally:
            handle.cancel()
            sleepers.discard(future)
