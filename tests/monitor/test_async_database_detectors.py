"""Database detectors through async engines (aiosqlite; asyncpg when ``LOADTEST_DATABASE_URL``
names PostgreSQL): async users on the run's event loop, EXPLAIN in a coroutine after the run."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pytest_loadtest._model._finding import Finding
from pytest_loadtest._monitor import _explain_async
from pytest_loadtest._monitor._db_rules import MissingIndex, PoolSaturation, SlowStatement
from pytest_loadtest._monitor._sqlalchemy import DatabaseWatch
from pytest_loadtest._report._findings import format_findings

from helpers.monitor import facts_from
from helpers.monitor_async import MakeAsyncEngine, client_projects, run_watched, slow_report
from helpers.monitor_service import CLIENTS, IndexedProject, Project, VirtualUser

pytest.importorskip("greenlet")
pytest.importorskip("aiosqlite")

T = TypeVar("T")


def _show(findings: Sequence[Finding]) -> str:
    return "\n".join(format_findings(findings))


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails the test if SQLAlchemy logged an error ("Exception during reset ...")."""
    with caplog.at_level(logging.WARNING, logger="sqlalchemy"):
        yield
    noise = [r.getMessage() for r in caplog.records if r.name.startswith("sqlalchemy")]
    assert noise == []


@pytest.mark.usefixtures("quiet")
def test_unindexed_filter_through_an_async_engine_is_a_missing_index(
    make_async_engine: MakeAsyncEngine,
) -> None:
    engine = make_async_engine()
    result, database = run_watched(client_projects(engine, Project), engine, users=4)
    [statement] = [s for s in database.statements.values() if "client_id" in s.sql]
    assert statement.plan is not None
    assert statement.plan.error is None, statement.plan.error
    assert statement.by_operation == {"get_client_projects": statement.calls}
    findings = MissingIndex().check(facts_from(result, databases=[database]))
    assert [f.recommendation for f in findings] == [
        "Add an index on monitor_projects(client_id)"
    ], _show(findings)
    assert findings[0].data["operation"] == "get_client_projects"
    assert "missing_index" in {f.kind for f in result.findings}  # as the run reports it


@pytest.mark.usefixtures("quiet")
def test_watching_the_sync_engine_of_an_async_engine_finds_it_too(
    make_async_engine: MakeAsyncEngine,
) -> None:
    engine = make_async_engine()
    result, database = run_watched(
        client_projects(engine, Project), engine, users=4, watched=engine.sync_engine
    )
    findings = MissingIndex().check(facts_from(result, databases=[database]))
    assert [f.data["table"] for f in findings] == ["monitor_projects"], _show(findings)


@pytest.mark.usefixtures("quiet")
def test_indexed_filter_through_an_async_engine_is_no_missing_index(
    make_async_engine: MakeAsyncEngine,
) -> None:
    engine = make_async_engine()
    result, database = run_watched(client_projects(engine, IndexedProject), engine, users=4)
    [statement] = [s for s in database.statements.values() if "client_id" in s.sql]
    assert statement.plan is not None
    assert statement.plan.error is None, statement.plan.error
    assert statement.plan.lines  # a plan was read, and it uses the index
    assert MissingIndex().check(facts_from(result, databases=[database])) == []


@pytest.mark.usefixtures("quiet")
def test_a_slow_report_through_an_async_engine_is_a_slow_statement(
    make_async_engine: MakeAsyncEngine,
) -> None:
    engine = make_async_engine()
    result, database = run_watched(slow_report(engine, 0.12), engine, users=4)
    [finding] = SlowStatement().check(facts_from(result, databases=[database]))
    assert finding.title.startswith("Slow query in monthly_report: SELECT "), _show([finding])
    assert finding.data["p95_ms"] >= 120
    assert finding.data["calls"] >= 3


def test_a_pool_of_two_async_connections_for_twenty_users_is_saturated(
    make_async_engine: MakeAsyncEngine, backend: object
) -> None:
    engine = make_async_engine(pool_size=2, max_overflow=0)
    if engine.dialect.name != "sqlite":
        pytest.skip("the asyncpg engines of these tests have no pool (see conftest)")
    result, database = run_watched(client_projects(engine, IndexedProject), engine, users=20)
    assert database.pool.peak_checked_out == 2
    assert database.pool.checkouts >= 20
    [finding] = PoolSaturation().check(facts_from(result, databases=[database]))
    assert "now 2 + 0" in finding.recommendation, _show([finding])


class _LoopThread:
    """An event loop running in a thread of its own, as a test's loop runs while
    ``load_runner.arun()`` waits for the run in a worker thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-loop")
        self.thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


def _checkouts_on(engine: AsyncEngine) -> list[str]:
    """Names of the threads the engine's pool (or a copy of it) checks connections out on."""
    threads: list[str] = []

    @event.listens_for(engine.sync_engine, "checkout")
    def seen(*args: object) -> None:
        threads.append(threading.current_thread().name)

    return threads


async def _query(engine: AsyncEngine) -> None:
    for client_id in range(1, 4):
        async with engine.connect() as connection:
            query = sa.select(Project.id).where(Project.client_id == client_id % CLIENTS)
            (await connection.execute(query)).all()


@pytest.mark.usefixtures("quiet")
def test_explain_runs_on_the_users_loop_while_it_still_runs(
    make_async_engine: MakeAsyncEngine,
) -> None:
    engine = make_async_engine()
    threads = _checkouts_on(engine)
    loop = _LoopThread()
    try:
        watch = DatabaseWatch(engine)
        watch.start()
        loop.call(_query(engine))
        threads.clear()
        stats = watch.stop()  # from this thread, while the loop runs in its own
        loop.call(engine.dispose())  # its pool's connections belong to that loop
    finally:
        loop.close()
    [statement] = [s for s in stats.statements.values() if "client_id" in s.sql]
    assert statement.plan is not None
    assert statement.plan.error is None, statement.plan.error
    assert threads == ["test-loop"]


@pytest.mark.usefixtures("quiet")
def test_a_loop_that_does_not_take_the_explain_in_time_leaves_it_to_a_new_loop(
    make_async_engine: MakeAsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_explain_async, "LOOP_START_TIMEOUT", 0.05)
    engine = make_async_engine()
    threads = _checkouts_on(engine)
    loop = _LoopThread()
    release = threading.Event()
    try:
        watch = DatabaseWatch(engine)
        watch.start()
        loop.call(_query(engine))
        loop.loop.call_soon_threadsafe(release.wait, 30)  # the loop is blocked meanwhile
        threads.clear()
        stats = watch.stop()
        release.set()
        loop.call(engine.dispose())
    finally:
        release.set()
        loop.close()
    [statement] = [s for s in stats.statements.values() if "client_id" in s.sql]
    assert statement.plan is not None
    assert statement.plan.error is None, statement.plan.error
    assert threads == ["loadtest-explain"]


@pytest.mark.usefixtures("quiet")
def test_explains_that_take_too_long_say_so_in_their_plans(
    make_async_engine: MakeAsyncEngine,
) -> None:
    engine = make_async_engine()

    @event.listens_for(engine.sync_engine, "connect")
    def slow_connect(*args: object) -> None:
        time.sleep(0.3)  # blocks the loop: the timeout strikes at its next await

    statement = "SELECT id FROM monitor_projects WHERE client_id = 1"
    plans = _explain_async.explain_async(
        engine.sync_engine, [(statement, ())] * 2, proxy=engine, timeout=0.05
    )
    assert [plan.error for plan in plans] == [
        "EXPLAIN through the async engine did not finish within 0.05s"
    ] * 2


@pytest.mark.usefixtures("quiet")
def test_an_in_memory_async_engine_is_explained_on_its_one_connection() -> None:
    engine = create_async_engine("sqlite+aiosqlite://")  # a StaticPool: the data lives in it

    async def create() -> None:
        async with engine.begin() as connection:
            await connection.run_sync(Project.metadata.create_all)
            rows = [{"id": i, "client_id": i % 10, "name": "p"} for i in range(1, 501)]
            await connection.execute(sa.insert(Project), rows)

    async def lookup(vu: VirtualUser) -> None:
        async with engine.connect() as connection:
            query = sa.select(Project.id).where(Project.client_id == vu.random.randint(0, 9))
            assert len((await connection.execute(query)).all()) == 50

    asyncio.run(create())
    try:
        result, database = run_watched(lookup, engine, users=2, duration="0.5s")
    finally:
        asyncio.run(engine.dispose())
    findings = MissingIndex().check(facts_from(result, databases=[database]))
    assert [f.data["table"] for f in findings] == ["monitor_projects"], _show(findings)
