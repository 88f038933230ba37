"""The seeded database of the detector tests: a SQLite file, and PostgreSQL when
``LOADTEST_DATABASE_URL`` names one (in a schema of its own, dropped afterwards); sync engines
onto it, and async ones (aiosqlite, asyncpg)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, QueuePool

from helpers.monitor import MakeEngine
from helpers.monitor_async import MakeAsyncEngine
from helpers.monitor_service import seed

DATABASE_URL_ENV = "LOADTEST_DATABASE_URL"


class Backend:
    """Where the tables live: makes engines (each with the pool a test asks for) onto them."""

    def __init__(self, url: str, schema: str | None) -> None:
        self.url = url
        self.schema = schema

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return make_url(self.url).get_backend_name()

    def engine(
        self, *, pool_size: int = 5, max_overflow: int = 10, timeout: float = 30
    ) -> sa.Engine:
        """A new engine with a ``QueuePool`` of that size."""
        connect_args: dict[str, Any] = (
            {"options": f"-c search_path={self.schema}"}
            if self.schema
            else {"check_same_thread": False}
        )
        return sa.create_engine(
            self.url,
            poolclass=QueuePool,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=timeout,
            connect_args=connect_args,
        )

    def async_engine(self, *, pool_size: int = 5, max_overflow: int = 10) -> AsyncEngine:
        """A new async engine: aiosqlite with a pool of that size; asyncpg without a pool
        (``NullPool``: a plain ``run()`` closes its event loop at the end, and the asyncpg
        connections a pool kept could then no longer be closed)."""
        if self.schema is None:
            url = make_url(self.url).set(drivername="sqlite+aiosqlite")
            return create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        return create_async_engine(
            make_url(self.url).set(drivername="postgresql+asyncpg"),
            poolclass=NullPool,
            connect_args={"server_settings": {"search_path": self.schema}},
        )


def _admin(url: str, statement: str) -> None:
    engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """A seeded database for this module's tests, once per backend."""
    schema = None
    if request.param == "postgresql":
        url = os.environ.get(DATABASE_URL_ENV, "").strip()
        if not url or make_url(url).get_backend_name() != "postgresql":
            pytest.skip(
                f"PostgreSQL variant: set {DATABASE_URL_ENV} to a PostgreSQL database "
                "(postgresql+psycopg://user@host/db) to run it"
            )
        schema = f"monitor_{uuid.uuid4().hex[:12]}"
        _admin(url, f'CREATE SCHEMA "{schema}"')
    else:
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('monitor')) / 'monitor.db'}"
    backend = Backend(url, schema)
    engine = backend.engine()
    try:
        seed(engine)
    finally:
        engine.dispose()
    yield backend
    if schema is not None:
        _admin(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def make_engine(backend: Backend) -> Iterator[MakeEngine]:
    """Engines onto the seeded database, disposed after the test."""
    engines: list[sa.Engine] = []

    def make(*, pool_size: int = 5, max_overflow: int = 10, timeout: float = 30) -> sa.Engine:
        engine = backend.engine(pool_size=pool_size, max_overflow=max_overflow, timeout=timeout)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def make_async_engine(backend: Backend) -> Iterator[MakeAsyncEngine]:
    """Async engines onto the seeded database, disposed after the test (on a loop of their
    own: the run's loop is closed by then)."""
    engines: list[AsyncEngine] = []

    def make(*, pool_size: int = 5, max_overflow: int = 10) -> AsyncEngine:
        engine = backend.async_engine(pool_size=pool_size, max_overflow=max_overflow)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        asyncio.run(engine.dispose())
