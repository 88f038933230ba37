"""Virtual users and the work they do.

:class:`VirtualUser` is what a target taking one argument is handed. :class:`Work` is what every
user of a run does: the plan's tasks (picked by weight) and per-user hooks, each call timed into
its operation of the recorder.
"""

from __future__ import annotations

import asyncio
import bisect
import random
from array import array
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, final

from pytest_loadtest import _monitor
from pytest_loadtest._engine._recorder import Recorder
from pytest_loadtest._engine._share import WHOLE, Share
from pytest_loadtest._model._text import describe_exception, safe_text
from pytest_loadtest._scenario._target import MAX_NAME, Plan, Task

__all__ = ["FATAL", "VirtualUser", "Work", "caller"]

#: What a target may raise that ends the run instead of counting as an error of its operation:
#: Ctrl-C interrupts it, ``sys.exit()`` stops it (the figures are kept either way). Every other
#: exception, ``BaseException`` subclasses such as ``GeneratorExit``, ``asyncio.CancelledError``
#: or pytest's ``fail()`` included, is an error of the operation and the user carries on.
FATAL = (KeyboardInterrupt, SystemExit)


@final
class VirtualUser:
    """One simulated user: a thread running iterations of the target.

    Public: ``id`` (0-based), ``iteration`` (iterations finished so far), ``state`` (a dict of its
    own), ``random`` (a ``random.Random`` seeded from the run's seed and the id) and
    :meth:`step`.
    """

    __slots__ = (
        "_buffers",
        "_clock",
        "_errors",
        "_http",
        "_loop",
        "_outer",
        "_recorder",
        "_seen_errors",
        "_submitted",
        "current",
        "drained",
        "id",
        "index",
        "iteration",
        "random",
        "span_start",
        "state",
        "watching",
        "worker",
    )

    def __init__(
        self,
        user_id: int,
        seed: int,
        recorder: Recorder,
        clock: Callable[[], int],
        *,
        index: int | None = None,
        worker: int = 0,
    ) -> None:
        self.id = user_id  # unique in the whole run, over every worker process
        self.index = user_id if index is None else index  # the driver's number in this process
        self.worker = worker  # the worker process running this user (0 without processes)
        self.iteration = 0
        self.state: dict[str, Any] = {}
        self.random = random.Random(seed * 1_000_003 + user_id)
        self.current: str | None = None  # operation running now, for hung-call reports
        self._outer: str | None = None  # the task around the steps being run
        self.span_start = 0
        self._recorder = recorder
        self._clock = clock
        # durations as machine integers: 8 bytes a call, no object per call, and the collector
        # reads them with numpy without converting (Python int lists grew the heap by
        # fragmentation for as long as a fast run lasted)
        self._buffers: dict[int, array[int]] = {}
        self._submitted = 0  # durations handed to the recorder
        self.drained = 0  # of those, folded (the recorder counts)
        self._errors: dict[tuple[int, str], int] = {}
        self._seen_errors: set[tuple[int, str]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.watching = False  # a database watch attributes statements to the running step
        self._http: Any = None  # HttpSetup of the run, then this user's client (vu.http)

    def __repr__(self) -> str:
        return f"<VirtualUser {self.id} iteration={self.iteration}>"

    def step(self, name: str) -> _Step:
        """Time a named step of an iteration; it is reported as an operation of its own.

        >>> with vu.step("list"):
        ...     service.list_clients()
        """
        label = safe_text(str(name), MAX_NAME)
        parent = self._outer if self._outer is not None else self.current
        return _Step(self, self._recorder.operation(label, "step", parent), label)

    # -- engine side --------------------------------------------------------------------------
    def buffer(self, op: int) -> array[int]:
        """This user's pending durations of ``op`` (nanoseconds, ``array('q')``)."""
        buf = self._buffers.get(op)
        if buf is None:
            buf = self._buffers[op] = array("q")
        return buf

    def flush(self, now_ns: int, *, wait: bool = True) -> None:
        """Hand pending durations to the recorder and start a new span at ``now_ns``.

        Backpressure: when more of this user's durations wait to be folded than its share of
        the recorder's backlog limit (the collector fell behind a fast target), the user waits
        for the collector to fold them (or folds them itself when it does not) before it goes
        on. ``wait=False``: never wait here (a user on a shared event loop, which must not block
        the loop, awaits :meth:`Recorder.relieved` instead)."""
        self._hand_over(now_ns)
        if wait:
            self.wait_for_collector()

    def _hand_over(self, now_ns: int) -> None:
        # A frame of its own: no local here outlives it to keep a buffer handed over alive
        # while the user then waits for the collector.
        recorder = self._recorder
        for op, buf in self._buffers.items():
            if buf:
                recorder.submit(op, self.span_start, buf, self)
                self._submitted += len(buf)
                self._buffers[op] = array("q")
        if self._errors:
            recorder.submit_errors(self.span_start, self._errors)
            self._errors = {}
        self.span_start = now_ns

    def wait_for_collector(self) -> None:
        """Backpressure (see :meth:`flush`): past this user's share of the backlog, wait for
        the collector to fold it. The caller must hold no buffer handed over: once folded, it
        is freed only when the last reference goes, and ~1,000 users waiting at once, each
        holding its last buffer (up to megabytes on a no-op target), grew the heap for the
        whole run."""
        recorder = self._recorder
        if recorder.over_limit(self):
            recorder.relieve(self)

    @property
    def backlog(self) -> int:
        """Durations this user handed over that are not folded yet."""
        return self._submitted - self.drained

    def record_error(
        self, op: int, start_ns: int, exc: BaseException, type_name: str | None = None
    ) -> None:
        """Count a failed call; keep the first message and traceback of each exception type.

        Counts wait in this user's own table until :meth:`flush`, like durations: every call in
        it started in the current span (``start_ns`` is in it)."""
        key = (op, type_name or type(exc).__name__)
        errors = self._errors
        errors[key] = errors.get(key, 0) + 1
        if key not in self._seen_errors:
            self._seen_errors.add(key)
            _, message, formatted = describe_exception(exc)  # str(exc) may raise: not here
            self._recorder.first_error(op, key[1], message, formatted)

    def run_async(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine to completion on this user's own event loop."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coroutine)

    @property
    def http(self) -> Any:
        """This user's HTTP client (``SyncHttp``, or ``AsyncHttp`` for async targets), made on
        first use: see :mod:`._http` and the README's "Web apps"."""
        make = getattr(self._http, "client_for", None)  # the run's HttpSetup: not made yet
        if make is not None:
            self._http = make(self)
        return self._http

    def close(self) -> None:
        """Release the event loop and the sync HTTP client, if any."""
        close = getattr(getattr(self._http, "client", None), "close", None)
        if close is not None:
            close()
        if self._loop is not None:
            self._loop.close()
            self._loop = None


@final
class _Step:
    """``with vu.step(name):`` times its block as an operation of its own. While inside, the
    user's running operation (what a hung call is reported under) is the step."""

    __slots__ = ("_name", "_op", "_outermost", "_previous", "_t0", "_token", "_vu")

    def __init__(self, vu: VirtualUser, op: int, name: str = "") -> None:
        self._vu = vu
        self._op = op
        self._name = name
        self._t0 = 0
        self._token: Any = None
        self._previous: str | None = None
        self._outermost = False

    def __enter__(self) -> _Step:
        vu = self._vu
        if vu.watching:
            self._token = _monitor.set_operation(self._name)
        self._previous = vu.current
        self._outermost = vu._outer is None
        if self._outermost:
            vu._outer = vu.current
        vu.current = self._name
        self._t0 = vu._clock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        vu = self._vu
        vu.buffer(self._op).append(vu._clock() - self._t0)
        vu.current = self._previous
        if self._outermost:
            vu._outer = None
        if self._token is not None:
            _monitor.reset_operation(self._token)
            self._token = None
        if exc is not None and not isinstance(exc, FATAL):
            vu.record_error(self._op, self._t0, exc)


def caller(task: Task) -> Callable[[VirtualUser], Any]:
    """A function calling ``task`` with what it takes, given the virtual user."""
    func = task.func
    if task.is_async:
        if task.takes_user:
            return lambda vu: vu.run_async(func(vu))
        return lambda vu: vu.run_async(func())
    if task.takes_user:
        return func
    return lambda vu: func()


@final
class Work:
    """What the users of one run do: the plan's tasks and hooks, timed into the recorder.

    ``callers[i]`` calls task ``i`` (naming the running operation for a database watch when
    ``watching``); ``task_ops[i]`` is its operation in the recorder; hooks have operations of
    their own (named ``"<hook> (on_start)"`` when a task has the same name).
    """

    __slots__ = ("callers", "hook_ops", "http", "now", "plan", "recorder", "task_ops", "watching")

    def __init__(
        self, plan: Plan, recorder: Recorder, now: Callable[[], int], *, watching: bool
    ) -> None:
        self.plan = plan
        self.recorder = recorder
        self.now = now
        self.watching = watching
        self.http: Any = None  # the run's HttpSetup (vu.http), set by the engine
        self.callers = [self._caller(t) for t in plan.tasks]
        self.task_ops = [recorder.operation(t.name, "task") for t in plan.tasks]
        self.hook_ops: dict[str, int] = {}
        task_names = {t.name for t in plan.tasks}
        for kind, hooks in (("on_start", plan.on_start), ("on_stop", plan.on_stop)):
            for hook in hooks:
                # a hook named like a task gets an operation of its own
                name = hook.name if hook.name not in task_names else f"{hook.name} ({kind})"
                self.hook_ops[hook.name] = recorder.operation(name, "hook")

    def _caller(self, task: Task) -> Callable[[VirtualUser], Any]:
        """:func:`caller`, naming the running operation for the database watch if there is one
        (a context variable set around the call: only then, it costs ~0.2 µs)."""
        call = caller(task)
        if not self.watching:
            return call
        name = task.name

        def attributed(vu: VirtualUser) -> Any:
            token = _monitor.set_operation(name)
            try:
                return call(vu)
            finally:
                _monitor.reset_operation(token)

        return attributed

    def shadow_ops(self, kind: str) -> list[int]:
        """Operations of kind ``kind`` beside each task (the open model's service times and start
        lags), hidden from the result's operations."""
        return [
            self.recorder.operation(f"{t.name}\x00{kind}", kind, t.name) for t in self.plan.tasks
        ]

    def user(self, index: int, seed: int, share: Share = WHOLE) -> VirtualUser:
        """A new virtual user of this run: the ``index``-th of this process, with its id in the
        whole run (see :class:`~pytest_loadtest._engine._share.Share`)."""
        vu = VirtualUser(
            share.global_id(index),
            seed,
            self.recorder,
            self.now,
            index=index,
            worker=share.worker,
        )
        vu.watching = self.watching
        vu._http = self.http
        return vu

    def pick(self, vu: VirtualUser) -> int:
        """Index of the task this user runs next, by weight."""
        plan = self.plan
        if len(plan.tasks) == 1:
            return 0
        cumulative = plan.cumulative
        index = bisect.bisect(cumulative, vu.random.random() * cumulative[-1])
        return min(index, len(plan.tasks) - 1)

    def call_hook(self, vu: VirtualUser, hook: Task) -> bool:
        """Run an ``on_start``/``on_stop`` hook, timed; False if it failed."""
        now = self.now
        op = self.hook_ops[hook.name]
        vu.current = hook.name
        t0 = now()
        try:
            self._caller(hook)(vu)
        except BaseException as exc:
            if isinstance(exc, FATAL):
                raise
            vu.buffer(op).append(now() - t0)
            vu.record_error(op, t0, exc)
            return False
        vu.buffer(op).append(now() - t0)
        return True
