"""The async twin of part of the example service: clients over HTTP, as a FastAPI app on async
SQLAlchemy (aiosqlite on SQLite, asyncpg on PostgreSQL), over the same tables and seed as the
sync service (:mod:`..app`).

>>> database = Database.create(database_url(), tmp_path)   # the sync service's tables
>>> seeded = seed(database)
>>> engine = async_engine(database)                         # the same data, async
>>> api = build_api(engine)                                 # FastAPI: /clients ...
"""

from __future__ import annotations

from .api import build_api
from .engine import async_engine

__all__ = ["async_engine", "build_api"]
