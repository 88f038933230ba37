"""The async twin under load: 1,000 async users on the test's own event loop, through a FastAPI
app (in process, over ``httpx.ASGITransport``) on async SQLAlchemy: aiosqlite on SQLite, asyncpg
when ``LOADTEST_DATABASE_URL`` points at PostgreSQL.

The engine, the HTTP client and the app are made by an async fixture on the test's loop, and
``await load_runner.arun(...)`` runs the users as tasks of that loop, so the engine's pool and the
client work from every user. Afterwards the database must hold exactly what the calls reported:
every created client, no lost update.

    pytest -m load tests/load_testing/test_load_async.py
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from pytest_loadtest import LoadRunner, VirtualUser

from .app import COUNTRIES, TIERS, Database, Seeded, database_url, seed
from .async_app import async_engine, build_api

#: Clients whose tier every user changes: many updates of one row at once.
HOT = range(1, 21)


@dataclass
class Api:
    """The app over HTTP, its engine, what was seeded, and what the calls reported."""

    http: httpx.AsyncClient
    engine: AsyncEngine
    seeded: Seeded
    created: dict[int, str] = field(default_factory=dict)  # id -> email, as the API said
    updates: Counter[int] = field(default_factory=Counter)  # successful tier changes by client


@pytest_asyncio.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """A fresh, seeded database and the async app over it, made on the test's loop."""
    database = Database.create(database_url(), tmp_path)
    try:
        seeded = seed(database, clients=200, projects_per_client=1, users=1, password_iterations=1)
        engine = async_engine(database)
        transport = httpx.ASGITransport(app=build_api(engine))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
                yield Api(http, engine, seeded)
        finally:
            await engine.dispose()
    finally:
        database.drop()


@pytest.mark.asyncio
@pytest.mark.load(
    users=1000,
    ramp_up="2s",
    duration="6s",
    # 1,000 users at full speed through one interpreter: the latency is users / throughput
    # (seconds, not ms); what must hold is no error and the data
    sla={"error_rate": 0, "p99": "30s", "throughput_min": 20},
)
async def test_1000_async_users_create_read_and_update_clients(
    load_runner: LoadRunner, api: Api
) -> None:
    """Creates, reads and tier changes by 1,000 async users; none is lost."""
    numbers = itertools.count()

    async def create(vu: VirtualUser) -> None:
        email = f"async.{next(numbers)}@load.example"
        body = {"name": f"Async {vu.id}", "email": email, "tier": vu.random.choice(TIERS)}
        response = await api.http.post("/clients", json={**body, "country": COUNTRIES[0]})
        response.raise_for_status()
        api.created[response.json()["id"]] = email

    async def read(vu: VirtualUser) -> None:
        client_id = vu.random.choice(api.seeded.client_ids)
        response = await api.http.get(f"/clients/{client_id}")
        response.raise_for_status()
        assert response.json()["name"] == Seeded.client_name(client_id)

    async def update(vu: VirtualUser) -> None:
        client_id = vu.random.choice(HOT)
        response = await api.http.patch(
            f"/clients/{client_id}", json={"tier": vu.random.choice(TIERS)}
        )
        response.raise_for_status()
        api.updates[client_id] += 1

    result = await load_runner.arun({"create": create, "read": read, "update": update})

    assert result.total > 0
    async with api.engine.connect() as conn:
        found = await conn.execute(text("SELECT id, email FROM clients"))
        rows: dict[int, str] = {int(i): str(email) for i, email in found}
        found = await conn.execute(text("SELECT id, version FROM clients WHERE id <= 20"))
        versions: dict[int, int] = {int(i): int(version) for i, version in found}
    problems = []
    if len(rows) != api.seeded.clients + len(api.created):
        problems.append(
            f"{len(rows)} clients in the database, {api.seeded.clients} seeded + "
            f"{len(api.created)} created expected"
        )
    if lost := [i for i, email in api.created.items() if rows.get(i) != email]:
        problems.append(f"{len(lost)} created clients are missing or wrong, e.g. {lost[:5]}")
    if lost_updates := {
        c: versions[c] - 1 - api.updates[c] for c in HOT if versions[c] != 1 + api.updates[c]
    }:
        problems.append(f"clients lost updates (version - 1 - updates): {lost_updates}")
    assert not problems, "data integrity broken: " + "; ".join(problems)
