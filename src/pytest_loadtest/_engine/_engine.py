"""The engine: virtual users on long-lived threads, driven by a closed- or open-model driver.

The hot path of one measured call is two clock reads, one comparison and one list append. All
else (stopping, window boundaries, handing durations to the recorder) happens when a user's clock
passes its next *check* time, at most every ``tick`` seconds. What decides when users run is a
driver: :class:`~pytest_loadtest._engine._closed.ClosedDriver` (a number of users following a
profile) or :class:`~pytest_loadtest._engine._open.OpenDriver` (iterations started at a rate).
"""

from __future__ import annotations

import bisect
import gc
import itertools
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, final

from pytest_loadtest import _monitor
from pytest_loadtest._engine._abort import AbortMonitor
from pytest_loadtest._engine._recorder import Recorder
from pytest_loadtest._engine._users import VirtualUser
from pytest_loadtest._model._clock import Clock, SystemClock
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._scenario._target import Plan, Task
from pytest_loadtest._settings._settings import LoadSettings

if TYPE_CHECKING:
    from pytest_loadtest._model._progress import Progress, ProgressSnapshot

__all__ = ["Clock", "Engine", "SystemClock"]

NS: Final = 1_000_000_000


class Driver(Protocol):
    """Decides when each user thread runs iterations."""

    threads: int

    def user_main(self, vu: VirtualUser) -> None:
        """The body of one user thread."""
        ...

    def main(self) -> None:
        """The main thread's part of the run, until its end (or stopping)."""
        ...

    def start(self) -> None:
        """The clock has started: let the users go."""
        ...

    def wake_all(self) -> None:
        """Stopping: wake every user that waits."""
        ...

    def active(self) -> int:
        """Users inside an iteration loop (closed) or an iteration (open) now."""
        ...


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
        progress: Progress | None = None,
        watch: Sequence[Any] = (),
        soak: bool = False,
    ) -> None:
        self.plan = plan
        self.progress = progress
        self.soak = soak
        self.system_clock = clock is None  # resources are sampled only on real time
        #: SQLAlchemy engines watched in this run: the settings' and ``load_runner.watch()``'s
        self.watch = tuple(dict.fromkeys([*settings.watch, *watch]))
        self.watched: dict[str, Any] = {}  # what each watcher saw, by kind
        self.settings = settings
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.name = name or plan.name
        self.tick_ns = int(tick * NS)
        self.window_ns = int(window * NS)
        if self.window_ns % self.tick_ns:
            raise ValueError("window must be a whole number of ticks")
        self.poll = poll
        self.stop_event = threading.Event()  # stopping: cuts the main thread's waits short
        self.wake_event = threading.Event()  # stopping or out of iterations: cuts users' sleeps
        self._collector_stop = threading.Event()
        self.stopping = False
        self.interrupted = False
        self.exhausted = False
        self.crash: BaseException | None = None
        # No lock is shared by user threads: with hundreds of threads on one GIL, a contended
        # lock becomes a convoy (every hand-over waits for a GIL switch) and throughput collapses.
        # Counts are lists appended to (atomic under the GIL).
        self.exited: list[int] = []  # user threads that are done
        self.users: list[tuple[threading.Thread, VirtualUser]] = []
        self.peak_active = 0
        self.start_ns = 0
        self.deadline = 0
        self.warmup_end = 0
        self._counter = itertools.count()
        self.limit = settings.iterations
        self.callers = [self._caller(t) for t in plan.tasks]
        self.task_ops: list[int] = []
        self.hook_ops: dict[str, int] = {}
        self.abort = AbortMonitor.create(settings, self.window_ns)
        self.recorder = Recorder(
            0,
            window_ns=self.window_ns,
            active_users=self._active_users,
            keep_windows=self.abort.windows if self.abort is not None else 0,
        )
        self._register_operations()
        self.driver: Driver = self._driver()

    def _caller(self, task: Task) -> Callable[[VirtualUser], Any]:
        """:func:`caller`, naming the running operation for the database watch if there is one
        (a context variable set around the call: only then, it costs ~0.2 µs)."""
        call = caller(task)
        if not self.watch:
            return call
        name = task.name

        def attributed(vu: VirtualUser) -> Any:
            token = _monitor.set_operation(name)
            try:
                return call(vu)
            finally:
                _monitor.reset_operation(token)

        return attributed

    def _driver(self) -> Driver:
        if self.settings.model == "open":
            from pytest_loadtest._engine._open import OpenDriver

            return OpenDriver(self)
        from pytest_loadtest._engine._closed import ClosedDriver

        return ClosedDriver(self)

    def _register_operations(self) -> None:
        recorder = self.recorder
        self.task_ops = [recorder.operation(t.name, "task") for t in self.plan.tasks]
        task_names = {t.name for t in self.plan.tasks}
        for kind, hooks in (("on_start", self.plan.on_start), ("on_stop", self.plan.on_stop)):
            for hook in hooks:
                # a hook named like a task gets an operation of its own
                name = hook.name if hook.name not in task_names else f"{hook.name} ({kind})"
                self.hook_ops[hook.name] = recorder.operation(name, "hook")

    # -- main thread -----------------------------------------------------------------------------
    def run(self) -> LoadResult:
        """Run to the end (duration, iterations, abort or KeyboardInterrupt); collect the result."""
        try:
            users = self._create_users()
        except BaseException:
            self._signal_stop()
            raise
        # Objects that exist before the run (the user threads, the target's module state) are
        # frozen out of the collector's view, so that a full collection in the run scans only
        # what the run allocates; pauses of tens of ms otherwise showed in the start lag.
        gc.freeze()
        watchers = self._watchers()
        try:
            return self._run(users, watchers)
        finally:
            gc.unfreeze()

    def _watchers(self) -> list[tuple[str, Any]]:
        """The resource sampler, database watches and allocation tracker this run asks for."""
        settings = self.settings
        watchers: list[tuple[str, Any]] = []
        if settings.monitor_interval > 0 and self.system_clock:
            watchers.append(("resources", _monitor.ResourceSampler(settings.monitor_interval)))
        for engine in self.watch:
            window = self.window_ns / NS
            watch = _monitor.DatabaseWatch(engine, window=window, clock=self.clock.now_ns)
            watchers.append(("database", watch))
        if settings.tracemalloc:
            warmup = settings.warmup
            watchers.append(("allocations", _monitor.AllocationTracker(warmup_s=warmup)))
        return watchers

    def _run(
        self, users: list[tuple[threading.Thread, VirtualUser]], watchers: list[tuple[str, Any]]
    ) -> LoadResult:
        now = self.clock.now_ns
        wall_start, cpu_start = time.time(), time.process_time()
        started: list[tuple[str, Any]] = []
        try:
            self.start_ns = start = now()
            for kind, watcher in watchers:
                watcher.start(start)
                started.append((kind, watcher))
            end, hung, idle, cpu = self._measure(users, start, wall_start, cpu_start)
        finally:
            stopped = now()
            for kind, watcher in started:
                data = watcher.stop(stopped)
                if kind == "database":
                    self.watched.setdefault(kind, []).append(data)
                else:
                    self.watched[kind] = data
        from pytest_loadtest._engine._build import build_result

        return build_result(self, end, hung, idle, wall_start, cpu)

    def _measure(
        self,
        users: list[tuple[threading.Thread, VirtualUser]],
        start: int,
        wall_start: float,
        cpu_start: float,
    ) -> tuple[int, dict[str, int], int, float]:
        """Run the load; ``(end, hung calls, idle users, CPU utilisation)``."""
        settings, now = self.settings, self.clock.now_ns
        self.deadline = start + int(settings.duration * NS)
        self.warmup_end = start + int(settings.warmup * NS)
        recorder = self.recorder
        recorder.start_ns = start
        recorder.warmup_end_ns = self.warmup_end
        collector = threading.Thread(target=self._collect, name="loadtest-collector", daemon=True)
        collector.start()
        self.driver.start()
        try:
            self.driver.main()
        except KeyboardInterrupt:
            self.interrupted = True
        end = min(now(), self.deadline)
        hung = self._stop_users(users)
        # users that finished no iteration: starved, or waiting for a ramp-up slot; not those
        # that found a limited run's iterations used up
        idle = 0 if self.exhausted else sum(1 for _, vu in users if vu.iteration == 0)
        self._collector_stop.set()
        collector.join()
        recorder.finish(max(end, now()))
        if self.crash is not None:
            raise RuntimeError(f"the load run was stopped by {self.crash!r}") from self.crash
        wall = max(time.time() - wall_start, 1e-9)
        return end, hung, idle, (time.process_time() - cpu_start) / wall

    def _create_users(self) -> list[tuple[threading.Thread, VirtualUser]]:
        """Start the driver's user threads now, waiting for the go: thread start-up is slow
        once other users keep the interpreter busy."""
        for _ in range(self.driver.threads):
            self.add_user()
        return self.users

    def add_user(self) -> VirtualUser:
        """Start one more user thread (before the run, or from the open model's dispatcher)."""
        user_id = len(self.users)
        vu = VirtualUser(user_id, self.settings.seed, self.recorder, self.clock.now_ns)
        vu.watching = bool(self.watch)
        thread = threading.Thread(
            target=self._user_main, args=(vu,), name=f"loadtest-user-{user_id}", daemon=True
        )
        self.users.append((thread, vu))
        thread.start()
        return vu

    def _signal_stop(self) -> None:
        self.stopping = True
        self.stop_event.set()
        self.wake_event.set()
        self.driver.wake_all()

    def wait_until(self, condition: Callable[[], bool]) -> None:
        """Poll (on the run's clock) until ``condition``, the deadline, or stopping."""
        clock = self.clock
        while not self.stopping:
            now = clock.now_ns()
            if now >= self.deadline or condition():
                return
            clock.sleep(min(self.poll, (self.deadline - now) / NS), self.stop_event)

    def _stop_users(self, users: list[tuple[threading.Thread, VirtualUser]]) -> dict[str, int]:
        self._signal_stop()
        give_up = time.monotonic() + self.settings.stop_timeout
        hung: dict[str, int] = {}
        for thread, vu in users:
            try:
                thread.join(max(0.0, give_up - time.monotonic()))
            except KeyboardInterrupt:
                self.interrupted = True
                give_up = 0.0
            if thread.is_alive():
                name = vu.current or self.plan.name
                hung[name] = hung.get(name, 0) + 1
                vu.flush(self.clock.now_ns())  # its finished calls count; it is stuck in a call
        return hung

    def _collect(self) -> None:
        recorder, abort, progress = self.recorder, self.abort, self.progress
        while not self._collector_stop.wait(self.tick_ns / NS):
            now = self.clock.now_ns()
            recorder.drain(now)
            if abort is not None and not self.stopping and abort.observe(self, now):
                self._signal_stop()
            if progress is not None and not self.stopping and progress.due():
                progress.update(self.snapshot(now))

    def snapshot(self, now: int) -> ProgressSnapshot:
        """Where the run is: elapsed time, active users, and over the last second or so (the
        last complete window and what has been handed over of the current one) calls/s, error
        rate and p95. For live progress."""
        from pytest_loadtest._model._progress import ProgressSnapshot

        recorder = self.recorder
        flushed = now - self.tick_ns - recorder.start_ns  # users hand over at every tick
        current = max(flushed, 0) // recorder.window_ns
        first = max(current - 1, 0)
        span = (flushed - first * recorder.window_ns) / NS
        hist, errors = LatencyHistogram(), 0
        if span > 0:
            for index, (part, part_errors) in recorder.rolling(first, current).items():
                if recorder.operations[index].kind == "task":
                    hist.add(part)
                    errors += part_errors
        return ProgressSnapshot(
            elapsed=(now - self.start_ns) / NS,
            total=self.settings.duration,
            active_users=self.driver.active(),
            calls_per_s=hist.count / span if span > 0 else 0.0,
            error_rate=errors / hist.count if hist.count else 0.0,
            p95_ms=hist.percentile_ms(95) if hist.count else math.nan,
            name=self.name,
            users=self.settings.max_users if self.settings.model == "open" else self.driver.threads,
            iterations_total=self.settings.iterations,
        )

    # -- user threads -----------------------------------------------------------------------------
    def note_active(self) -> None:
        """A user became active: keep the peak exact even between collector ticks."""
        self._active_users()

    def _active_users(self) -> int:
        """Users running now; also keeps the peak (called by the collector)."""
        active = self.driver.active()
        self.peak_active = max(self.peak_active, active)
        return active

    def _user_main(self, vu: VirtualUser) -> None:
        try:
            self.driver.user_main(vu)
        except KeyboardInterrupt:
            self.interrupted = True
            self._signal_stop()
        except BaseException as exc:  # SystemExit from a target, or a bug here: stop the run
            self.crash = exc
            self._signal_stop()
        finally:
            vu.flush(self.clock.now_ns())
            vu.close()
            self.exited.append(vu.id)

    def next_check(self, t: int) -> int:
        """The next time a user must look up from its loop, or -1 when the run is over."""
        if self.stopping or t >= self.deadline:
            return -1
        tick = self.tick_ns
        check = min(self.start_ns + ((t - self.start_ns) // tick + 1) * tick, self.deadline)
        if t < self.warmup_end:
            check = min(check, self.warmup_end)
        return check

    def claim(self) -> bool:
        """Claim one iteration of a limited run; False when all are taken."""
        if self.limit is not None and next(self._counter) >= self.limit:
            self.exhausted = True
            self.wake_event.set()  # users pausing or waiting for their turn need not wait on
            return False
        return True

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
        now = self.clock.now_ns
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

    def pause(self, vu: VirtualUser, seconds: float, check_at: int) -> None:
        """Sleep between iterations (think time, pacing), flushing before long pauses."""
        if seconds <= 0:
            return
        t = self.clock.now_ns()
        if t + seconds * NS >= check_at:
            vu.flush(t)  # do not hold durations back through a long pause
        self.clock.sleep(min(seconds, max(0.0, (self.deadline - t) / NS)), self.wake_event)

    def sleep_until(self, due: int) -> bool:
        """Sleep (a user thread) until ``due``; False if the run ends or runs out first."""
        clock = self.clock
        while (now := clock.now_ns()) < due:
            if self.stopping or self.exhausted:
                return False
            clock.sleep((due - now) / NS, self.wake_event)
        return not (self.stopping or self.exhausted or now >= self.deadline)
