"""DatabaseWatch on SQLite files: statements, operations, pool figures, clean detaching."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import QueuePool

from pytest_loadtest._monitor._sqlalchemy import (
    CURRENT_OPERATION,
    DatabaseWatch,
    operation,
    reset_operation,
    set_operation,
)
from pytest_loadtest._monitor._statements import NO_OPERATION

SELECT = sa.text("SELECT v FROM items WHERE id = :id")


def _engine(path: Path, **pool: object) -> sa.Engine:
    engine = sa.create_engine(
        f"sqlite:///{path}",
        poolclass=QueuePool,
        connect_args={"check_same_thread": False},
        **pool,
    )
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE items (id INTEGER PRIMARY KEY, v INT, tag TEXT)")
        connection.exec_driver_sql(
            "INSERT INTO items (v, tag) VALUES " + ", ".join(f"({i}, 't{i}')" for i in range(50))
        )
    return engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = _engine(tmp_path / "watch.db", pool_size=2, max_overflow=1, pool_timeout=5)
    yield engine
    engine.dispose()


class CountingClock:
    """Each reading is 1 ms after the previous one: durations count clock reads."""

    def __init__(self) -> None:
        self._ticks = itertools.count(1)

    def __call__(self) -> int:
        return next(self._ticks) * 1_000_000


def test_statements_are_normalised_timed_and_attributed(engine: sa.Engine) -> None:
    watch = DatabaseWatch(engine, explain=0, clock=CountingClock(), flush_at=4)
    watch.start()
    with engine.connect() as connection:
        with operation("get"):
            for i in range(10):
                connection.execute(SELECT, {"id": i}).scalar()
        connection.execute(SELECT, {"id": 1}).scalar()  # outside any operation
        with operation("tag"):
            connection.exec_driver_sql("UPDATE items SET tag = 'x' WHERE id = 3")
            connection.exec_driver_sql("UPDATE items SET tag = 'y' WHERE id = 4")
    stats = watch.stop()
    select = stats.statements["SELECT v FROM items WHERE id = ?"]
    assert select.calls == 11
    assert select.by_operation == {"get": 10, NO_OPERATION: 1}
    assert select.histogram.min_ms == select.histogram.max_ms == 1.0  # before/after: 1 tick
    update = stats.statements["UPDATE items SET tag = ? WHERE id = ?"]
    assert update.by_operation == {"tag": 2}
    assert stats.statements_by_operation() == {"get": 10, NO_OPERATION: 1, "tag": 2}
    assert stats.dialect == "sqlite"
    assert stats.name.endswith("watch.db")


def test_executemany_counts_once(engine: sa.Engine) -> None:
    watch = DatabaseWatch(engine, explain=0)
    watch.start()
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO items (v) VALUES (:v)"), [{"v": i} for i in range(20)]
        )
    stats = watch.stop()
    assert stats.statements["INSERT INTO items (v) VALUES (?)"].calls == 1


def test_stop_detaches_every_listener_and_the_pool_wrapper(engine: sa.Engine) -> None:
    watch = DatabaseWatch(engine, explain=0)
    watch.start()
    assert event.contains(engine, "before_cursor_execute", watch._before_execute)
    assert "connect" in vars(engine.pool)
    watch.stop()
    engine_listeners: list[tuple[str, Callable[..., Any]]] = [
        ("before_cursor_execute", watch._before_execute),
        ("after_cursor_execute", watch._after_execute),
        ("handle_error", watch._on_error),
    ]
    pool_listeners: list[tuple[str, Callable[..., Any]]] = [
        ("checkout", watch._on_checkout),
        ("checkin", watch._on_checkin),
        ("connect", watch._on_connect),
    ]
    for name, fn in engine_listeners:
        assert not event.contains(engine, name, fn)
    for name, fn in pool_listeners:
        assert not event.contains(engine.pool, name, fn)
    assert "connect" not in vars(engine.pool)
    with engine.connect() as connection:  # still works, unwatched
        assert connection.execute(SELECT, {"id": 2}).scalar() == 1


def test_a_watch_starts_once_and_stops_once(engine: sa.Engine) -> None:
    watch = DatabaseWatch(engine, explain=0)
    with pytest.raises(RuntimeError, match="not running"):
        watch.stop()
    watch.start()
    with pytest.raises(RuntimeError, match="already running"):
        watch.start()
    watch.stop()
    watch.start()  # and may be used again
    assert watch.stop().statements == {}


def test_failed_statements_are_counted_apart(engine: sa.Engine) -> None:
    watch = DatabaseWatch(engine, explain=0)
    watch.start()
    with engine.connect() as connection, pytest.raises(sa.exc.OperationalError):
        connection.exec_driver_sql("SELECT nope FROM items")
    stats = watch.stop()
    assert stats.errors == 1
    assert watch.errors == 1
    assert stats.statements == {}


def test_pool_checkouts_holds_and_peak(engine: sa.Engine) -> None:
    watch = DatabaseWatch(engine, explain=0, clock=CountingClock())
    watch.start(1_000_000)
    with engine.connect(), engine.connect(), engine.connect():
        pass  # three at once: the whole capacity (2 + 1 overflow)
    with engine.connect():
        pass
    stats = watch.stop()
    pool = stats.pool
    assert (pool.kind, pool.size, pool.max_overflow, pool.capacity) == ("QueuePool", 2, 1, 3)
    assert pool.timeout_s == 5.0
    assert pool.checkouts == 4
    assert pool.peak_checked_out == 3
    assert pool.wait.count == 4
    assert pool.hold.count == 4
    assert pool.timeouts == 0
    assert sum(pool.peak_by_window.values()) >= 3  # counted into the run's windows


def test_pool_timeouts_are_counted(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "tiny.db", pool_size=1, max_overflow=0, pool_timeout=0.01)
    watch = DatabaseWatch(engine, explain=0)
    watch.start()
    with engine.connect():
        for _ in range(2):
            with pytest.raises(sa.exc.TimeoutError):
                engine.connect()
    stats = watch.stop()
    engine.dispose()
    assert stats.pool.timeouts == 2
    assert stats.pool.wait.count == 3
    assert stats.pool.wait.max_ms >= 10.0
    assert stats.pool.peak_waiting == 1


def test_waiting_callers_are_counted(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "two.db", pool_size=1, max_overflow=0, pool_timeout=5)
    watch = DatabaseWatch(engine, explain=0)
    watch.start()
    held = engine.connect()
    started = threading.Barrier(4)

    def wait_for_a_connection() -> None:
        started.wait()
        with engine.connect():
            pass

    threads = [threading.Thread(target=wait_for_a_connection) for _ in range(3)]
    for thread in threads:
        thread.start()
    started.wait()
    for _ in range(200):  # until all three are inside Pool.connect()
        if watch._waiting == 3:
            break
        threading.Event().wait(0.005)
    held.close()
    for thread in threads:
        thread.join()
    stats = watch.stop()
    engine.dispose()
    assert stats.pool.peak_waiting == 3
    assert stats.pool.peak_checked_out == 1


def test_slowest_statements_are_explained_with_their_first_parameters(
    engine: sa.Engine,
) -> None:
    watch = DatabaseWatch(engine, explain=1)
    watch.start()
    with engine.connect() as connection:
        for _ in range(3):
            connection.exec_driver_sql("SELECT * FROM items WHERE tag = ?", ("t5",)).all()
        connection.execute(SELECT, {"id": 1}).scalar()
    stats = watch.stop()
    scan = stats.statements["SELECT * FROM items WHERE tag = ?"]
    assert scan.plan is not None, "the statement with the most total time is explained"
    assert scan.plan.error is None
    assert any(line.startswith("SCAN items") for line in scan.plan.lines)
    assert [(s.table, s.columns, s.indexed) for s in scan.plan.scans] == [
        ("items", ("tag",), ("id",))
    ]
    assert stats.statements["SELECT v FROM items WHERE id = ?"].plan is None  # not in the top 1


def test_explain_errors_are_kept_in_the_plan(engine: sa.Engine) -> None:
    watch = DatabaseWatch(engine, explain=5)
    watch.start()
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE scratch (a INT)")
        connection.exec_driver_sql("SELECT * FROM scratch WHERE a = 1").all()
        connection.exec_driver_sql("DROP TABLE scratch")  # gone before the EXPLAIN
    stats = watch.stop()
    plan = stats.statements["SELECT * FROM scratch WHERE a = ?"].plan
    assert plan is not None
    assert plan.error is not None
    assert "scratch" in plan.error


def test_operation_context_nests_and_resets() -> None:
    assert CURRENT_OPERATION.get() is None
    with operation("task"):
        assert CURRENT_OPERATION.get() == "task"
        token = set_operation("step")
        assert CURRENT_OPERATION.get() == "step"
        reset_operation(token)
        assert CURRENT_OPERATION.get() == "task"
    assert CURRENT_OPERATION.get() is None


def test_each_thread_has_its_own_operation() -> None:
    seen: list[str | None] = []
    with operation("main"):
        thread = threading.Thread(target=lambda: seen.append(CURRENT_OPERATION.get()))
        thread.start()
        thread.join()
    assert seen == [None]
