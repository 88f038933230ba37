"""``LoadRunner``: what the ``load_runner`` fixture hands a test."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn, final

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._engine._http import check_app
from pytest_loadtest._engine._thread import in_thread
from pytest_loadtest._model._capacity import Capacity, CapacityStep, check_search, step_verdict
from pytest_loadtest._model._clock import Clock
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._scale._coordinate import Coordinator
from pytest_loadtest._scale._run import off_the_loop, replay, scaled_run, spreads
from pytest_loadtest._scale._serial import one_at_a_time
from pytest_loadtest._scenario._target import Plan, Scenario, TargetError, build_plan
from pytest_loadtest._settings._layers import Layer, Layers, SettingError
from pytest_loadtest._settings._settings import LoadSettings
from pytest_loadtest._validate import check_settings

if TYPE_CHECKING:
    from pytest_loadtest._model._progress import Progress
    from pytest_loadtest._scale._worker import WorkerLink

__all__ = ["LoadRunner"]


def _raise(message: str) -> NoReturn:
    raise SettingError(message)


_NO_LOOP: Final = (
    "load_runner.arun() needs a running event loop: await it in an async test (pytest-asyncio, "
    "anyio), or call load_runner.run() in a plain test"
)
_ARUN_LOOPS: Final = (
    "load_runner.arun(): loops={loops} (from {source}) cannot apply: arun runs the users on the "
    "test's own loop; give loops=1, or use load_runner.run() for users on loops of their own"
)

_CONFIRM_PER_TEST: Final = (
    "{source}: confirm is set per test (the load marker, --load-confirm or load_confirm): a "
    "breach is confirmed by running the whole test again, with fresh fixtures"
)


@final
class LoadRunner:
    """Runs targets under load with the test's settings; may be used several times per test.

    ``layers_above`` are the settings that beat ``run()``'s keyword arguments (the command line);
    ``layers_below`` those that yield to them (marker, ini), each as ``(source, values)``: the
    tiers of :class:`~pytest_loadtest._settings._layers.Layers`, which orders them.
    """

    def __init__(
        self,
        *,
        test_id: str = "",
        layers_above: Sequence[Layer] = (),
        layers_below: Sequence[Layer] = (),
        on_result: Callable[[LoadResult], None] = lambda result: None,
        on_interrupt: Callable[[list[LoadResult]], None] = lambda results: None,
        fail: Callable[[str], NoReturn] = _raise,
        clock: Clock | None = None,
        progress: Callable[[], Progress] | None = None,
        soak: bool = False,
        scale: Coordinator | WorkerLink | None = None,
        turns: Path | None = None,
    ) -> None:
        self.test_id = test_id
        self.results: list[LoadResult] = []
        self.clock = clock
        self._layers = Layers(above=tuple(layers_above), below=tuple(layers_below))
        self._on_result = on_result
        self._on_interrupt = on_interrupt
        self._fail = fail
        self._progress = progress
        self._soak = soak
        self._watched: list[Any] = []
        self._kept = False  # the results were handed to on_interrupt
        #: processes=N: the coordinator of this test's workers, or (in a worker process) the
        #: line to its coordinator
        self.scale = scale
        #: under pytest-xdist: the session's directory, whose lock each run holds (one at a time)
        self._turns = None if turns is None else turns / "runs.lock"

    def run(self, target: Any, **settings: Any) -> LoadResult:
        """Drive ``target`` with virtual users and return what was measured.

        ``target``: a callable taking no argument or the virtual user, a mapping of names to such
        callables (equal weights), or a :class:`~pytest_loadtest.Scenario` (its settings, from a
        scenario file, rank between these keyword arguments and the marker). Keyword arguments
        are settings (see the README); the command line still overrides them.

        SLA breaches are collected on the result and fail the test when it ends. Ctrl-C stops
        the run (its figures are kept, with the test's earlier runs) and the session.
        """
        with self._interruptible():
            plan, _, resolved = self._prepare(target, ("load_runner.run() argument", settings))
            return self._run(plan, resolved)

    def settings(self, **settings: Any) -> LoadSettings:
        """The settings a ``run(target, **settings)`` of this test would use: the command line,
        these arguments, the marker, the ini file, the defaults (a seed left to chance is drawn
        again by the run). For set-up that scales with the load: a pool of
        ``load_runner.settings().peak_users`` connections, an account for every user."""
        source = "load_runner.settings() argument"
        if "confirm" in settings:
            self._fail(_CONFIRM_PER_TEST.format(source=source))
        return self._resolve(self._layers.with_call((source, settings)))

    @contextlib.contextmanager
    def _interruptible(self) -> Iterator[None]:
        """Ctrl-C anywhere inside (preparing, running, after the result): hand every result of
        the test to ``on_interrupt`` (no test report will carry them), then let it through."""
        try:
            yield
        except KeyboardInterrupt:
            self.keep_on_interrupt()
            raise

    def keep_on_interrupt(self) -> None:
        """Ctrl-C (in a run, or anywhere in the test body): hand every result of the test to
        ``on_interrupt``, once."""
        if not self._kept:
            self._kept = True
            self._on_interrupt(list(self.results))

    def watch(self, *engines: Any) -> None:
        """Watch SQLAlchemy engines in this test's later runs: statement latencies by normalised
        statement, statements per call of each operation, the connection pool; findings such as
        missing indexes, N+1 queries and a saturated pool. Same as the ``watch=`` setting."""
        from pytest_loadtest._settings._parsers import parse_watch

        problem = ""
        try:
            self._watched.extend(parse_watch(list(engines)))
        except ValueError as exc:
            problem = f"load_runner.watch(): {exc}"
        if problem:
            self._fail(problem)

    def find_capacity(
        self,
        target: Any,
        *,
        start: float = 10,
        step: float = 10,
        step_duration: object = "30s",
        limit: float = 1000,
        by: str = "users",
        **settings: Any,
    ) -> Capacity:
        """Step the load up from ``start`` by ``step`` until the SLA breaks or ``limit`` is passed.

        ``by="users"`` steps the number of virtual users (closed model); ``by="rate"`` the
        iterations started per second (open model; a step that drops more than 1% of its
        iterations did not hold). Each step is a run of ``step_duration`` with the other
        settings; ``abort_on_breach`` is on unless set, so a breaking step ends early. The steps'
        breaches do not fail the test: assert on the returned :class:`Capacity`.
        """
        with self._interruptible():
            steps = self._capacity_steps(target, start, step, step_duration, limit, by, settings)
            try:
                plan, resolved, name, probe = next(steps)
                while True:
                    result = self._run(plan, resolved, name=name, probe=probe)
                    plan, resolved, name, probe = steps.send(result)
            except StopIteration as done:
                capacity: Capacity = done.value
                return capacity

    async def afind_capacity(
        self,
        target: Any,
        *,
        start: float = 10,
        step: float = 10,
        step_duration: object = "30s",
        limit: float = 1000,
        by: str = "users",
        **settings: Any,
    ) -> Capacity:
        """``await`` it in an async test: :meth:`find_capacity` with each step run as by
        :meth:`arun`, the async users on the test's own loop."""
        loop = asyncio.get_running_loop()
        with self._interruptible():
            steps = self._capacity_steps(target, start, step, step_duration, limit, by, settings)
            try:
                plan, resolved, name, probe = next(steps)
                while True:
                    result = await self._arun(plan, resolved, loop, name=name, probe=probe)
                    plan, resolved, name, probe = steps.send(result)
            except StopIteration as done:
                capacity: Capacity = done.value
                return capacity

    def _capacity_steps(
        self,
        target: Any,
        start: float,
        step: float,
        step_duration: object,
        limit: float,
        by: str,
        settings: dict[str, Any],
    ) -> Generator[tuple[Plan, LoadSettings, str, dict[str, object]], LoadResult, Capacity]:
        """The capacity search: yields each step's plan, settings, name and probe, is sent the
        step's result, and returns the :class:`Capacity` found."""
        problem = ""
        try:
            seconds = check_search(start, step, step_duration, limit, by)
        except ValueError as exc:
            problem = f"find_capacity(): {exc}"
        if problem:
            self._fail(problem)
        settings.setdefault("abort_on_breach", True)
        plan, layers, resolved = self._prepare(target, ("find_capacity() argument", settings))
        if resolved.sla is None:
            self._fail("find_capacity() needs an SLA to know when the load broke: give sla={...}")
        search = Capacity(by)
        load = float(start)
        while load <= limit + 1e-9:
            step_layer = (
                f"find_capacity() step {len(search.steps) + 1}",
                {by: load, "duration": seconds},
            )
            unit = f"{load:g} users" if by == "users" else f"{load:g}/s"
            probe = {"search": plan.name, "by": by, "load": load}
            step_settings = self._resolve(layers.with_step(step_layer))
            result = yield plan, step_settings, f"{plan.name} @ {unit}", probe
            reason = step_verdict(result)
            search.steps.append(CapacityStep(load, result, reason))
            result.probe = {**probe, "held": not reason}
            if reason:
                break
            load += step
        return search

    def _prepare(self, target: Any, call: Layer) -> tuple[Plan, Layers, LoadSettings]:
        """The plan, every settings layer, and the settings they resolve to."""
        try:
            plan = build_plan(target)
            scenario: Layer | None = None
            if isinstance(target, Scenario) and target.settings:
                scenario = (target.source, target.settings)
            for source, values in (call, scenario or ("", {})):
                if "confirm" in values:
                    raise TargetError(_CONFIRM_PER_TEST.format(source=source))
            layers = self._layers.with_call(call, scenario)
            resolved = self._resolve(layers)
            if resolved.app is not None and not resolved.base_url:
                check_app(resolved.app, plan.is_async)
            return plan, layers, resolved
        except (TargetError, ValueError) as exc:
            problem = str(exc)
        self._fail(problem)  # outside the except block: one message, no chained traceback

    def _resolve(self, layers: Layers) -> LoadSettings:
        try:
            return check_settings(layers.resolve())
        except SettingError as exc:
            problem = str(exc)
        self._fail(problem)

    def _run(
        self,
        plan: Plan,
        resolved: LoadSettings,
        *,
        name: str = "",
        probe: dict[str, object] | None = None,
        host_loop: asyncio.AbstractEventLoop | None = None,
    ) -> LoadResult:
        """One run: here, over worker processes, or (in a worker) this worker's share; under
        pytest-xdist, once no other worker's load test runs."""
        with one_at_a_time(self._turns):  # under pytest-xdist: one load test at a time
            scaled = scaled_run(
                self.scale,
                len(self.results),
                plan,
                resolved,
                name=self._name(plan, name),
                progress=self._progress,
                engine={"clock": self.clock, "watch": self._watched, "soak": self._soak},
                host_loop=host_loop,
                fail=self._fail,
            )
            if scaled is not None:
                return self._keep(scaled, probe)
            engine, printer = self._engine(plan, resolved, name)
            engine.context.host_loop = host_loop
            try:
                result = engine.run()
            finally:
                if printer is not None:
                    printer.finish()
            replay(self.scale, len(self.results), result)
            return self._keep(result, probe)

    def workers_failed(self) -> str:
        """After the test body (processes=N): wait for the workers' bodies; what failed there."""
        return "\n".join(self.scale.finish()) if isinstance(self.scale, Coordinator) else ""

    def close_workers(self) -> str | None:
        """End the test's worker processes; what failed in their teardown (or None)."""
        if not isinstance(self.scale, Coordinator):
            return None
        return "\n".join(self.scale.close()) or None

    def _name(self, plan: Plan, name: str) -> str:
        if name:
            return name
        taken = sum(1 for r in self.results if r.probe is None)
        return plan.name if not taken else f"{plan.name} (run {taken + 1})"

    def _keep(self, result: LoadResult, probe: dict[str, object] | None) -> LoadResult:
        """A run's result joins the test's (and the session's); Ctrl-C in it goes on up."""
        result.test_id = self.test_id
        result.probe = probe
        self.results.append(result)
        self._on_result(result)
        if result.interrupted:
            raise KeyboardInterrupt
        return result

    def _engine(self, plan: Plan, resolved: LoadSettings, name: str) -> tuple[Engine, Any]:
        """The engine of one run, and its live progress printer (or None)."""
        name = self._name(plan, name)
        printer = self._progress() if self._progress is not None else None
        engine = Engine(
            plan,
            resolved,
            clock=self.clock,
            name=name,
            progress=printer,
            watch=self._watched,
            soak=self._soak,
        )
        return engine, printer

    # -- async tests ----------------------------------------------------------------------------
    def arun(self, target: Any, /, **settings: Any) -> Awaitable[LoadResult]:
        """``await load_runner.arun(target, **settings)`` in an ``async def`` test: as
        :meth:`run`, with async users as tasks of the test's own running loop, so that objects
        its async fixtures made on that loop (an ``AsyncEngine``, an ``httpx.AsyncClient``, an
        app whose lifespan started) work from every user. The engine runs in a thread of its
        own, so the loop stays free for the users; a sync target runs on user threads, as with
        :meth:`run`, without blocking the loop. Cancelling the awaiting task stops the run (its
        figures are kept) and the cancellation goes on."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            self._fail(_NO_LOOP)
        with self._interruptible():
            plan, _, resolved = self._prepare(target, ("load_runner.arun() argument", settings))
        if resolved.loops > 1:
            self._fail(_ARUN_LOOPS.format(loops=resolved.loops, source=resolved.sources["loops"]))
        return self._arun(plan, resolved, loop)

    async def _arun(
        self,
        plan: Plan,
        resolved: LoadSettings,
        loop: asyncio.AbstractEventLoop,
        *,
        name: str = "",
        probe: dict[str, object] | None = None,
    ) -> LoadResult:
        with self._interruptible():
            if spreads(self.scale, resolved):  # the coordinator's or worker's wait, off the loop
                work = functools.partial(
                    self._run, plan, resolved, name=name, probe=probe, host_loop=loop
                )
                return await off_the_loop(loop, work, self.scale)
            engine, printer = self._engine(plan, resolved, name)
            engine.context.host_loop = loop
            done = in_thread(loop, engine.run, name="loadtest-arun")
            try:
                try:
                    result = await asyncio.shield(done)
                except asyncio.CancelledError:
                    engine.stopped_by = engine.stopped_by or "a cancellation of the awaiting task"
                    engine.context.stop()
                    self._keep(await done, probe)
                    raise
            finally:
                if printer is not None:
                    printer.finish()
            replay(self.scale, len(self.results), result)
            return self._keep(result, probe)
