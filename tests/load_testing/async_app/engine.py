"""An async engine over a :class:`..app.Database`: aiosqlite for its SQLite file, asyncpg for its
PostgreSQL schema."""

from __future__ import annotations

from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ..app import Database

__all__ = ["async_engine"]

#: Seconds a caller waits for a free connection: 1,000 users share a pool of 30.
POOL_TIMEOUT: Final = 60.0
#: Seconds SQLite waits for another writer (its busy timeout).
SQLITE_BUSY_TIMEOUT: Final = 60.0


def async_engine(database: Database, *, pool_size: int = 20, max_overflow: int = 10) -> AsyncEngine:
    """An :class:`AsyncEngine` on ``database``'s data, with a pool as an app server has one."""
    if database.path is not None:  # SQLite: WAL mode is set in the file by the sync engine
        return create_async_engine(
            f"sqlite+aiosqlite:///{database.path}",
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=POOL_TIMEOUT,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT},
        )
    url = database.engine.url.set(drivername="postgresql+asyncpg")
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=POOL_TIMEOUT,
        connect_args={"server_settings": {"search_path": str(database.schema)}},
    )
