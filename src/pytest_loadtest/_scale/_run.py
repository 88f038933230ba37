"""Where ``LoadRunner`` hands a run to scale-out: over worker processes (the coordinator), or
as this worker's share (a worker process); ``None`` when the run is the process's own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._engine._thread import in_thread
from pytest_loadtest._scale._coordinate import Coordinator
from pytest_loadtest._scale._wire import ScaleError
from pytest_loadtest._scale._worker import CoordinatorGone, WorkerLink

if TYPE_CHECKING:
    from pytest_loadtest._engine._share import Share
    from pytest_loadtest._model._progress import Progress
    from pytest_loadtest._model._result import LoadResult
    from pytest_loadtest._scenario._target import Plan
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["cancel", "off_the_loop", "replay", "scaled_run", "spreads"]


def scaled_run(
    scale: Coordinator | WorkerLink | None,
    index: int,
    plan: Plan,
    settings: LoadSettings,
    *,
    name: str,
    progress: Callable[[], Progress] | None,
    engine: Mapping[str, Any],
    host_loop: asyncio.AbstractEventLoop | None,
    fail: Callable[[str], NoReturn],
) -> LoadResult | None:
    """Run ``index`` of a test spread out, or ``None`` to run it here as usual. ``engine``: the
    keyword arguments of this test's engines (clock, watched databases, soak); ``fail`` fails
    the test with a message (a worker that cannot start, or that resolved other settings)."""
    if isinstance(scale, WorkerLink):

        def make(
            settings: LoadSettings, share: Share, gate: Callable[[], None], stream: Any
        ) -> Engine:
            made = Engine(
                plan,
                settings,
                name=name,
                progress=stream,
                share=share,
                gate=gate,
                exact_windows=True,  # timeline percentiles merge exactly
                **engine,
            )
            made.context.host_loop = host_loop
            return made

        problem = ""
        try:
            return scale.run(index, plan, settings, make)
        except CoordinatorGone as exc:
            problem = str(exc)
        fail(problem)
    if not isinstance(scale, Coordinator) or not scale.spreads(settings):
        return None
    printer = progress() if progress is not None else None
    problem = ""
    try:
        return scale.run(
            index, plan, settings, name=name, progress=printer, soak=bool(engine.get("soak"))
        )
    except ScaleError as exc:
        problem = str(exc)
    finally:
        if printer is not None:
            printer.finish()
    fail(problem)


def spreads(scale: Coordinator | WorkerLink | None, settings: LoadSettings) -> bool:
    """A run over worker processes, or a worker's share of one."""
    if isinstance(scale, Coordinator):
        return scale.spreads(settings)
    return scale is not None


def replay(scale: Coordinator | WorkerLink | None, index: int, result: LoadResult) -> None:
    """Run ``index`` was made in the coordinator's own process: workers that reach it (started
    for a later run with processes=N) get its result."""
    if isinstance(scale, Coordinator):
        scale.replay(index, result)


def cancel(scale: Coordinator | WorkerLink | None, why: str) -> None:
    """End the spread run in progress early (a cancelled ``arun``); its figures are kept."""
    if isinstance(scale, Coordinator):
        scale.cancel(why)
    elif isinstance(scale, WorkerLink) and (engine := scale.engine) is not None:
        engine.stopped_by = engine.stopped_by or why
        engine.context.stop()


async def off_the_loop(
    loop: asyncio.AbstractEventLoop,
    work: Callable[[], LoadResult],
    scale: Coordinator | WorkerLink | None,
) -> LoadResult:
    """``await`` a spread run (``work``) made in a thread, so that the test's loop stays free
    (a worker's users run on it). Cancelled, the run ends early, its result is kept (``work``
    keeps it), and the cancellation goes on."""
    spread = in_thread(loop, work, name="loadtest-arun")
    try:
        return await asyncio.shield(spread)
    except asyncio.CancelledError:
        cancel(scale, "a cancellation of the awaiting task")
        with contextlib.suppress(Exception):  # its result is kept all the same
            await spread
        raise
