"""Fixtures of the example load suite: a fresh, seeded database and the app over it, per test.

``LOADTEST_DATABASE_URL`` points the suite at a server (each test gets a schema of its own);
unset, each test gets a SQLite file in its ``tmp_path``. ``LOADTEST_VOLUME_ROWS`` sets the rows
of the volume tests (1,000,000 by default).

Set-up that depends on the load scales with the load the test will run
(``load_runner.settings()``: the marker, or ``--load-users`` above it): ``pool=PER_USER`` gives
the service a connection per user (as many as the database server has free), so that
``--load-users=200`` tests the service, not a pool sized for 20 users. Tests that write keep the
default pool: SQLite has one writer, and 100 connections waiting in its busy handler serve
writes slower than 30 waiting in the pool's queue.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final, Literal, Protocol

import pytest
from sqlalchemy.engine import make_url

from pytest_loadtest import LoadRunner, LoadSettings

from .actions import Workload
from .app import App, Database, PoolSettings, Seeded, connections_free, database_url, seed
from .faults import fault_from_env, transactions

#: Rows of the volume tests, unless LOADTEST_VOLUME_ROWS says otherwise.
VOLUME_ROWS: Final = 1_000_000


def is_postgresql() -> bool:
    """Whether the suite runs against PostgreSQL."""
    url = database_url()
    return url is not None and make_url(url).get_backend_name() == "postgresql"


def volume_rows() -> int:
    """``LOADTEST_VOLUME_ROWS`` (underscores allowed: ``200_000``), else :data:`VOLUME_ROWS`."""
    raw = os.environ.get("LOADTEST_VOLUME_ROWS", "").strip()
    try:
        rows = int(raw) if raw else VOLUME_ROWS
    except ValueError:
        pytest.fail(f"LOADTEST_VOLUME_ROWS={raw!r} is not a whole number", pytrace=False)
    if rows < 1_000:
        pytest.fail(f"LOADTEST_VOLUME_ROWS={raw!r}: at least 1000 rows, please", pytrace=False)
    return rows


requires_row_locks = pytest.mark.skipif(
    not is_postgresql(),
    reason="needs row-level locks: SQLite serialises writers with one database lock, so two "
    "transactions cannot lock rows in opposite order; set LOADTEST_DATABASE_URL to a "
    "PostgreSQL database to run it",
)


@pytest.fixture(scope="session")
def fault() -> str:
    """The fault the service is broken with (``LOADTEST_EXAMPLE_FAULT``); ``""`` when healthy."""
    try:
        return fault_from_env()
    except ValueError as exc:
        pytest.fail(str(exc), pytrace=False)


def peak_users(settings: LoadSettings) -> int:
    """Users that call the service at once in a run with ``settings``: the closed model's peak;
    an open model's ``max_users`` is a bound, not a load, so the default pool's capacity."""
    return settings.peak_users if settings.model == "closed" else PoolSettings().capacity


def scaled_pool(load_runner: LoadRunner) -> PoolSettings:
    """A connection for each user the test's run will have, as many as the server has free."""
    users = peak_users(load_runner.settings())
    return PoolSettings.for_users(users, limit=connections_free(database_url()))


#: ``make_workload(pool=PER_USER)``: a connection per user of the run, opened before it starts.
PER_USER: Final = "per user"


class MakeWorkload(Protocol):
    """The ``make_workload`` fixture's signature."""

    def __call__(
        self,
        *,
        clients: int = ...,
        projects_per_client: int = ...,
        users: int = ...,
        doomed: int = ...,
        pool: PoolSettings | Literal["per user"] | None = ...,
        server_settings: Mapping[str, str] | None = ...,
    ) -> Workload: ...


@pytest.fixture
def make_workload(tmp_path: Path, fault: str, load_runner: LoadRunner) -> Iterator[MakeWorkload]:
    """Build a workload over a new, seeded database; each is dropped after the test.

    ``doomed`` seeded clients (the highest ids) are left for the ``delete`` action. ``pool``:
    the service's pool, :data:`PER_USER` (:func:`scaled_pool`, opened before the run, as a
    server warms its pool) or ``None`` (the default 20 + 10).
    """
    databases: list[Database] = []

    def make(
        *,
        clients: int = 200,
        projects_per_client: int = 3,
        users: int = 50,
        doomed: int = 0,
        pool: PoolSettings | Literal["per user"] | None = None,
        server_settings: Mapping[str, str] | None = None,
    ) -> Workload:
        settings = scaled_pool(load_runner) if pool == PER_USER else pool
        workdir = tmp_path / f"db{len(databases)}"
        workdir.mkdir()
        database = Database.create(
            database_url(),
            workdir,
            pool=settings if isinstance(settings, PoolSettings) else PoolSettings(),
            server_settings=server_settings,
        )
        databases.append(database)
        if pool == PER_USER:  # otherwise the first call of each user opens its connection
            database.warm(database.engine.pool.size())  # type: ignore[attr-defined]
        seeded = seed(
            database, clients=clients, projects_per_client=projects_per_client, users=users
        )
        app = App.build(database, transactions(database.engine, fault))
        return Workload(app, seeded, doomed=list(range(clients - doomed + 1, clients + 1)))

    yield make
    for database in databases:
        database.drop()


@pytest.fixture
def workload(make_workload: MakeWorkload) -> Workload:
    """The app over a fresh database seeded with 200 clients, 600 projects and 50 users."""
    return make_workload()


@pytest.fixture
def app(workload: Workload) -> App:
    """The workload's app."""
    return workload.app


@pytest.fixture
def seeded(workload: Workload) -> Seeded:
    """What the workload's database was seeded with."""
    return workload.seeded
