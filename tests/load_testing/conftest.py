"""Fixtures of the example load suite: a fresh, seeded database and the app over it, per test.

``LOADTEST_DATABASE_URL`` points the suite at a server (each test gets a schema of its own);
unset, each test gets a SQLite file in its ``tmp_path``. ``LOADTEST_VOLUME_ROWS`` sets the rows
of the volume tests (1,000,000 by default).

The set-up scales with the load the test will run (``load_runner.settings()``: the marker, or
``--load-users`` above it): the service's connection pool has a connection per user (as many as
the database server has free), so that ``--load-users=200`` tests the service, not a pool sized
for 20 users.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final, Protocol

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


class MakeWorkload(Protocol):
    """The ``make_workload`` fixture's signature."""

    def __call__(
        self,
        *,
        clients: int = ...,
        projects_per_client: int = ...,
        users: int = ...,
        doomed: int = ...,
        pool: PoolSettings | None = ...,
        server_settings: Mapping[str, str] | None = ...,
    ) -> Workload: ...


@pytest.fixture
def make_workload(tmp_path: Path, fault: str, load_runner: LoadRunner) -> Iterator[MakeWorkload]:
    """Build a workload over a new, seeded database; each is dropped after the test.

    ``doomed`` seeded clients (the highest ids) are left for the ``delete`` action. The pool,
    unless given, has a connection for each user of the test's run (:func:`scaled_pool`).
    """
    databases: list[Database] = []

    def make(
        *,
        clients: int = 200,
        projects_per_client: int = 3,
        users: int = 50,
        doomed: int = 0,
        pool: PoolSettings | None = None,
        server_settings: Mapping[str, str] | None = None,
    ) -> Workload:
        workdir = tmp_path / f"db{len(databases)}"
        workdir.mkdir()
        database = Database.create(
            database_url(),
            workdir,
            pool=pool or scaled_pool(load_runner),
            server_settings=server_settings,
        )
        databases.append(database)
        if pool is None:  # a connection per user: open them before the run, as a server would
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
