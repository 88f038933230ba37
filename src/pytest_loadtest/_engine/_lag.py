"""Loop health of async users: a lag probe, and the steps of targets that block the loop.

:class:`LoopMeter` belongs to one event loop of the async drivers (:func:`probing`). Its
:meth:`~LoopMeter.probe` task sleeps :data:`PROBE_INTERVAL` and notes how late it woke: the
loop's lag. :func:`timed` wraps a target's coroutine and times each of its steps (from
resuming it to its next suspension); a step of at least :data:`STEP_FLOOR_NS` held the loop
(a ``time.sleep``, a sync driver, CPU work inside ``async def``) and is noted with its end time
and operation. When the probe wakes late, the part of its lag (the time from when it was due
until it ran) that such steps overlap is the lag the target caused; the rest is the harness's
(handing durations over between the target's steps, the collector thread holding the GIL) or
the machine's, and is never blamed on the target.

Steps are timed only while the loop lags (:attr:`LoopMeter.stepping`: from a wake-up late by
:data:`STEPPING_LAG_NS` or more until :data:`QUIET_WAKES` wake-ups in a row were not), so a
healthy loop pays one truthiness check per call; a target that blocks the loop makes it lag,
which turns the timing on for the calls that follow (the first blocking calls go untimed, and
their lag unblamed). When, for :data:`QUIET_WAKES` wake-ups in a row of timing, no lag was
mostly the target's steps', the lag is the harness's or the machine's: the timing backs off for
:data:`REST_WAKES` wake-ups.

Everything here runs on the loop's thread; the summary (:meth:`LoopMeter.health`) is read once
the loop has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, Final

from pytest_loadtest._model._loop import BlockingSteps, LoopHealth
from pytest_loadtest._model._metrics import NS

if TYPE_CHECKING:
    from pytest_loadtest._engine._context import RunContext
    from pytest_loadtest._engine._users import VirtualUser
    from pytest_loadtest._scenario._target import Task

__all__ = [
    "PROBE_INTERVAL",
    "STEP_FLOOR_NS",
    "LoopMeter",
    "Meters",
    "merged_health",
    "probing",
    "stepped",
    "stepped_calls",
    "timed",
]

#: Seconds between the probe's wake-ups.
PROBE_INTERVAL: Final = 0.05
#: A target's step at least this long (ns) held the loop: it is noted, by operation.
STEP_FLOOR_NS: Final = 5_000_000
#: A wake-up at least this late (ns) turns step timing on (half the rule's lag threshold).
STEPPING_LAG_NS: Final = 10_000_000
#: Wake-ups in a row late by less than that after which steps are no longer timed (2 s); also
#: wake-ups in a row of timing in which the target's steps explained no lag, after which the
#: timing backs off for :data:`REST_WAKES` (lag from the harness or the machine costs less).
QUIET_WAKES: Final = 40
#: Wake-ups of a back-off (10 s), during which lag does not turn step timing on.
REST_WAKES: Final = 200
MS: Final = 1e6  # ns per ms


class LoopMeter:
    """The lag and blocking steps of one event loop (see the module's doc)."""

    __slots__ = (
        "_blamed",
        "_blocking",
        "_fruitless",
        "_lagging",
        "_lags",
        "_ops",
        "_quiet",
        "_rest",
        "_start_ns",
        "_window_ns",
        "_windows",
        "interval",
        "stepping",
    )

    def __init__(
        self, interval: float = PROBE_INTERVAL, *, lagging: set[LoopMeter] | None = None
    ) -> None:
        self.interval = interval
        self._lagging = set() if lagging is None else lagging  # holds this meter while stepping
        self._start_ns = 0
        self._window_ns = NS
        self._lags: list[int] = []
        self._blamed: list[int] = []
        self._windows: dict[int, int] = {}
        self._ops: dict[str, BlockingSteps] = {}
        self._blocking: list[tuple[int, int]] = []  # (end, length) ns of steps since last wake
        self._quiet = 0  # wake-ups in a row without lag
        self._fruitless = 0  # wake-ups in a row, stepping, that found no blocking step
        self._rest = 0  # wake-ups left in a back-off, when lag does not turn stepping on
        #: whether calls starting now get their steps timed (the loop lagged lately)
        self.stepping = False

    def begin(self, start_ns: int, window_ns: int) -> None:
        """The run's clock started at ``start_ns``; timeline windows are ``window_ns`` long."""
        self._start_ns = start_ns
        self._window_ns = window_ns

    def blocked(self, name: str, end_ns: int, length_ns: int) -> None:
        """A step of operation ``name`` held the loop ``length_ns`` until ``end_ns``."""
        self._blocking.append((end_ns, length_ns))
        steps = self._ops.get(name)
        if steps is None:
            steps = self._ops[name] = BlockingSteps()
        ms = length_ns / MS
        steps.steps += 1
        steps.total_ms += ms
        if ms > steps.longest_ms:
            steps.longest_ms = ms

    def wake(self, due_ns: int, woke_ns: int) -> None:
        """The probe, due at ``due_ns``, ran at ``woke_ns``: note its lag, and the part of it
        that blocking steps of the target overlapped."""
        lag = max(0, woke_ns - due_ns)
        blamed = 0
        for end, length in self._blocking:
            blamed += max(0, min(end, woke_ns) - max(end - length, due_ns))
        self._blocking.clear()
        blamed = min(blamed, lag)
        explained = lag >= STEPPING_LAG_NS and 2 * blamed >= lag  # the target's lag, mostly
        self._fruitless = 0 if explained else self._fruitless + self.stepping
        self._lags.append(lag)
        self._blamed.append(blamed)
        window = max(0, (woke_ns - self._start_ns) // self._window_ns)
        if lag > self._windows.get(window, -1):
            self._windows[window] = lag
        if self._rest:  # backing off: the lag was not the target's lately
            self._rest -= 1
        elif lag >= STEPPING_LAG_NS:
            self._quiet = 0
            self._step(True)
        elif self.stepping:
            self._quiet += 1
            self._step(self._quiet < QUIET_WAKES)
        if self._fruitless >= QUIET_WAKES:  # the timing explained no lag: not the target's
            self._step(False)
            self._rest, self._fruitless = REST_WAKES, 0

    def _step(self, on: bool) -> None:
        if on != self.stepping:
            self.stepping = on
            (self._lagging.add if on else self._lagging.discard)(self)

    def health(self) -> LoopHealth | None:
        """The summary, or ``None`` when the probe never woke (and no step blocked)."""
        if not self._lags and not self._ops:
            return None
        return LoopHealth.of(
            [lag / MS for lag in self._lags],
            [blamed / MS for blamed in self._blamed],
            interval_ms=self.interval * 1000,
            step_floor_ms=STEP_FLOOR_NS / MS,
            windows={k: v / MS for k, v in self._windows.items()},
            operations=self._ops,
        )

    async def probe(self, now: Callable[[], int]) -> None:
        """Wake every :attr:`interval` on ``now``'s clock (ns) until cancelled."""
        interval_ns = round(self.interval * NS)
        while True:
            due = now() + interval_ns
            await asyncio.sleep(self.interval)
            self.wake(due, now())

    @contextlib.asynccontextmanager
    async def probing(
        self, now: Callable[[], int], *, start_ns: int, window_ns: int, enabled: bool = True
    ) -> AsyncIterator[None]:
        """Run :meth:`probe` as a task of the running loop for the block (not when
        ``enabled`` is false: a test's fake clock)."""
        self.begin(start_ns, window_ns)
        if not enabled:
            yield
            return
        task = asyncio.ensure_future(self.probe(now))
        try:
            yield
        finally:
            self._step(False)
            task.cancel()
            await asyncio.wait([task])  # its end; a cancellation of ours still gets through


class Meters(dict[asyncio.AbstractEventLoop, LoopMeter]):
    """Each loop's meter, by loop (the users of ``loops`` > 1 run on several). ``lagging``: the
    meters timing steps now; while it is empty (healthy loops) a call looks no further."""

    def __init__(self) -> None:
        super().__init__()
        self.lagging: set[LoopMeter] = set()


Call = Callable[["VirtualUser"], Awaitable[Any]]


@contextlib.asynccontextmanager
async def probing(meters: Meters, context: RunContext, *, enabled: bool) -> AsyncIterator[None]:
    """A meter for the running loop, kept in ``meters``, probing it on the run's clock for the
    block (not when ``enabled`` is false: a test's fake clock)."""
    meter = meters[asyncio.get_running_loop()] = LoopMeter(lagging=meters.lagging)
    now = context.clock.now_ns
    async with meter.probing(
        now, start_ns=context.start_ns, window_ns=context.window_ns, enabled=enabled
    ):
        yield


def stepped_calls(calls: Sequence[Call], tasks: Sequence[Task], meters: Meters) -> list[Call]:
    """``calls`` (each making the coroutine of the task of ``tasks`` at its index for a user)
    with their coroutines' steps timed (:func:`stepped`)."""
    return [stepped(call, meters, task.name) for call, task in zip(calls, tasks, strict=True)]


def stepped(make: Call, meters: Meters, name: str) -> Call:
    """``make`` (a user -> the target's coroutine) with the coroutine's steps timed as ``name``
    while the running loop's meter is :attr:`~LoopMeter.stepping`."""

    lagging, running, meter_of = meters.lagging, asyncio.get_running_loop, meters.get

    def call(vu: VirtualUser) -> Awaitable[Any]:
        awaitable = make(vu)
        if not lagging:  # the hot path: no loop lags
            return awaitable
        meter = meter_of(running())
        return awaitable if meter is None or not meter.stepping else timed(awaitable, meter, name)

    return call


def merged_health(meters: Meters) -> LoopHealth | None:
    """The health of the loops of ``meters`` as one (the worst loop's lag; see
    :meth:`LoopHealth.merge`); ``None`` when none saw anything."""
    parts = [meter.health() for meter in list(meters.values())]
    return LoopHealth.merge([health for health in parts if health is not None])


@types.coroutine
def _steps(
    inner: Any, meter: LoopMeter, name: str, clock: Callable[[], int]
) -> Generator[Any, Any, Any]:
    """Drive ``inner`` (a coroutine or an ``__await__`` iterator) step by step, noting the steps
    that held the loop."""
    send, throw = inner.send, inner.throw
    value: Any = None
    error: BaseException | None = None
    while True:
        t0 = clock()
        try:
            try:
                yielded = send(value) if error is None else throw(error)
            finally:
                t1 = clock()
                if t1 - t0 >= STEP_FLOOR_NS:
                    meter.blocked(name, t1, t1 - t0)
        except StopIteration as stop:
            return stop.value
        error = None
        try:
            value = yield yielded
        except GeneratorExit:
            inner.close()
            raise
        except BaseException as exc:  # cancellation and the like: handed to the target
            value, error = None, exc


def timed(
    awaitable: Awaitable[Any],
    meter: LoopMeter,
    name: str,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> Awaitable[Any]:
    """``awaitable`` (a target's coroutine) with its steps timed on ``clock`` (ns: the run's
    clock, the system's) for ``meter``, as ``name``."""
    inner = awaitable if isinstance(awaitable, types.CoroutineType) else awaitable.__await__()
    return _steps(inner, meter, name, clock)
