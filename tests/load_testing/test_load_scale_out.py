"""One load test spread over two worker processes (``processes=2``): the database is created and
seeded once, by the coordinator (the pytest process you started); every worker opens it and runs
its share of the users; the coordinator checks the data once, after every worker's load, against
the merged result.

pytest -m load tests/load_testing/test_load_scale_out.py
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from pytest_loadtest import LoadRunner, LoadWorker

from .actions import Workload, bind
from .app import App, Database, Seeded, database_url, seed
from .checks import successes
from .faults import transactions

#: Where the coordinator tells its workers which database it seeded. Workers started on this
#: machine inherit its environment; on other hosts, point LOADTEST_DATABASE_URL at a server.
SHARED: Final = "LOADTEST_EXAMPLE_SHARED_DATABASE"


@pytest.fixture
def shared_workload(load_worker: LoadWorker, tmp_path: Path, fault: str) -> Iterator[Workload]:
    """The app over one database for the coordinator and its workers, seeded once."""
    if load_worker.is_coordinator:
        database = Database.create(database_url(), tmp_path)
        seeded = seed(database, clients=200, projects_per_client=3, users=50)
        where = {"path": str(database.path) if database.path else None, "schema": database.schema}
        os.environ[SHARED] = json.dumps({**where, "seeded": dataclasses.asdict(seeded)})
        try:
            yield Workload(App.build(database, transactions(database.engine, fault)), seeded)
        finally:
            del os.environ[SHARED]
            database.drop()
        return
    shared = json.loads(os.environ[SHARED])
    database = Database.attach(database_url(), path=shared["path"], schema=shared["schema"])
    seeded = Seeded(**shared["seeded"])
    yield Workload(App.build(database, transactions(database.engine, fault)), seeded)
    database.engine.dispose()  # the coordinator drops it


@pytest.mark.load(
    users=20,
    duration="5s",
    ramp_up="1s",
    think_time="0.05s..0.1s",
    processes=2,
    sla={"p95": "2s", "error_rate": "1%"},
)
def test_reads_and_writes_spread_over_two_processes(
    load_runner: LoadRunner, load_worker: LoadWorker, shared_workload: Workload
) -> None:
    """20 users, 10 in each worker process, browse, create and update clients of one database."""
    result = load_runner.run(bind(shared_workload, "browse", "create", "update"))

    assert len(result.workers) == 2
    assert sum(worker["calls"] for worker in result.workers) == result.total
    assert [worker["users"] for worker in result.workers] == [10, 10]
    if load_worker.is_worker:
        return  # the integrity check runs once, in the coordinator
    # every write any worker reported as done is in the database, and no other
    audit, seeded = shared_workload.app.audit, shared_workload.seeded
    versions = audit.client_versions()
    assert len(versions) == seeded.clients + successes(result, "create")
    assert sum(version - 1 for version in versions.values()) == successes(result, "update")
