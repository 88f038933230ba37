"""The README's FastAPI example works as printed (with a small ``myservice`` beside it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the README example is a FastAPI app")
pytest.importorskip("aiosqlite", reason="the README example is on aiosqlite")

README = Path(__file__).resolve().parents[2] / "README.md"

MYSERVICE = """
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Client(Base):
    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class NewClient(BaseModel):
    name: str


def build_api(engine):
    api = FastAPI()

    @api.post("/clients", status_code=201)
    async def create(client: NewClient):
        async with engine.begin() as conn:
            found = await conn.execute(
                Client.__table__.insert().values(name=client.name).returning(Client.id)
            )
            return {"id": found.scalar_one()}

    @api.get("/clients/{client_id}")
    async def read(client_id: int):
        async with engine.connect() as conn:
            found = await conn.execute(select(Client.name).where(Client.id == client_id))
            name = found.scalar()
        if name is None:
            raise HTTPException(404)
        return {"id": client_id, "name": name}

    return api
"""


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("A FastAPI app on async SQLAlchemy, in process, under 1,000 users:")
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match is not None
    return match.group(1)


def test_the_readme_fastapi_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(myservice=MYSERVICE)
    example = readme_example().replace(
        'users=1000, ramp_up="2s", duration="6s"', 'users=100, ramp_up="0.2s", duration="1s"'
    )
    assert "users=100," in example  # the example's marker is where this test expects it
    pytester.makepyfile(test_example=example)
    result = pytester.runpytest("-m", "load", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_clients_api*", "*create*0.00*", "*read*0.00*"])
