"""Where the example service keeps its data: one isolated database per test.

``LOADTEST_DATABASE_URL`` names a server database (``postgresql+psycopg://user@host/db``); each
:class:`Database` then lives in a schema of its own, created for it and dropped afterwards, so
several test processes can share one server. Without it, each is a SQLite file in a temporary
directory, in WAL mode, where writers wait for each other (``busy_timeout``) instead of failing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

from .models import Base

__all__ = [
    "DATABASE_URL_ENV",
    "Database",
    "PoolSettings",
    "Transactions",
    "connections_free",
    "database_url",
]

#: The environment variable naming the database server to test against.
DATABASE_URL_ENV: Final = "LOADTEST_DATABASE_URL"
#: SQLite waits this long (ms) for another writer to finish before giving up.
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
_WRITE: Final = "loadtest_write"  # execution option: this transaction will write


def database_url() -> str | None:
    """``LOADTEST_DATABASE_URL`` when it is set and not empty, else ``None`` (SQLite)."""
    return os.environ.get(DATABASE_URL_ENV, "").strip() or None


@dataclass(frozen=True)
class PoolSettings:
    """The connection pool of the service, as an application server would configure it."""

    size: int = 20
    max_overflow: int = 10
    timeout: float = 30.0  # seconds a caller waits for a free connection

    @property
    def capacity(self) -> int:
        """Connections the pool may hold at once."""
        return self.size + self.max_overflow

    @classmethod
    def for_users(cls, users: int, *, limit: int | None = None) -> PoolSettings:
        """A connection for each of ``users``, as an application server with a worker thread
        per user has; the default pool when that is as big; never more than ``limit`` (the
        connections the database server has free: :func:`connections_free`)."""
        default = cls()
        if users <= default.capacity:
            return default
        return cls(size=users if limit is None else max(min(users, limit), 1), max_overflow=0)


class Database:
    """An isolated, empty database with the service's tables; :meth:`drop` removes it."""

    def __init__(
        self, engine: Engine, *, label: str, schema: str | None = None, path: Path | None = None
    ) -> None:
        self.engine = engine
        self.label = label  # for messages: "sqlite /tmp/.../app.db" or "host schema x"
        self.schema = schema  # PostgreSQL: the schema of this database
        self.path = path  # SQLite: the database file
        self._admin_url = engine.url if schema else None

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"`` (or whatever the URL names)."""
        return self.engine.dialect.name

    @classmethod
    def create(
        cls,
        url: str | None,
        workdir: Path,
        *,
        pool: PoolSettings = PoolSettings(),
        server_settings: Mapping[str, str] | None = None,
    ) -> Database:
        """A new database with empty tables: a schema of ``url``'s database, or a SQLite file.

        ``server_settings`` are PostgreSQL run-time parameters (``SET name = value``) applied to
        every connection where the server allows it.
        """
        database = (
            cls._postgresql(url, pool, server_settings or {})
            if url is not None
            else cls._sqlite(workdir / "app.db", pool)
        )
        Base.metadata.create_all(database.engine)
        return database

    @classmethod
    def attach(
        cls,
        url: str | None,
        *,
        path: str | None = None,
        schema: str | None = None,
        pool: PoolSettings = PoolSettings(),
    ) -> Database:
        """The database another process created (its SQLite file, or its PostgreSQL schema):
        a worker process of a load test spread over several (``processes=N``) opens what the
        coordinator created and seeded. Only its creator drops it."""
        if url is not None and schema is not None:
            return cls._postgresql(url, pool, {}, schema=schema)
        if path is None:
            raise ValueError("attach: a SQLite path or a PostgreSQL schema, please")
        return cls._sqlite(Path(path), pool)

    @classmethod
    def _sqlite(cls, path: Path, pool: PoolSettings) -> Database:
        engine = create_engine(
            f"sqlite:///{path}",
            poolclass=QueuePool,
            pool_size=pool.size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.timeout,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )

        @event.listens_for(engine, "connect")
        def configure(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling would start transactions late and always as
            # DEFERRED; take it over so that "begin" below decides how each one starts.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode = WAL")  # readers do not block the writer
            cursor.execute("PRAGMA synchronous = NORMAL")  # safe in WAL mode, fsync per checkpoint
            cursor.execute("PRAGMA foreign_keys = ON")  # off by default: no cascades without it
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def begin(connection: Connection) -> None:
            # A DEFERRED transaction that reads, then writes, cannot wait for the write lock (it
            # fails with "database is locked" at once); an IMMEDIATE one takes the lock up front
            # and waits up to busy_timeout for it, which serialises writers as the server would.
            immediate = connection.get_execution_options().get(_WRITE, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return cls(engine, label=f"sqlite {path}", path=path)

    @classmethod
    def _postgresql(
        cls,
        url: str,
        pool: PoolSettings,
        server_settings: Mapping[str, str],
        schema: str | None = None,
    ) -> Database:
        if schema is None:
            schema = f"loadtest_{uuid.uuid4().hex[:16]}"  # unique: processes may share a server
            with _admin(url) as admin:
                admin.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_engine(
            url,
            pool_size=pool.size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.timeout,
            connect_args={
                "options": f"-c search_path={schema}",
                "application_name": "pytest-loadtest example",
            },
        )

        if server_settings:

            @event.listens_for(engine, "connect")
            def configure(dbapi_connection: Any, _record: Any) -> None:
                for name, value in server_settings.items():
                    cursor = dbapi_connection.cursor()
                    try:
                        cursor.execute(f"SET {name} = '{value}'")
                        dbapi_connection.commit()  # a rolled-back SET would be undone
                    except Exception:
                        dbapi_connection.rollback()
                    finally:
                        cursor.close()

        host = make_url(url).render_as_string(hide_password=True)
        return cls(engine, label=f"{host} schema {schema}", schema=schema)

    def warm(self, connections: int) -> None:
        """Open ``connections`` pooled connections and give them back, as a server warms its
        pool before it takes traffic: otherwise the first call of each of many users pays for
        opening a connection, inside the measured run (the pool detector sees a slow checkout)."""
        opened = []
        try:
            for _ in range(connections):
                opened.append(self.engine.connect())
        finally:
            for connection in opened:
                connection.close()

    def drop(self) -> None:
        """Close every connection and remove the database: its schema, or its files."""
        self.engine.dispose()
        if self.path is not None:  # pytest keeps tmp dirs of recent runs: do not keep big files
            for suffix in ("", "-wal", "-shm"):
                self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
        if self.schema is not None and self._admin_url is not None:
            with _admin(self._admin_url.render_as_string(hide_password=False)) as admin:
                admin.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))


#: Connections left to the server's other clients (psql, other test processes, autovacuum).
SPARE_CONNECTIONS: Final = 10


def connections_free(url: str | None) -> int | None:
    """Connections a new pool may open on the server ``url`` names: its ``max_connections``
    less those in use and :data:`SPARE_CONNECTIONS`; ``None``: no limit (SQLite)."""
    if url is None or make_url(url).get_backend_name() != "postgresql":
        return None
    with _admin(url) as admin:
        limit = admin.execute(text("SELECT current_setting('max_connections')::int")).scalar_one()
        used = admin.execute(text("SELECT count(*) FROM pg_stat_activity")).scalar_one()
    return max(int(limit) - int(used) - SPARE_CONNECTIONS, 1)


@contextmanager
def _admin(url: str) -> Iterator[Connection]:
    """An autocommit connection outside any pool, for creating and dropping schemas."""
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            # Never hang a test run's teardown behind a stuck connection: fail after 30s instead.
            connection.execute(text("SET lock_timeout = '30s'"))
            yield connection
    finally:
        engine.dispose()


class Transactions:
    """How the services open transactions: the one seam that the broken variants override.

    ``read()`` yields a session whose transaction is rolled back at the end; ``write()`` one that
    is committed (with :meth:`commit`) when the block ends without an exception.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(
            engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries."""
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work is committed when the block succeeds, rolled back otherwise."""
        with self._write() as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            self.commit(session)

    def commit(self, session: Session) -> None:
        """Commit ``session``'s transaction."""
        session.commit()
