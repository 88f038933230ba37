"""The async twins of :mod:`helpers.monitor_service`'s operations, on an ``AsyncEngine``
(aiosqlite, or asyncpg on PostgreSQL), and a run of one watched as a test would watch it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._monitor._statements import DatabaseStats
from pytest_loadtest._runner import LoadRunner

from helpers.monitor_service import (
    CLIENTS,
    PROJECTS_PER_CLIENT,
    IndexedProject,
    Project,
    VirtualUser,
)

AsyncOperation = Callable[[VirtualUser], Awaitable[None]]


class MakeAsyncEngine(Protocol):
    """The ``make_async_engine`` fixture's signature."""

    def __call__(self, *, pool_size: int = ..., max_overflow: int = ...) -> AsyncEngine: ...


def client_projects(engine: AsyncEngine, model: type[Project | IndexedProject]) -> AsyncOperation:
    """``get_client_projects``: the projects of a random client, from ``model``'s table."""

    async def get_client_projects(vu: VirtualUser) -> None:
        client_id = vu.random.randint(1, CLIENTS)
        async with AsyncSession(engine) as session:
            query = sa.select(model).where(model.client_id == client_id).order_by(model.name)
            rows = (await session.scalars(query)).all()
            assert len(rows) == PROJECTS_PER_CLIENT

    return get_client_projects


def slow_report(engine: AsyncEngine, seconds: float) -> AsyncOperation:
    """``monthly_report``: a statement the database needs ``seconds`` for (``pg_sleep`` on
    PostgreSQL; on SQLite a ``monitor_sleep`` SQL function, run on aiosqlite's own thread)."""
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def add_sleep(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.create_function("monitor_sleep", 1, _sleep)

        statement = sa.select(sa.func.monitor_sleep(seconds))
    else:
        statement = sa.select(sa.func.pg_sleep(seconds))

    async def monthly_report(vu: VirtualUser) -> None:
        async with engine.connect() as connection:
            (await connection.execute(statement)).scalar()

    return monthly_report


def _sleep(seconds: float) -> int:
    time.sleep(seconds)
    return 0


def run_watched(
    target: AsyncOperation,
    engine: AsyncEngine,
    *,
    users: int,
    duration: str = "0.8s",
    watched: AsyncEngine | sa.Engine | None = None,
) -> tuple[LoadResult, DatabaseStats]:
    """Run ``target`` (async users on the engine's event loop) with ``engine`` (or
    ``watched``: its ``sync_engine``) watched as ``load_runner.watch()`` does; the result and
    what the watch saw."""
    runner = LoadRunner()
    runner.watch(engine if watched is None else watched)
    result = runner.run(target, users=users, duration=duration)
    [database] = result.databases
    return result, DatabaseStats.from_dict(database)
