"""The clients API of the async twin: FastAPI on an :class:`AsyncEngine`.

- ``POST /clients`` creates a client (``name``, ``email``, ``tier``, ``country``): 201 and its id;
  409 if the email is taken.
- ``GET /clients/{id}``: the client, or 404.
- ``PATCH /clients/{id}`` changes its tier and bumps its version (a lost update shows as a
  version lower than the updates made): the new version, or 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["NewClient", "TierChange", "build_api"]

_INSERT = text(
    "INSERT INTO clients (name, email, tier, country, version, created_at) "
    "VALUES (:name, :email, :tier, :country, 1, CURRENT_TIMESTAMP) RETURNING id"
)
_SELECT = text("SELECT id, name, email, tier, country, version FROM clients WHERE id = :id")
_UPDATE = text(
    "UPDATE clients SET tier = :tier, version = version + 1 WHERE id = :id RETURNING version"
)


class NewClient(BaseModel):
    name: str
    email: str
    tier: str
    country: str


class TierChange(BaseModel):
    tier: str


def build_api(engine: AsyncEngine) -> FastAPI:
    """The app; every request runs its statements in one transaction of ``engine``."""
    api = FastAPI(title="example clients (async)")

    @api.post("/clients", status_code=201)
    async def create_client(client: NewClient) -> dict[str, int]:
        try:
            async with engine.begin() as conn:
                found = await conn.execute(_INSERT, client.model_dump())
                return {"id": int(found.scalar_one())}
        except IntegrityError:
            raise HTTPException(409, f"email {client.email!r} is taken") from None

    @api.get("/clients/{client_id}")
    async def get_client(client_id: int) -> dict[str, Any]:
        async with engine.connect() as conn:
            found = await conn.execute(_SELECT, {"id": client_id})
            row = found.mappings().first()
        if row is None:
            raise HTTPException(404, f"no client {client_id}")
        return dict(row)

    @api.patch("/clients/{client_id}")
    async def change_tier(client_id: int, change: TierChange) -> dict[str, int]:
        async with engine.begin() as conn:
            found = await conn.execute(_UPDATE, {"tier": change.tier, "id": client_id})
            version = found.scalar()
        if version is None:
            raise HTTPException(404, f"no client {client_id}")
        return {"version": int(version)}

    return api
