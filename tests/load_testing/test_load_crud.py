"""CRUD of clients under load: creations, paginated reads, updates, deletes with cascade.

After each run the database must hold exactly what the calls reported (``check_integrity``):
rows created == successful creates, no lost update, no orphan project after a cascade.

    pytest -m load tests/load_testing/test_load_crud.py
    pytest -m load tests/load_testing/test_load_crud.py --load-users 200 --load-duration 1m
"""

from __future__ import annotations

import pytest

from pytest_loadtest import LoadRunner, VirtualUser, assert_no_findings

from .actions import Workload, scenario
from .app import COUNTRIES, TIERS
from .checks import check_integrity, check_settled, successes
from .conftest import PER_USER, MakeWorkload


@pytest.mark.load(
    users=100,
    iterations=500,
    duration="60s",
    # 100 threads share one GIL (and SQLite one write lock): the tail is the team's 2s / 5s,
    # the median must stay fast
    sla={"p50": "250ms", "p95": "2s", "p99": "5s", "error_rate": 0, "throughput_min": 100},
)
def test_100_simultaneous_client_creations(load_runner: LoadRunner, workload: Workload) -> None:
    """100 users create 500 clients at once; every reported creation is in the database."""
    app, ledger = workload.app, workload.ledger

    def create_client(vu: VirtualUser) -> None:
        client = app.clients.create(
            f"Client {vu.id}-{vu.iteration}",
            f"client.{vu.id}.{vu.iteration}@load.example",
            tier=vu.random.choice(TIERS),
            country=vu.random.choice(COUNTRIES),
        )
        ledger.created_clients.append(client.id)

    result = load_runner.run(create_client)
    check_settled(result)  # before anything reads the ledger

    assert len(ledger.created_clients) == successes(result)
    check_integrity(workload, result)
    assert len(set(ledger.created_clients)) == len(ledger.created_clients), "an id given twice"
    assert app.clients.count() == workload.seeded.clients + successes(result)


#: Users of the page reads: the load their timing checks were written for.
READERS = 10


@pytest.mark.load(
    users=READERS,
    iterations=1_000,
    duration="60s",
    sla={"p95": "250ms", "p99": "1s", "error_rate": 0, "throughput_min": 100},
)
def test_1000_paginated_reads(load_runner: LoadRunner, make_workload: MakeWorkload) -> None:
    """1,000 reads of random pages by 10 users; every page holds exactly the right clients."""
    workload = make_workload(pool=PER_USER)  # a connection per user: 10, or --load-users
    app, clients = workload.app, workload.seeded.clients
    per_page = 20
    pages = clients // per_page

    def read_page(vu: VirtualUser) -> None:
        number = vu.random.randint(1, pages)
        page = app.clients.list_page(number, per_page)
        first = (number - 1) * per_page + 1
        assert [c.id for c in page.items] == list(range(first, first + per_page))
        assert page.total == clients

    load_runner.watch(app.database.engine)
    result = load_runner.run(read_page)
    check_settled(result)  # before anything reads the ledger

    assert result.total <= result.settings["iterations"]
    check_integrity(workload, result)  # reads changed nothing
    # indexed keyset pages, one query each: the watch finds nothing to blame in the database
    blame = ["missing_index", "n_plus_one"]
    # nor in its timings, at the load this test was written for. Scaled up (--load-users=200),
    # the users queue for the interpreter and the CPU, and every statement turns "slow", even
    # BEGIN (87-124ms on average at 200 users here): the timing checks would blame the
    # database for the machine, so only the structural ones are held against such a run.
    if result.users <= READERS:
        blame += ["slow_statement", "pool_saturation"]
    assert_no_findings(result, *blame)


@pytest.mark.load(
    users=50,
    duration="3s",
    # 50 users, no pause, 20 rows: a closed loop at full speed, so latency is only users /
    # throughput, and doubles when other jobs share the machine (p95 1.05-1.2s seen under two
    # CPU burners); the slow fault (0.3s more per transaction, writes serialised) gave p95
    # 7.53s and 8 calls/s (LOADTEST_EXAMPLE_FAULT=slow=0.3 pytest <this test>): 3s tells them apart
    sla={"p95": "3s", "p99": "5s", "error_rate": 0, "throughput_min": 100},
)
def test_50_concurrent_updates(load_runner: LoadRunner, make_workload: MakeWorkload) -> None:
    """50 users update 20 clients, so that many update the same row at once: none is lost."""
    # A connection per user (PER_USER: 50, or --load-users), as a server with a worker thread
    # per user would have: with fewer, the pool hands connections unfairly and
    # some users wait the whole run for their first one (test_connection_pool_saturation is
    # about that).
    workload = make_workload(pool=PER_USER)
    app, ledger = workload.app, workload.ledger
    hot = range(1, 21)

    def update_client(vu: VirtualUser) -> None:
        client_id = vu.random.choice(hot)
        app.clients.update(client_id, name=f"Updated by {vu.id}", tier=vu.random.choice(TIERS))
        ledger.updated_clients.append(client_id)

    result = load_runner.run(update_client)
    check_settled(result)  # before anything reads the ledger

    assert len(ledger.updated_clients) == successes(result)
    check_integrity(workload, result)  # each hot client's version == 1 + its successful updates
    versions = app.audit.client_versions()
    assert sum(versions[c] - 1 for c in hot) == successes(result)


@pytest.mark.load(
    users=20,
    iterations=1_000,
    duration="60s",
    seed=4,
    sla={
        "p95": "1s",
        "p99": "2s",
        "error_rate": 0,
        "operations": {"delete": {"p95": "1s"}, "browse": {"p95": "1s"}},
    },
)
def test_delete_with_cascade_under_load(
    load_runner: LoadRunner, make_workload: MakeWorkload
) -> None:
    """Clients are deleted while others browse and add projects; their projects go with them."""
    # a doomed client for each delete the run may make: 2 in 5 of its iterations, and a margin
    iterations = load_runner.settings().iterations or 1_000
    doomed = max(600, iterations * 3 // 5)
    workload = make_workload(clients=doomed + 200, projects_per_client=4, doomed=doomed)
    ops = {"delete": 2.0, "add_project": 1.0, "browse": 2.0}

    result = load_runner.run(scenario(workload, "delete under load", ops))
    check_settled(result)  # before anything reads the ledger

    ledger = workload.ledger
    assert len(ledger.deleted_clients) == successes(result, "delete")
    assert len(ledger.created_projects) == successes(result, "add_project")
    assert ledger.deleted_clients, "the run deleted nothing"
    check_integrity(workload, result)  # no orphan project, and the right number of projects left
    assert not workload.app.audit.project_ids(client_ids=ledger.deleted_clients)
