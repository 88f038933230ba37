"""The platform API for a server process of its own: ``uvicorn --factory
platform_api.server:create`` (``--app-dir tests/load_testing``), reading its database from
``LOADTEST_PLATFORM_DB`` (an async SQLAlchemy URL) and ``LOADTEST_PLATFORM_SCHEMA`` (PostgreSQL)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from .app import build_platform

__all__ = ["create"]


def create() -> FastAPI:
    """The app over the database the environment names."""
    schema = os.environ.get("LOADTEST_PLATFORM_SCHEMA", "")
    connect_args: dict[str, Any] = (
        {"server_settings": {"search_path": schema}} if schema else {"timeout": 60}
    )
    engine = create_async_engine(
        os.environ["LOADTEST_PLATFORM_DB"],
        pool_size=20,
        max_overflow=10,
        pool_timeout=60,
        connect_args=connect_args,
    )
    return build_platform(engine)
