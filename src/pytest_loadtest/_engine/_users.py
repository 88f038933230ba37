"""Virtual users and the work they do.

:class:`VirtualUser` is what a target taking one argument is handed. :class:`Work` is what every
user of a run does: the plan's tasks (picked by weight) and per-user hooks, each call timed into
its operation of the recorder.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import traceback
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, final

from pytest_loadtest import _monitor
from pytest_loadtest._engine._recorder import Recorder
from pytest_loadtest._scenario._target import Plan, Task

__all__ = ["VirtualUser", "Work", "caller"]


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
        "_loop",
        "_recorder",
        "_seen_errors",
        "current",
        "id",
        "iteration",
        "random",
        "span_start",
        "state",
        "watching",
    )

    def __init__(
        self, user_id: int, seed: int, recorder: Recorder, clock: Callable[[], int]
    ) -> None:
        self.id = user_id
        self.iteration = 0
        self.state: dict[str, Any] = {}
        self.random = random.Random(seed * 1_000_003 + user_id)
        self.current: str | None = None  # operation running now, for hung-call reports
        self.span_start = 0
        self._recorder = recorder
        self._clock = clock
        self._buffers: dict[int, list[int]] = {}
        self._errors: dict[tuple[int, str], int] = {}
        self._seen_errors: set[tuple[int, str]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.watching = False  # a database watch attributes statements to the running step

    def __repr__(self) -> str:
        return f"<VirtualUser {self.id} iteration={self.iteration}>"

    def step(self, name: str) -> _Step:
        """Time a named step of an iteration; it is reported as an operation of its own.

        >>> with vu.step("list"):
        ...     service.list_clients()
        """
        return _Step(self, self._recorder.operation(str(name), "step", self.current), str(name))

    # -- engine side --------------------------------------------------------------------------
    def buffer(self, op: int) -> list[int]:
        """This user's pending durations of ``op``."""
        buf = self._buffers.get(op)
        if buf is None:
            buf = self._buffers[op] = []
        return buf

    def flush(self, now_ns: int) -> None:
        """Hand pending durations to the recorder and start a new span at ``now_ns``."""
        for op, buf in self._buffers.items():
            if buf:
                self._recorder.submit(op, self.span_start, buf)
                self._buffers[op] = []
        if self._errors:
            self._recorder.submit_errors(self.span_start, self._errors)
            self._errors = {}
        self.span_start = now_ns

    def record_error(self, op: int, start_ns: int, exc: BaseException) -> None:
        """Count a failed call; keep the first message and traceback of each exception type.

        Counts wait in this user's own table until :meth:`flush`, like durations: every call in
        it started in the current span (``start_ns`` is in it)."""
        key = (op, type(exc).__name__)
        errors = self._errors
        errors[key] = errors.get(key, 0) + 1
        if key not in self._seen_errors:
            self._seen_errors.add(key)
            self._recorder.first_error(
                op,
                key[1],
                str(exc),
                "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            )

    def run_async(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine to completion on this user's own event loop."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coroutine)

    def close(self) -> None:
        """Release the event loop, if any."""
        if self._loop is not None:
            self._loop.close()
            self._loop = None


@final
class _Step:
    __slots__ = ("_name", "_op", "_t0", "_token", "_vu")

    def __init__(self, vu: VirtualUser, op: int, name: str = "") -> None:
        self._vu = vu
        self._op = op
        self._name = name
        self._t0 = 0
        self._token: Any = None

    def __enter__(self) -> _Step:
        if self._vu.watching:
            self._token = _monitor.set_operation(self._name)
        self._t0 = self._vu._clock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        vu = self._vu
        vu.buffer(self._op).append(vu._clock() - self._t0)
        if self._token is not None:
            _monitor.reset_operation(self._token)
            self._token = None
        if isinstance(exc, Exception):
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

    __slots__ = ("callers", "hook_ops", "now", "plan", "recorder", "task_ops", "watching")

    def __init__(
        self, plan: Plan, recorder: Recorder, now: Callable[[], int], *, watching: bool
    ) -> None:
        self.plan = plan
        self.recorder = recorder
        self.now = now
        self.watching = watching
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

    def user(self, user_id: int, seed: int) -> VirtualUser:
        """A new virtual user of this run."""
        vu = VirtualUser(user_id, seed, self.recorder, self.now)
        vu.watching = self.watching
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
        except Exception as exc:
            vu.buffer(op).append(now() - t0)
            vu.record_error(op, t0, exc)
            return False
        vu.buffer(op).append(now() - t0)
        return True
