"""Seeds 001 and 004 done in pytest: the platform API (``platform_api``) under HTTP load.

The seeds were Locust suites: user classes per area (auth, generation, payments) with an
``on_start`` login, requests named per endpoint, thresholds per endpoint (auth p95 <= 200 ms,
p99 <= 300 ms, >= 99% success; generation p95 <= 500 ms, p99 <= 800 ms; payments p95 <= 300 ms,
p99 <= 500 ms, >= 95% success), steady, stress, spike and soak runs. Here they are one weighted
``Scenario`` (60% generation, 30% auth, 10% payments, seed 001's mixed workload) whose users call
the app through ``vu.http``, the thresholds SLAs per endpoint, and after each run a check that no
payment was lost or doubled (every payment is sent with an idempotency key, some twice).

In process by default (``app=``: ASGI on the test's loop); with ``LOADTEST_EXAMPLE_SERVER=1``
over a real socket, to a uvicorn server process of its own on 127.0.0.1:

    pytest -m load tests/load_testing/test_load_http.py
    LOADTEST_EXAMPLE_SERVER=1 pytest -m load tests/load_testing/test_load_http.py
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from pytest_loadtest import LoadRunner, Scenario, VirtualUser

from .app import Database, database_url
from .async_app import async_engine
from .platform_api import METADATA, build_platform
from .platform_api.app import PAYMENTS

#: Seconds the platform's server process gets to start (and to stop).
SERVER_START = 30.0

#: Seed 001's thresholds, per endpoint.
SEED_SLA: dict[str, Any] = {
    "operations": {
        "POST /auth/login": {"p95": "200ms", "p99": "300ms", "error_rate": "1%"},
        "POST /generations": {"p95": "500ms", "p99": "800ms", "error_rate": "5%"},
        "POST /payments": {"p95": "300ms", "p99": "500ms", "error_rate": "5%"},
    },
}
#: The mixed workload's SLA: seed 001's error-rate targets, and its p95 targets with room for a
#: shared machine (twice seed 001's). Under two CPU burners a healthy service took POST
#: /payments' p95 from 189 ms to 355 ms, over the seed's 300 ms, and POST /generations' p99 to
#: 963 ms (`scripts/example-check`): SLAs that a busy machine breaches teach a team to ignore
#: them. The seed's p99 targets are left out: a p99 needs about 1,000 calls of its endpoint, and
#: the run makes about 160 payments, whose p99 is their slowest call.
MIXED_SLA: dict[str, Any] = {
    "operations": {
        "POST /auth/login": {"p95": "400ms", "error_rate": "1%"},
        "POST /generations": {"p95": "1s", "error_rate": "5%"},
        "POST /payments": {"p95": "600ms", "error_rate": "5%"},
    },
}


@dataclass
class Platform:
    """Where the app is (``app`` in process, or ``base_url``), its engine, what calls reported."""

    engine: AsyncEngine
    app: Any = None
    base_url: str | None = None
    payments: dict[tuple[int, str], int] = field(default_factory=dict)  # (user, key) -> cents

    def where(self) -> dict[str, Any]:
        """The ``run()`` settings that point ``vu.http`` at the app."""
        return {"base_url": self.base_url} if self.base_url else {"app": self.app}


@pytest_asyncio.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    """A fresh database with the platform's tables and the app over it: in process, or in a
    uvicorn server process of its own on 127.0.0.1 (``LOADTEST_EXAMPLE_SERVER=1``)."""
    database = Database.create(database_url(), tmp_path)
    METADATA.create_all(database.engine)
    engine = async_engine(database)
    try:
        if os.environ.get("LOADTEST_EXAMPLE_SERVER", "") in ("", "0"):
            yield Platform(engine, app=build_platform(engine))
        else:
            with _server(database, engine) as base_url:
                yield Platform(engine, base_url=base_url)
    finally:
        await engine.dispose()
        database.drop()


@contextlib.contextmanager
def _server(database: Database, engine: AsyncEngine) -> Iterator[str]:
    """The platform in ``uvicorn --factory`` on a free port of 127.0.0.1, for the block."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {
        **os.environ,
        "LOADTEST_PLATFORM_DB": engine.url.render_as_string(hide_password=False),
        "LOADTEST_PLATFORM_SCHEMA": database.schema or "",
    }
    command = [
        *(sys.executable, "-m", "uvicorn", "--factory", "platform_api.server:create"),
        *("--app-dir", str(Path(__file__).parent), "--host", "127.0.0.1"),
        *("--port", str(port), "--log-level", "warning"),
    ]
    server = subprocess.Popen(command, env=env)
    try:
        give_up = time.monotonic() + SERVER_START
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > give_up:
                    pytest.fail(f"the platform server did not start: {command}", pytrace=False)
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(SERVER_START)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def platform_users(platform: Platform) -> Scenario:
    """Seed 001's user classes as one weighted scenario: every user registers and logs in."""
    users = Scenario("platform")

    @users.on_start
    async def sign_in(vu: VirtualUser) -> None:
        credentials = {"email": f"user{vu.id}@load.example", "password": f"secret-{vu.id}"}
        await vu.http.post("/auth/register", json=credentials, expect={201, 409})
        found = await vu.http.post("/auth/login", json=credentials)
        vu.state["credentials"] = credentials
        vu.state["auth"] = {"Authorization": f"Bearer {found.json()['token']}"}
        vu.state["keys"] = uuid.uuid4().hex[:12]  # idempotency keys unique across runs

    @users.task(weight=6)
    async def generation(vu: VirtualUser) -> None:
        auth = vu.state["auth"]
        prompt = {"prompt": f"a poem about load number {vu.iteration}"}
        await vu.http.post("/generations", json=prompt, headers=auth, expect=201)
        await vu.http.get("/generations", headers=auth)

    @users.task(weight=3)
    async def auth(vu: VirtualUser) -> None:
        await vu.http.post("/auth/login", json=vu.state["credentials"])
        await vu.http.get("/health")

    @users.task(weight=1)
    async def payment(vu: VirtualUser) -> None:
        key = f"pay-{vu.state['keys']}-{vu.iteration}"
        cents = 100 + vu.random.randrange(10_000)
        headers = {**vu.state["auth"], "Idempotency-Key": key}
        sent = await vu.http.post("/payments", json={"amount_cents": cents}, headers=headers)
        if sent.status_code == 201:
            platform.payments[(vu.id, key)] = cents
        if vu.random.random() < 0.2:  # a client retrying: the same payment, never a second
            await vu.http.post("/payments", json={"amount_cents": cents}, headers=headers)
        await vu.http.get("/payments", headers=vu.state["auth"])

    return users


async def check_payments(platform: Platform) -> None:
    """Every acknowledged payment is in the database once, with its amount; nothing else is."""
    async with platform.engine.connect() as conn:
        found = await conn.execute(select(func.count(), func.sum(PAYMENTS.c.amount_cents)))
        count, total = found.one()
    expected = len(platform.payments), sum(platform.payments.values())
    assert (int(count), int(total or 0)) == expected, (
        f"data integrity broken: {count} payments of {total} cents in the database, "
        f"{expected[0]} of {expected[1]} cents acknowledged (a payment lost or doubled)"
    )


@pytest.mark.asyncio
@pytest.mark.load(users=20, ramp_up="1s", duration="12s", think_time="50ms..150ms", sla=MIXED_SLA)
async def test_mixed_workload(load_runner: LoadRunner, platform: Platform) -> None:
    """Seed 001's scenario 5: 60% generation, 30% auth, 10% payments, thresholds per endpoint."""
    result = await load_runner.arun(platform_users(platform), **platform.where())

    assert result.operations["POST /generations"].total > 0
    assert result.operations["POST /payments"].total > 0
    await check_payments(platform)


@pytest.mark.asyncio
@pytest.mark.load(think_time="20ms..60ms", sla={"operations": SEED_SLA["operations"]})
async def test_breaking_point(load_runner: LoadRunner, platform: Platform) -> None:
    """Seed 001's scenario 3 (stress): step the users up until an endpoint's threshold breaks.
    The steps' breaches are findings, not failures; lost or doubled payments fail it."""
    capacity = await load_runner.afind_capacity(
        platform_users(platform),
        start=10,
        step=30,
        step_duration="3s",
        limit=100,
        **platform.where(),
    )
    print(capacity.summary())
    assert capacity.steps, "no step ran"
    await check_payments(platform)


@pytest.mark.asyncio
@pytest.mark.load(
    stages=[("2s", 5), ("0s", 60), ("3s", 60), ("0s", 5), ("6s", 5)],
    think_time="20ms..60ms",
    sla={"operations": {"POST /payments": {"error_rate": "5%"}}},
)
async def test_spike_and_recovery(load_runner: LoadRunner, platform: Platform) -> None:
    """Seed 004's spike: 5 users, 60 at once for 3 s, back to 5: the API recovers in time."""
    result = await load_runner.arun(platform_users(platform), **platform.where())

    recovered = result.recovery_time({"p95": "500ms", "error_rate": "1%"}, stable="2s")
    assert recovered is not None, "the API never got back to p95 <= 500ms after the spike"
    await check_payments(platform)


@pytest.mark.asyncio
@pytest.mark.soak(
    users=10,
    duration="8s",
    think_time="50ms..150ms",
    sla={**SEED_SLA, "memory_growth": "50MB/h"},
)
async def test_soak(load_runner: LoadRunner, platform: Platform) -> None:
    """Seed 001's scenario 4 (soak), short: steady traffic, then no leak and no lost payment.

    A real soak sets the length: ``pytest -m soak ... --load-duration=1h``."""
    await load_runner.arun(platform_users(platform), **platform.where())
    await check_payments(platform)
