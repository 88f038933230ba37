"""A small client/project service, healthy and deliberately broken, for the detector tests.

Tables are prefixed ``monitor_`` (and live in a schema of their own on PostgreSQL) so that they
never meet the example suite's. ``monitor_projects`` has no index on ``client_id``;
``monitor_indexed_projects`` holds the same rows with one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Final, Protocol

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
)

from pytest_loadtest._monitor._sqlalchemy import operation

CLIENTS: Final = 200
PROJECTS_PER_CLIENT: Final = 100

Operation = Callable[["VirtualUser"], None]


class Base(DeclarativeBase):
    """The monitor tests' tables."""


class Client(Base):
    """A client with many projects (loaded lazily unless asked otherwise)."""

    __tablename__ = "monitor_clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    projects: Mapped[list[IndexedProject]] = relationship(lazy="select")


class Project(Base):
    """A project whose ``client_id`` has no index."""

    __tablename__ = "monitor_projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(sa.String(50))


class IndexedProject(Base):
    """The same projects with ``client_id`` indexed."""

    __tablename__ = "monitor_indexed_projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("monitor_clients.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(50))


def seed(engine: sa.Engine) -> None:
    """Create the tables and fill them: 200 clients, 100 projects each, in both project
    tables."""
    Base.metadata.create_all(engine)
    projects = [
        {"id": i + 1, "client_id": i % CLIENTS + 1, "name": f"project {i}"}
        for i in range(CLIENTS * PROJECTS_PER_CLIENT)
    ]
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Client), [{"id": i, "name": f"client {i}"} for i in range(1, CLIENTS + 1)]
        )
        connection.execute(sa.insert(Project), projects)
        connection.execute(sa.insert(IndexedProject), projects)
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE")  # plans from real statistics


class VirtualUser(Protocol):
    """What the operations need of the engine's virtual user."""

    @property
    def random(self) -> random.Random:
        """The user's own random generator."""
        ...


def client_projects(engine: sa.Engine, model: type[Project | IndexedProject]) -> Operation:
    """``get_client_projects``: the projects of a random client by name, from ``model``'s
    table."""

    def get_client_projects(vu: VirtualUser) -> None:
        client_id = vu.random.randint(1, CLIENTS)
        with operation("get_client_projects"), Session(engine) as session:
            # ordered: SQLite then finds every row before it returns the first, so the whole
            # scan happens inside cursor.execute(), where the watch times it
            query = sa.select(model).where(model.client_id == client_id).order_by(model.name)
            rows = session.scalars(query).all()
            assert len(rows) == PROJECTS_PER_CLIENT

    return get_client_projects


def client_list(engine: sa.Engine, *, eager: bool) -> Operation:
    """``list_clients``: ten clients with their project counts; lazily (one SELECT per client,
    the N+1) or with ``selectinload`` (two SELECTs in all)."""
    query = sa.select(Client).order_by(Client.id).limit(10)
    if eager:
        query = query.options(selectinload(Client.projects))

    def list_clients(vu: VirtualUser) -> None:
        offset = vu.random.randint(0, CLIENTS - 10)
        with operation("list_clients"), Session(engine) as session:
            clients = session.scalars(query.offset(offset)).all()
            assert sum(len(client.projects) for client in clients) == 10 * PROJECTS_PER_CLIENT

    return list_clients


def slow_transaction(engine: sa.Engine, hold_s: float) -> Operation:
    """``update_client``: a transaction that keeps its connection ``hold_s`` seconds (a remote
    call made inside it)."""

    def update_client(vu: VirtualUser) -> None:
        client_id = vu.random.randint(1, CLIENTS)
        with operation("update_client"), engine.connect() as connection:
            connection.execute(sa.select(Client.name).where(Client.id == client_id)).scalar()
            time.sleep(hold_s)
            connection.rollback()

    return update_client


def slow_report(engine: sa.Engine, seconds: float) -> Operation:
    """``monthly_report``: a statement the database needs ``seconds`` for (``pg_sleep`` on
    PostgreSQL; on SQLite a ``monitor_sleep`` SQL function, run inside ``cursor.execute``)."""
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def add_sleep(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.create_function("monitor_sleep", 1, _sleep)

        statement = sa.select(sa.func.monitor_sleep(seconds))
    else:
        statement = sa.select(sa.func.pg_sleep(seconds))

    def monthly_report(vu: VirtualUser) -> None:
        with operation("monthly_report"), engine.connect() as connection:
            connection.execute(statement).scalar()

    return monthly_report


def _sleep(seconds: float) -> int:
    time.sleep(seconds)
    return 0


class AuditLog:
    """Keeps what each call records: every entry forever (``leaky``, the bug), or the last
    ``keep`` entries (a bounded deque would do the same)."""

    def __init__(self, *, leaky: bool, keep: int = 100) -> None:
        self.leaky = leaky
        self.keep = keep
        self.entries: list[bytes] = []

    def record(self, size: int = 20_000) -> None:
        """One call of the service: build an entry and log it."""
        self.entries.append(b"x" * size)  # the growing allocation site of the leak
        if not self.leaky and len(self.entries) > self.keep:
            del self.entries[: -self.keep]


def bulk_export(megabytes: int, *, batched: bool) -> Callable[[], None]:
    """``bulk_export``: builds an export of ``megabytes``, all at once in memory (the spike)
    or one megabyte at a time, written out and dropped."""

    def export() -> None:
        if batched:
            for _ in range(megabytes):
                chunk = b"x" * 1_000_000
                time.sleep(0.002)  # written out
                del chunk
        else:
            everything = b"x" * (megabytes * 1_000_000)
            time.sleep(0.002 * megabytes)  # written out
            del everything

    return export
