"""Queries over a large table: 1,000,000 projects (``LOADTEST_VOLUME_ROWS`` sets how many).

The database is seeded once for this module (COPY on PostgreSQL, chunked executemany on SQLite,
indexes built afterwards; about 5-15s here) and shared by its tests, which only read: each
checks at the end that nothing changed.

    pytest -m load tests/load_testing/test_load_volume.py
    LOADTEST_VOLUME_ROWS=10_000_000 pytest -m load tests/load_testing/test_load_volume.py
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from pytest_loadtest import LoadRunner, VirtualUser

from .app import STATUSES, App, Database, Seeded, database_url, seed_volume
from .conftest import volume_rows
from .faults import transactions


@dataclass(frozen=True)
class Volume:
    """The shared large database."""

    app: App
    seeded: Seeded
    seed_seconds: float


@pytest.fixture(scope="module")
def volume(tmp_path_factory: pytest.TempPathFactory, fault: str) -> Iterator[Volume]:
    """An app over ``volume_rows()`` projects of ``rows / 100`` clients, seeded once."""
    database = Database.create(database_url(), tmp_path_factory.mktemp("volume"))
    try:
        started = time.perf_counter()
        seeded = seed_volume(database, volume_rows())
        seconds = time.perf_counter() - started
        yield Volume(App.build(database, transactions(database.engine, fault)), seeded, seconds)
    finally:
        database.drop()


def _unchanged(volume: Volume) -> None:
    counts = volume.app.status()
    assert (counts.clients, counts.projects) == (volume.seeded.clients, volume.seeded.projects)


@pytest.mark.load(
    users=10,
    duration="3s",
    # a keyset page costs the same on page 1 and page 20,000: hold it to a small budget
    sla={"p95": "250ms", "p99": "1s", "error_rate": 0, "throughput_min": 100},
)
def test_keyset_pagination_over_a_million_rows(
    load_runner: LoadRunner, volume: Volume, record_property: Callable[[str, object], None]
) -> None:
    """Pages of 50 projects anywhere in the table, by id (``WHERE id > ? ORDER BY id``)."""
    record_property("volume_rows", volume.seeded.projects)
    record_property("volume_seed_seconds", round(volume.seed_seconds, 2))
    projects, last = volume.app.projects, volume.seeded.projects

    def keyset_page(vu: VirtualUser) -> None:
        after = vu.random.randrange(last - 50)
        page = projects.after(after, 50)
        assert [p.id for p in page] == list(range(after + 1, after + 51))

    load_runner.run(keyset_page)

    _unchanged(volume)


@pytest.mark.load(
    users=10,
    duration="3s",
    sla={
        "p95": "500ms",
        "p99": "2s",
        "error_rate": 0,
        "throughput_min": 100,
        "operations": {"client_projects": {"p95": "250ms"}, "cheapest": {"p95": "250ms"}},
    },
)
def test_filtered_queries_over_a_million_rows(load_runner: LoadRunner, volume: Volume) -> None:
    """A client's projects page by page, the cheapest projects of a status over a budget, and a
    name search over the clients: each must use an index, not read a million rows."""
    app, clients = volume.app, volume.seeded.clients
    per_client = volume.seeded.projects // clients

    def client_projects(vu: VirtualUser) -> None:
        client_id = vu.random.randint(1, clients)
        page = app.projects.of_client(client_id, vu.random.randint(1, 5), 20)
        assert page.total == per_client
        assert all(p.client_id == client_id for p in page.items)

    def cheapest(vu: VirtualUser) -> None:
        status, floor = vu.random.choice(STATUSES), vu.random.randrange(900_000)
        found = app.projects.cheapest(status, min_budget=floor, limit=20)
        assert all(p.status == status and p.budget >= floor for p in found)
        assert [p.budget for p in found] == sorted(p.budget for p in found)

    def client_search(vu: VirtualUser) -> None:
        client_id = vu.random.randint(1, clients)
        found = app.clients.search(Seeded.client_name(client_id), limit=5)
        assert client_id in {c.id for c in found}

    load_runner.run(
        {"client_projects": client_projects, "cheapest": cheapest, "client_search": client_search}
    )

    _unchanged(volume)
