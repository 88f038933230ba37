"""The engine: virtual users on long-lived threads, driven by a closed- or open-model driver.

The hot path of one measured call is two clock reads, one comparison and one list append. All
else (stopping, window boundaries, handing durations to the recorder) happens when a user's clock
passes its next *check* time, at most every ``tick`` seconds. A driver (:data:`DRIVERS`, and
:data:`ASYNC_DRIVERS` for async targets) decides when users run, a number of them following a
profile or iterations started at a rate; it sees the run only through its ``RunContext``.

:meth:`Engine.run` runs the users, turns what the recorder holds into a
:class:`~pytest_loadtest._engine._record.RunRecord` (:meth:`Engine.record`) and builds the
result from it (:func:`~pytest_loadtest._engine._build.build_result`).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, final

from pytest_loadtest._engine._abort import AbortMonitor
from pytest_loadtest._engine._async_closed import AsyncClosedDriver
from pytest_loadtest._engine._async_open import AsyncOpenDriver
from pytest_loadtest._engine._build import build_result
from pytest_loadtest._engine._closed import ClosedDriver
from pytest_loadtest._engine._collector import Collector
from pytest_loadtest._engine._context import RunContext
from pytest_loadtest._engine._driver import Driver, DriverFactory, LoopDriver
from pytest_loadtest._engine._http import HttpSetup
from pytest_loadtest._engine._interrupts import deferred_interrupts
from pytest_loadtest._engine._open import OpenDriver
from pytest_loadtest._engine._record import RunRecord
from pytest_loadtest._engine._recorder import Recorder
from pytest_loadtest._engine._share import WHOLE, Share
from pytest_loadtest._engine._users import VirtualUser, Work
from pytest_loadtest._engine._watchers import watchers
from pytest_loadtest._model._clock import Clock, SystemClock
from pytest_loadtest._model._metrics import NS
from pytest_loadtest._model._text import describe_exception

if TYPE_CHECKING:
    from pytest_loadtest._model._progress import Progress
    from pytest_loadtest._model._result import LoadResult
    from pytest_loadtest._scenario._target import Plan
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["ASYNC_DRIVERS", "DRIVERS", "Engine", "driver_for"]

#: The driver of each load model (``LoadSettings.model``).
DRIVERS: Final[Mapping[str, DriverFactory]] = {"closed": ClosedDriver, "open": OpenDriver}
#: The driver of each load model for async targets: users as tasks on one event loop. A model
#: missing here runs async targets as :data:`DRIVERS` does, on a loop per user thread.
ASYNC_DRIVERS: Final[Mapping[str, DriverFactory]] = {
    "closed": AsyncClosedDriver,
    "open": AsyncOpenDriver,
}
#: Seconds the engine waits for the loop thread past ``stop_timeout`` (its driver cancels the
#: calls still pending at ``stop_timeout``; the cancelled tasks then unwind).
LOOP_MARGIN: Final = 2.0


def driver_for(plan: Plan, settings: LoadSettings) -> DriverFactory:
    """The driver that runs ``plan`` under ``settings``: a shared event loop for async targets
    where the model has one, user threads otherwise."""
    if plan.is_async and settings.model in ASYNC_DRIVERS:
        return ASYNC_DRIVERS[settings.model]
    return DRIVERS[settings.model]


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
        exact_windows: bool = False,
        share: Share = WHOLE,
        gate: Callable[[], None] | None = None,
    ) -> None:
        self.plan = plan
        self.settings = settings
        self.progress = progress
        self.soak = soak
        self.system_clock = clock is None  # resources are sampled only on real time
        #: SQLAlchemy engines watched in this run: the settings' and ``load_runner.watch()``'s
        self.watch = tuple(dict.fromkeys([*settings.watch, *watch]))
        self.watched: dict[str, Any] = {}  # what each watcher saw, by kind
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.name = name or plan.name
        tick_ns, window_ns = int(tick * NS), int(window * NS)
        if window_ns % tick_ns:
            raise ValueError("window must be a whole number of ticks")
        self.context = RunContext(
            self.clock,
            tick_ns=tick_ns,
            window_ns=window_ns,
            poll=poll,
            limit=share.limit(settings.iterations),
            share=share,
        )
        #: called once the users are ready, before the clock starts (a worker process waits
        #: there for the common start of a run spread over several)
        self.gate = gate
        self.interrupted = False
        self._give_up = False  # a second Ctrl-C: stop waiting for users
        #: what stopped the run other than its end or Ctrl-C (``sys.exit()`` in a target, a bug)
        self.stopped_by = ""
        self.users: list[tuple[threading.Thread, VirtualUser]] = []
        self._peak_sampled = 0
        self.abort = AbortMonitor.create(settings, window_ns)
        self.recorder = Recorder(
            0,
            window_ns=window_ns,
            active_users=self._active_users,
            keep_windows=self.abort.windows if self.abort is not None else 0,
            exact_windows=exact_windows,
        )
        self.work = Work(plan, self.recorder, self.clock.now_ns, watching=bool(self.watch))
        self.work.http = HttpSetup.of(settings, plan.is_async)
        self.driver: Driver = driver_for(plan, settings)(self.context, self.work, settings)
        self.context.spawn = self.add_user
        self.context.on_stop(self.driver.wake_all)

    # -- main thread -----------------------------------------------------------------------------
    def run(self) -> LoadResult:
        """Run to the end (duration, iterations, abort or KeyboardInterrupt); build the result."""
        record = self.record()
        with deferred_interrupts(self._interrupt):
            return build_result(record, self.settings, watched=self.watched, soak=self.soak)

    def record(self) -> RunRecord:
        """Run to the end and return what was recorded.

        Ctrl-C at any moment (while users start, while they run) stops the run and keeps what
        was measured: the record says ``interrupted``; a second Ctrl-C while users stop only
        cuts the wait for them short (see :mod:`._interrupts`)."""
        try:
            self._create_users()
        except KeyboardInterrupt:
            self.interrupted = True  # stop the users started so far, keep the (empty) record
        except BaseException:  # pytest-timeout's failure, a bug: no user outlives the run
            with deferred_interrupts(self._interrupt):
                self._stop_users(self.users, self.settings.stop_timeout)
            raise
        # Objects that exist before the run (the user threads, the target's module state) are
        # frozen out of the collector's view, so that a full collection in the run scans only
        # what the run allocates; pauses of tens of ms otherwise showed in the start lag.
        gc.freeze()
        try:
            found = watchers(
                self.settings,
                self.watch,
                self.clock,
                self.context.window_ns,
                real=self.system_clock,
            )
            return self._run(found)
        finally:
            gc.unfreeze()

    def _interrupt(self) -> None:
        """Ctrl-C while stopping: note it, and stop waiting for users."""
        self.interrupted = True
        self._give_up = True

    def _run(self, watchers: list[tuple[str, Any]]) -> RunRecord:
        now = self.clock.now_ns
        wall_start, cpu_start = time.time(), time.process_time()
        started: list[tuple[str, Any]] = []
        try:
            if self.gate is not None:
                self.gate()
            start = now()
            for kind, watcher in watchers:
                watcher.start(start)
                started.append((kind, watcher))
            end, hung, idle, cpu = self._measure(start, wall_start, cpu_start)
        finally:
            with deferred_interrupts(self._interrupt):
                stopped = now()
                for kind, watcher in started:
                    data = watcher.stop(stopped)
                    if kind == "database":
                        self.watched.setdefault(kind, []).append(data)
                    else:
                        self.watched[kind] = data
        figures = self.driver.finish()
        figures.peak_active = max(figures.peak_active, self._peak_sampled)
        context = self.context
        return RunRecord.from_recorder(
            self.recorder,
            name=self.name,
            duration=max(0.0, (end - max(context.start_ns, context.warmup_end)) / NS),
            started_at=wall_start,
            figures=figures,
            hung=hung,
            idle_users=idle,
            interrupted=self.interrupted,
            cpu_utilisation=cpu,
            aborted=self.abort.result if self.abort is not None else None,
            stopped_by=self.stopped_by,
        )

    def _measure(
        self, start: int, wall_start: float, cpu_start: float
    ) -> tuple[int, dict[str, int], int, float]:
        """Run the load; ``(end, hung calls, idle users, CPU utilisation)``."""
        settings, context, now = self.settings, self.context, self.clock.now_ns
        context.begin(start, settings.duration, settings.warmup)
        recorder = self.recorder
        recorder.start_ns = start
        recorder.warmup_end_ns = context.warmup_end
        collector = Collector(
            context,
            recorder,
            active=self.driver.active,
            abort=self.abort,
            progress=self.progress,
            name=self.name,
            total=settings.duration,
            users=settings.max_users if settings.model == "open" else self.driver.threads,
            iterations_total=settings.iterations,
        )
        try:
            collector.start()
            if not self.interrupted:
                self.driver.start()
                self.driver.main()
        except KeyboardInterrupt:
            self.interrupted = True
        except BaseException:
            # Whatever else ends the test here (pytest-timeout's failure raised from its signal
            # handler, SystemExit, a bug in a driver) goes on to the test's teardown: users must
            # not keep calling into fixtures torn down, nor the collector keep ticking.
            with deferred_interrupts(self._interrupt):
                self._stop_users(self.users, settings.stop_timeout)
                collector.stop()
            raise
        with deferred_interrupts(self._interrupt):
            end = min(context.ended_at or now(), context.deadline)
            # a run whose driver already waited stop_timeout for its last users does not wait
            # again
            grace = 0.0 if context.ended_at else settings.stop_timeout
            try:
                hung = self._stop_users(self.users, grace)
            finally:  # even if a timeout's failure strikes while users stop
                collector.stop()
            # users that finished no iteration: starved, or waiting for a ramp-up slot; not those
            # that found a limited run's iterations used up
            users = self.users
            idle = 0 if context.exhausted else sum(1 for _, vu in users if vu.iteration == 0)
            recorder.finish(max(end, now()))
            wall = max(time.time() - wall_start, 1e-9)
            return end, hung, idle, (time.process_time() - cpu_start) / wall

    def _create_users(self) -> list[tuple[threading.Thread, VirtualUser]]:
        """Start the driver's user threads now, waiting for the go: thread start-up is slow
        once other users keep the interpreter busy. A driver running its users on one event
        loop gets one thread for them all."""
        driver = self.driver
        if isinstance(driver, LoopDriver):
            users = [self._new_user(len(self.users) + i) for i in range(driver.threads)]
            thread = threading.Thread(
                target=self._loop_main, args=(driver, users), name="loadtest-loop", daemon=True
            )
            self.users.extend((thread, vu) for vu in users)
            self.context.spawn = lambda: self._add_loop_user(thread)
            thread.start()
            return self.users
        for _ in range(driver.threads):
            self.add_user()
        return self.users

    def _add_loop_user(self, thread: threading.Thread) -> VirtualUser:
        """One more user of a :class:`LoopDriver` (from its loop thread: the open model's pool
        grows)."""
        vu = self._new_user(len(self.users))
        self.users.append((thread, vu))
        return vu

    def _new_user(self, user_id: int) -> VirtualUser:
        vu = self.work.user(user_id, self.settings.seed, self.context.share)
        self.recorder.users += 1  # its share of the backlog limit
        return vu

    def add_user(self) -> VirtualUser:
        """Start one more user thread (before the run, or from the open model's dispatcher)."""
        vu = self._new_user(len(self.users))
        thread = threading.Thread(
            target=self._user_main, args=(vu,), name=f"loadtest-user-{vu.id}", daemon=True
        )
        self.users.append((thread, vu))
        thread.start()
        return vu

    def _stop_users(
        self, users: list[tuple[threading.Thread, VirtualUser]], grace: float
    ) -> dict[str, int]:
        """Stop the users and wait up to ``grace`` seconds in all for them; calls still running
        then are hung (by operation)."""
        self.context.stop()
        if isinstance(self.driver, LoopDriver):
            return self._stop_loop(self.driver, users, grace)
        give_up = time.monotonic() + grace
        hung: dict[str, int] = {}
        for thread, vu in users:
            while thread.is_alive() and not self._give_up:
                left = give_up - time.monotonic()
                if left <= 0:
                    break
                try:
                    thread.join(min(left, 0.05))
                except KeyboardInterrupt:  # outside deferred_interrupts (not the main thread)
                    self._interrupt()
            if thread.is_alive():
                name = vu.current or self.plan.name
                hung[name] = hung.get(name, 0) + 1
                vu.flush(self.clock.now_ns())  # its finished calls count; it is stuck in a call
        return hung

    def _stop_loop(
        self, driver: LoopDriver, users: list[tuple[threading.Thread, VirtualUser]], grace: float
    ) -> dict[str, int]:
        """Wait for the loop thread: its driver gives calls in progress ``stop_timeout`` and
        cancels those still pending (hung); a loop blocked in a sync call is given up on after
        :data:`LOOP_MARGIN` more."""
        if not users:
            return {}
        thread = users[0][0]
        give_up = time.monotonic() + grace + LOOP_MARGIN
        while thread.is_alive() and not self._give_up:
            left = give_up - time.monotonic()
            if left <= 0:
                break
            try:
                thread.join(min(left, 0.05))
            except KeyboardInterrupt:  # pragma: no cover - not the main thread
                self._interrupt()
        hung = driver.hung()
        if thread.is_alive():
            now = self.clock.now_ns()
            for _, vu in users:
                vu.flush(now, wait=False)  # finished calls count; the loop is stuck in a call
        return hung

    def _loop_main(self, driver: LoopDriver, users: list[VirtualUser]) -> None:
        """The loop thread: every user of a :class:`LoopDriver`, as :meth:`_user_main` for one."""
        try:
            driver.run_users(users)
        except KeyboardInterrupt:
            self.interrupted = True
            self.context.stop()
        except BaseException as exc:  # sys.exit() in a target, or a bug here: stop, keep figures
            type_name, message, _ = describe_exception(exc)
            self.stopped_by = self.stopped_by or f"{type_name}({message}) raised"
            self.context.stop()
        finally:
            now = self.clock.now_ns()
            for _, vu in list(self.users):  # with those the open model's pool grew by
                vu.flush(now, wait=False)  # the recorder's finish folds what is left
                self.context.exited.append(vu.id)
            self.context.last_exit = now

    def _active_users(self) -> int:
        """Users running now (the recorder asks every tick); also keeps the peak."""
        active = self.driver.active()
        self._peak_sampled = max(self._peak_sampled, active)
        return active

    # -- user threads -----------------------------------------------------------------------------
    def _user_main(self, vu: VirtualUser) -> None:
        try:
            self.driver.user_main(vu)
        except KeyboardInterrupt:
            self.interrupted = True
            self.context.stop()
        except BaseException as exc:  # sys.exit() in a target, or a bug here: stop, keep figures
            type_name, message, _ = describe_exception(exc)
            where = f" in operation {vu.current!r}" if vu.current else ""
            self.stopped_by = self.stopped_by or f"{type_name}({message}) raised{where}"
            self.context.stop()
        finally:
            vu.flush(self.clock.now_ns())
            vu.close()
            self.context.exited.append(vu.id)
            self.context.last_exit = self.clock.now_ns()
