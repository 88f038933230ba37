"""The closed-model engine: virtual users on long-lived threads, each running its own loop.

The hot path of one measured call is two clock reads, one comparison and one list append. All
else (stopping, window boundaries, handing durations to the recorder) happens when a user's clock
passes its next *check* time, at most every ``tick`` seconds.
"""

from __future__ import annotations

import bisect
import itertools
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Final, Protocol, final

from pytest_loadtest._config import LoadSettings
from pytest_loadtest._recorder import Recorder
from pytest_loadtest._result import LoadResult, OperationStats
from pytest_loadtest._scenario import Plan, Task
from pytest_loadtest._vu import VirtualUser

__all__ = ["Clock", "Engine", "SystemClock"]

NS: Final = 1_000_000_000
#: Users at or above which a busy process is flagged for GIL contention.
GIL_USERS: Final = 32


class Clock(Protocol):
    """Time source of a run; injectable so tests need not wait."""

    def now_ns(self) -> int:
        """Monotonic nanoseconds."""
        ...

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        """Pause for ``seconds`` or until ``stop`` is set."""
        ...


@final
class SystemClock:
    """``time.perf_counter_ns`` and an interruptible sleep."""

    now_ns = staticmethod(time.perf_counter_ns)

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        """Wait on ``stop`` so that stopping cuts the pause short."""
        if seconds > 0:
            stop.wait(seconds)


def _caller(task: Task) -> Callable[[VirtualUser], Any]:
    func = task.func
    if task.is_async:
        if task.takes_user:
            return lambda vu: vu.run_async(func(vu))
        return lambda vu: vu.run_async(func())
    if task.takes_user:
        return func
    return lambda vu: func()


@final
class Engine:
    """Runs one plan with resolved settings and returns a :class:`LoadResult`."""

    def __init__(
        self,
        plan: Plan,
        settings: LoadSettings,
        *,
        clock: Clock | None = None,
        name: str = "",
        tick: float = 0.1,
        window: float = 1.0,
        poll: float = 0.01,
    ) -> None:
        self._plan = plan
        self._settings = settings
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._name = name or plan.name
        self._tick_ns = int(tick * NS)
        self._window_ns = int(window * NS)
        if self._window_ns % self._tick_ns:
            raise ValueError("window must be a whole number of ticks")
        self._poll = poll
        self._stop_event = threading.Event()
        self._collector_stop = threading.Event()
        self._stopping = False
        self._interrupted = False
        self._exhausted = False
        self._crash: BaseException | None = None
        # No lock is shared by user threads: with hundreds of threads on one GIL, a contended
        # lock becomes a convoy (every hand-over waits for a GIL switch) and throughput collapses.
        # Counts are lists appended to (atomic under the GIL); each user waits on its own event.
        self._began: list[int] = []  # users that entered their loop
        self._ended: list[int] = []  # users that entered their loop and left it
        self._skipped: list[int] = []  # users whose turn never came (stopped before their slot)
        self._peak_active = 0
        self._go: list[threading.Event] = []
        self._start = 0
        self._deadline = 0
        self._warmup_end = 0
        self._counter = itertools.count()
        self._limit = settings.iterations
        self._task_ops: list[int] = []
        self._hook_ops: dict[str, int] = {}
        self._recorder: Recorder | None = None

    # -- main thread -----------------------------------------------------------------------------
    def run(self) -> LoadResult:
        """Run to the end (duration, iterations, or KeyboardInterrupt) and collect the result."""
        settings, now = self._settings, self._clock.now_ns
        try:
            users = self._create_users()
        except BaseException:
            self._stopping = True
            self._stop_event.set()
            for event in self._go:
                event.set()
            raise
        wall_start, cpu_start = time.time(), time.process_time()
        self._start = start = now()
        self._deadline = start + int(settings.duration * NS)
        self._warmup_end = start + int(settings.warmup * NS)
        recorder = self._recorder
        assert recorder is not None
        recorder.start_ns = start
        recorder.warmup_end_ns = self._warmup_end
        collector = threading.Thread(target=self._collect, name="loadtest-collector", daemon=True)
        collector.start()
        for event in self._go:
            event.set()
        try:
            self._wait_for_end()
        except KeyboardInterrupt:
            self._interrupted = True
        end = min(now(), self._deadline)
        hung = self._stop_users(users)
        idle = sum(1 for _, vu in users if vu.iteration == 0)
        self._collector_stop.set()
        collector.join()
        recorder.finish(max(end, now()))
        if self._crash is not None:
            raise RuntimeError(f"the load run was stopped by {self._crash!r}") from self._crash
        wall = max(time.time() - wall_start, 1e-9)
        cpu = (time.process_time() - cpu_start) / wall
        return self._result(end, hung, idle, wall_start, cpu)

    def _create_users(self) -> list[tuple[threading.Thread, VirtualUser]]:
        """Start every user thread now, waiting for the go; thread start-up is slow once
        other users keep the interpreter busy, so none is started during the run."""
        settings, now = self._settings, self._clock.now_ns
        recorder = self._recorder = Recorder(
            now(), window_ns=self._window_ns, active_users=self._active_users
        )
        self._task_ops = [recorder.operation(t.name, "task") for t in self._plan.tasks]
        task_names = {t.name for t in self._plan.tasks}
        for kind, hooks in (("on_start", self._plan.on_start), ("on_stop", self._plan.on_stop)):
            for hook in hooks:
                # a hook named like a task gets an operation of its own
                name = hook.name if hook.name not in task_names else f"{hook.name} ({kind})"
                self._hook_ops[hook.name] = recorder.operation(name, "hook")
        users = []
        for user_id in range(settings.users):
            vu = VirtualUser(user_id, settings.seed, recorder, now)
            offset = int(settings.ramp_up * NS * user_id / settings.users)
            go = threading.Event()
            self._go.append(go)
            thread = threading.Thread(
                target=self._user_main,
                args=(vu, offset, go),
                name=f"loadtest-user-{user_id}",
                daemon=True,
            )
            users.append((thread, vu))
            thread.start()
        return users

    def _wait_for_end(self) -> None:
        clock = self._clock
        while not self._stopping:
            now = clock.now_ns()
            if now >= self._deadline or self._finished() == self._settings.users:
                return
            clock.sleep(min(self._poll, (self._deadline - now) / NS), self._stop_event)

    def _stop_users(self, users: list[tuple[threading.Thread, VirtualUser]]) -> dict[str, int]:
        self._stopping = True
        self._stop_event.set()
        give_up = time.monotonic() + self._settings.stop_timeout
        hung: dict[str, int] = {}
        for thread, vu in users:
            try:
                thread.join(max(0.0, give_up - time.monotonic()))
            except KeyboardInterrupt:
                self._interrupted = True
                give_up = 0.0
            if thread.is_alive():
                name = vu.current or self._plan.name
                hung[name] = hung.get(name, 0) + 1
                vu.flush(self._clock.now_ns())  # its finished calls count; it is stuck in a call
        return hung

    def _collect(self) -> None:
        assert self._recorder is not None
        while not self._collector_stop.wait(self._tick_ns / NS):
            self._recorder.drain(self._clock.now_ns())

    # -- user threads -----------------------------------------------------------------------------
    def _finished(self) -> int:
        """User threads that are done, whether or not they ran."""
        return len(self._ended) + len(self._skipped)

    def _active_users(self) -> int:
        """Users inside their loop now; also keeps the peak (called by the collector)."""
        active = len(self._began) - len(self._ended)
        self._peak_active = max(self._peak_active, active)
        return active

    def _user_main(self, vu: VirtualUser, offset_ns: int, go: threading.Event) -> None:
        go.wait()
        clock = self._clock
        due = self._start + offset_ns
        while not self._stopping and (now := clock.now_ns()) < due:
            clock.sleep((due - now) / NS, self._stop_event)
        if self._stopping or self._exhausted or clock.now_ns() >= self._deadline:
            self._skipped.append(vu.id)
            return
        self._began.append(vu.id)
        self._active_users()
        vu.span_start = clock.now_ns()
        try:
            if self._plan.simple and self._settings.think_time.is_zero:
                self._fast_loop(vu)
            else:
                self._generic_loop(vu)
        except KeyboardInterrupt:
            self._interrupted = self._stopping = True
            self._stop_event.set()
        except BaseException as exc:  # SystemExit from a target, or a bug here: stop the run
            self._crash = exc
            self._stopping = True
            self._stop_event.set()
        finally:
            vu.flush(clock.now_ns())
            vu.close()
            self._ended.append(vu.id)

    def _next_check(self, t: int) -> int:
        """The next time a user must look up from its loop, or -1 when it must stop."""
        if self._stopping or t >= self._deadline:
            return -1
        tick = self._tick_ns
        check = min(self._start + ((t - self._start) // tick + 1) * tick, self._deadline)
        if t < self._warmup_end:
            check = min(check, self._warmup_end)
        return check

    def _claim(self) -> bool:
        """Claim one iteration of a limited run; False when all are taken."""
        if self._limit is not None and next(self._counter) >= self._limit:
            self._exhausted = True
            return False
        return True

    def _fast_loop(self, vu: VirtualUser) -> None:
        # One synchronous task without arguments or think time: keep every line here cheap.
        now = self._clock.now_ns
        op = self._task_ops[0]
        func = self._plan.tasks[0].func
        vu.current = self._plan.tasks[0].name
        limited = self._limit is not None
        buf = vu.buffer(op)
        append = buf.append
        check_at = 0
        while True:
            t0 = now()
            if t0 >= check_at:
                vu.iteration += len(buf)
                vu.flush(t0)
                check_at = self._next_check(t0)
                if check_at < 0:
                    return
                buf = vu.buffer(op)
                append = buf.append
                vu.span_start = t0 = now()
            if limited and not self._claim():
                vu.iteration += len(buf)
                return
            try:
                func()
            except Exception as exc:
                append(now() - t0)
                vu.record_error(op, t0, exc)
            else:
                append(now() - t0)

    def _generic_loop(self, vu: VirtualUser) -> None:
        plan, clock = self._plan, self._clock
        now = clock.now_ns
        tasks = plan.tasks
        callers = [_caller(t) for t in tasks]
        ops = self._task_ops
        cumulative, total_weight, last = plan.cumulative, plan.cumulative[-1], len(tasks) - 1
        think = self._settings.think_time
        rng = vu.random
        for hook in plan.on_start:
            if not self._call_hook(vu, hook):
                return  # a user that cannot start (say, login fails) does not run
        check_at = 0
        try:
            while True:
                t0 = now()
                if t0 >= check_at:
                    vu.flush(t0)
                    check_at = self._next_check(t0)
                    if check_at < 0:
                        return
                    vu.span_start = t0 = now()
                if not self._claim():
                    return
                index = (
                    0
                    if not last
                    else min(bisect.bisect(cumulative, rng.random() * total_weight), last)
                )
                vu.current = tasks[index].name
                try:
                    callers[index](vu)
                except Exception as exc:
                    vu.buffer(ops[index]).append(now() - t0)
                    vu.record_error(ops[index], t0, exc)
                else:
                    vu.buffer(ops[index]).append(now() - t0)
                vu.iteration += 1
                if not think.is_zero:
                    self._think(vu, think.sample(vu, rng), check_at)
        finally:
            for hook in plan.on_stop:
                self._call_hook(vu, hook)

    def _think(self, vu: VirtualUser, pause: float, check_at: int) -> None:
        if pause <= 0:
            return
        t = self._clock.now_ns()
        if t + pause * NS >= check_at:
            vu.flush(t)  # do not hold durations back through a long pause
        self._clock.sleep(min(pause, max(0.0, (self._deadline - t) / NS)), self._stop_event)

    def _call_hook(self, vu: VirtualUser, hook: Task) -> bool:
        now = self._clock.now_ns
        op = self._hook_ops[hook.name]
        vu.current = hook.name
        t0 = now()
        try:
            _caller(hook)(vu)
        except Exception as exc:
            vu.buffer(op).append(now() - t0)
            vu.record_error(op, t0, exc)
            return False
        vu.buffer(op).append(now() - t0)
        return True

    # -- result -----------------------------------------------------------------------------------
    def _result(
        self, end: int, hung: dict[str, int], idle: int, wall_start: float, cpu: float
    ) -> LoadResult:
        recorder = self._recorder
        assert recorder is not None
        measured = max(0.0, (end - max(self._start, self._warmup_end)) / NS)
        operations = {
            record.name: OperationStats(
                name=record.name,
                kind=record.kind,
                parent=record.parent,
                histogram=record.histogram,
                errors=record.errors,
                duration=measured,
                errors_by_type=record.errors_by_type,
                timeline=record.timeline,
            )
            for record in recorder.operations
        }
        gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
        result = LoadResult(
            name=self._name,
            histogram=recorder.overall_histogram(),
            errors=sum(r.errors for r in recorder.operations if r.kind == "task"),
            duration=measured,
            operations=operations,
            timeline=recorder.timeline,
            settings=self._settings.to_dict(),
            sla=self._settings.sla,
            hung=hung,
            interrupted=self._interrupted,
            started_at=wall_start,
            users=self._settings.users,
            peak_active=self._peak_active,
            idle_users=idle,
            cpu_utilisation=cpu,
            gil_contention=bool(gil_enabled and self._settings.users >= GIL_USERS and cpu >= 0.85),
            late_calls=recorder.late_calls,
        )
        result.sla_breaches = result.evaluate_sla()
        return result
