"""Example load tests of the in-memory client service.

A plain ``pytest`` run skips them. Run them with::

    pytest -m load tests/load_testing      # the load tests
    pytest -m soak tests/load_testing      # the soak test (add --load-duration 1h for a real soak)

Settings in the markers are defaults: ``--load-users``, ``--load-duration`` and friends on the
command line override them.
"""

from __future__ import annotations

import asyncio

import pytest

from pytest_loadtest import LoadRunner, Scenario, VirtualUser

from .service import SEEDED, ClientService


@pytest.mark.load(
    users=20,
    duration="3s",
    ramp_up="500ms",
    think_time=(0.0005, 0.002),
    sla={"p95": "25ms", "p99": "100ms", "error_rate": "1%", "throughput_min": 500},
)
def test_create_clients(load_runner: LoadRunner, client_service: ClientService) -> None:
    """20 users create clients; the SLA holds and no write is lost."""

    def create_client(vu: VirtualUser) -> None:
        n = vu.iteration
        client_service.create(f"Client {vu.id}-{n}", f"client{vu.id}.{n}@example.com")

    result = load_runner.run(create_client)

    assert result.errors == 0, result.errors_by_type
    # A load test that loses data must fail: every successful create is in the store.
    assert client_service.count() == SEEDED + result.total - result.errors


def client_desk(service: ClientService) -> Scenario:
    """What a front-desk user does: sign up once, then mostly browse, sometimes create or edit."""
    desk = Scenario("client desk")

    @desk.on_start
    def sign_up(vu: VirtualUser) -> None:
        me = service.create(f"Desk User {vu.id}", f"desk{vu.id}@example.com")
        vu.state["me"] = me.id

    @desk.task(weight=6)
    def browse(vu: VirtualUser) -> None:
        with vu.step("list"):
            page = service.list_page(offset=vu.random.randrange(SEEDED - 20), limit=20)
        with vu.step("open"):
            service.get(vu.random.choice(page).id)

    @desk.task(weight=2)
    def create(vu: VirtualUser) -> None:
        service.create(f"Walk-in {vu.id}-{vu.iteration}", f"walkin{vu.id}.{vu.iteration}@ex.com")

    @desk.task(weight=2)
    def update(vu: VirtualUser) -> None:
        client = service.update(vu.state["me"], name=f"Desk User {vu.id} v{vu.iteration}")
        assert client.id == vu.state["me"]  # a failed check counts as an error of "update"

    return desk


@pytest.mark.load(
    users=10,
    duration="3s",
    think_time="1ms..3ms",
    seed=2024,
    sla={
        "p95": "25ms",
        "error_rate": 0,
        "operations": {"browse": {"p99": "100ms"}, "list": {"p95": "25ms"}},
    },
)
def test_client_desk_scenario(load_runner: LoadRunner, client_service: ClientService) -> None:
    """A weighted scenario with per-user setup and named steps."""
    result = load_runner.run(client_desk(client_service))

    ops = result.operations
    assert ops["browse"].total > ops["create"].total
    assert ops["browse"].total > ops["update"].total
    assert ops["list"].total == ops["open"].total == ops["browse"].total  # steps of browse
    assert result.total == ops["browse"].total + ops["create"].total + ops["update"].total
    signed_up = ops["sign_up"].total
    assert 0 < signed_up <= result.users  # on_start runs once for every user that started
    assert client_service.count() == SEEDED + signed_up + ops["create"].total


@pytest.mark.load(
    users=8, iterations=10_000, think_time=(0.0005, 0.001), sla={"p99": "50ms", "error_rate": 0}
)
def test_read_mix(load_runner: LoadRunner, client_service: ClientService) -> None:
    """A mapping target: equal weights, one operation per name; iterations shared by all users."""

    def get(vu: VirtualUser) -> None:
        client_service.get(vu.random.randint(1, SEEDED))

    def page() -> None:
        client_service.list_page(offset=40, limit=20)

    async def search(vu: VirtualUser) -> None:
        await asyncio.sleep(0)  # stands in for awaited I/O; runs on this user's own event loop
        assert client_service.search(f"client {vu.random.randint(1, SEEDED)}")

    result = load_runner.run({"get": get, "page": page, "search": search})

    # Iterations are shared by all users: 10,000 calls in all, fewer only if the duration (say,
    # a shorter --load-duration) ran out first.
    assert result.total <= result.settings["iterations"]
    assert set(result.operations) == {"get", "page", "search"}
    for op in result.operations.values():  # equal weights: about a third each
        assert op.total / result.total == pytest.approx(1 / 3, abs=0.05), op.name
    assert client_service.count() == SEEDED  # reads change nothing


@pytest.mark.soak(
    users=4, duration="3s", think_time="1ms..2ms", sla={"p99": "50ms", "error_rate": 0}
)
def test_churn_leaves_nothing_behind(
    load_runner: LoadRunner, client_service: ClientService
) -> None:
    """Create, read and delete for a while: the store must end as it started."""

    def churn(vu: VirtualUser) -> None:
        client = client_service.create("Temp", f"temp{vu.id}.{vu.iteration}@example.com")
        client_service.get(client.id)
        client_service.delete(client.id)

    result = load_runner.run(churn)

    assert client_service.count() == SEEDED
    assert result.timeline, "one row per second of the run"
    assert max(row.users for row in result.timeline) <= result.users
