"""EXPLAIN through an async SQLAlchemy engine (aiosqlite, asyncpg...) after a run.

An async engine's connections can only be used from a coroutine (SQLAlchemy runs the sync code
in a greenlet and awaits the driver's calls on an event loop), so the sync
:func:`~pytest_loadtest._monitor._explain.explain` fails on one with ``MissingGreenlet``. And
the loop the users ran on is usually gone: a plain ``run()`` closes its own loop at the end, and
the pool's connections (an asyncpg connection belongs to the loop that opened it) with it.

:func:`explain_async` therefore runs every EXPLAIN in one coroutine, each statement on a
connection of its own through ``AsyncConnection.run_sync``:

- on the loop the users ran on, when it is still running in another thread (``arun()`` on a
  test's loop), with the watched engine and its pool, through
  ``asyncio.run_coroutine_threadsafe``; if that loop does not take the work within
  :data:`LOOP_START_TIMEOUT`, as below;
- else on a new event loop in a helper thread, with a copy of the engine (the same URL, dialect
  and pool configuration and events: ``Pool.recreate()``) disposed at the end. A ``StaticPool``
  (SQLite in memory) keeps its one connection, where the data lives: the watched engine itself
  is used then.

Nothing is raised: a plan that could not be taken carries the reason in its ``error``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from pytest_loadtest._monitor._explain import error_text, explain_on, unsupported
from pytest_loadtest._monitor._statements import QueryPlan

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["EXPLAIN_TIMEOUT", "LOOP_START_TIMEOUT", "explain_async", "running_loop"]

#: Seconds all the EXPLAINs of one engine may take before their plans say they timed out.
EXPLAIN_TIMEOUT: Final = 30.0
#: Seconds the users' loop, still running, gets to start the EXPLAINs before a new loop does.
LOOP_START_TIMEOUT: Final = 5.0

Statements = Sequence[tuple[str, Any]]  # (statement as sent to the driver, its parameters)


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def explain_async(
    engine: Engine,
    statements: Statements,
    *,
    proxy: AsyncEngine | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
    timeout: float = EXPLAIN_TIMEOUT,
) -> list[QueryPlan]:
    """The plans of ``statements`` on ``engine`` (the ``sync_engine`` of an async engine; the
    ``AsyncEngine`` itself as ``proxy`` when known), one per statement, in order. ``loop``: the
    loop the users ran on (used while it still runs in another thread)."""
    dialect = engine.dialect.name
    plan = unsupported(dialect)
    if plan is not None or not statements:
        return [plan] * len(statements) if plan is not None else []
    # the users' loop, if it still runs, and in another thread (blocking on it would hang it)
    if loop is not None and loop.is_running() and loop is not running_loop():
        plans = _on_running_loop(engine, statements, proxy, loop, timeout)
        if plans is not None:
            return plans
    return _on_new_loop(engine, statements, proxy, timeout)


def _timed_out(dialect: str, statements: Statements, timeout: float) -> list[QueryPlan]:
    error = f"EXPLAIN through the async engine did not finish within {timeout:g}s"
    return [QueryPlan(dialect, error=error) for _ in statements]


async def _explain_all(engine: AsyncEngine, statements: Statements) -> list[QueryPlan]:
    """Each statement's plan on a connection of its own (an error does not spoil the next)."""
    dialect = engine.dialect.name
    plans = []
    for statement, parameters in statements:
        plan: QueryPlan | None = None
        try:
            async with engine.connect() as connection:
                plan = await connection.run_sync(explain_on, statement, parameters)
        except Exception as exc:  # could not connect, or close: the plan says so
            plan = plan or QueryPlan(dialect, error=error_text(exc))
        plans.append(plan)
    return plans


def _async_engine(engine: Engine, proxy: AsyncEngine | None) -> AsyncEngine:
    from sqlalchemy.ext.asyncio import AsyncEngine

    return proxy if proxy is not None else AsyncEngine(engine)


def _on_running_loop(
    engine: Engine,
    statements: Statements,
    proxy: AsyncEngine | None,
    loop: asyncio.AbstractEventLoop,
    timeout: float,
) -> list[QueryPlan] | None:
    """The plans, taken on ``loop`` with the watched engine; ``None`` if the loop did not
    start the work in time (or stopped meanwhile)."""
    started, abandoned = threading.Event(), threading.Event()
    target = _async_engine(engine, proxy)

    async def work() -> list[QueryPlan] | None:
        if abandoned.is_set():
            return None
        started.set()
        return await asyncio.wait_for(_explain_all(target, statements), timeout)

    try:
        future = asyncio.run_coroutine_threadsafe(work(), loop)
    except RuntimeError:  # closed since we looked
        return None
    if not started.wait(LOOP_START_TIMEOUT):
        abandoned.set()
        future.cancel()  # should it have started just now: cancelled, the new loop takes over
        return None
    try:
        return future.result(timeout + LOOP_START_TIMEOUT)
    except (concurrent.futures.TimeoutError, asyncio.TimeoutError):  # distinct before 3.11
        future.cancel()
        return _timed_out(engine.dialect.name, statements, timeout)
    except Exception as exc:  # the loop was closed under the work
        return [QueryPlan(engine.dialect.name, error=error_text(exc)) for _ in statements]


def _on_new_loop(
    engine: Engine, statements: Statements, proxy: AsyncEngine | None, timeout: float
) -> list[QueryPlan]:
    """The plans, taken on a new event loop in a thread of its own (this thread may run a loop
    already), with a copy of the engine disposed at the end."""
    from sqlalchemy import Engine as SyncEngine
    from sqlalchemy.pool import StaticPool

    shared = isinstance(engine.pool, StaticPool)  # its one connection holds the data
    if shared:
        target = _async_engine(engine, proxy)
    else:
        copy = SyncEngine(
            engine.pool.recreate(),
            engine.dialect,
            engine.url,
            echo=engine.echo,
            hide_parameters=engine.hide_parameters,
        )
        target = _async_engine(copy, None)
    outcome: list[list[QueryPlan]] = []
    failure: list[BaseException] = []

    async def work() -> list[QueryPlan]:
        try:
            return await asyncio.wait_for(_explain_all(target, statements), timeout)
        finally:
            if not shared:
                await target.dispose()  # closes the copy's connections on this loop

    def main() -> None:
        try:
            outcome.append(asyncio.run(work()))
        except BaseException as exc:  # reported on the plans, from the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=main, name="loadtest-explain", daemon=True)
    thread.start()
    thread.join()
    if outcome:
        return outcome[0]
    if failure and isinstance(failure[0], asyncio.TimeoutError):
        return _timed_out(engine.dialect.name, statements, timeout)
    reason = error_text(failure[0]) if failure else "the EXPLAIN thread ended without a result"
    return [QueryPlan(engine.dialect.name, error=reason) for _ in statements]
