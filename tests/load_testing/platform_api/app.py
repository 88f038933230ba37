"""The platform API (see the package): FastAPI on an :class:`AsyncEngine`."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["METADATA", "build_platform"]

METADATA: Final = MetaData()
ACCOUNTS: Final = Table(
    "platform_accounts",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("email", String(200), unique=True, nullable=False),
    Column("password_hash", String(64), nullable=False),
)
GENERATIONS: Final = Table(
    "platform_generations",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("platform_accounts.id"), nullable=False, index=True),
    Column("prompt", String(500), nullable=False),
    Column("digest", String(64), nullable=False),
)
PAYMENTS: Final = Table(
    "platform_payments",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("platform_accounts.id"), nullable=False, index=True),
    Column("amount_cents", Integer, nullable=False),
    Column("idempotency_key", String(80), nullable=False),
    UniqueConstraint("account_id", "idempotency_key"),
)

#: Signs tokens: ``<account id>.<hmac>``.
SECRET: Final = b"example-suite-secret"
#: PBKDF2 rounds of a password: a login costs real CPU, as a real one does (kept small).
PASSWORD_ROUNDS: Final = 2_000
#: Rounds of the generation step's hashing: the CPU-bound part of a job (~1 ms).
GENERATION_ROUNDS: Final = 2_000


class Credentials(BaseModel):
    email: str
    password: str


class NewGeneration(BaseModel):
    prompt: str


class NewPayment(BaseModel):
    amount_cents: int


def password_hash(password: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), SECRET, PASSWORD_ROUNDS).hex()


def token_for(account_id: int) -> str:
    signature = hmac.new(SECRET, str(account_id).encode(), "sha256").hexdigest()
    return f"{account_id}.{signature}"


def generate(prompt: str) -> str:
    """The job's CPU-bound step."""
    digest = prompt.encode()
    for _ in range(GENERATION_ROUNDS):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


async def account(authorization: Annotated[str, Header()] = "") -> int:
    """The account a request's bearer token names; 401 without a valid one."""
    scheme, _, token = authorization.partition(" ")
    account_id, _, signature = token.partition(".")
    if scheme != "Bearer" or not account_id.isdigit():
        raise HTTPException(401, "a bearer token is needed")
    if not hmac.compare_digest(token, token_for(int(account_id))):
        raise HTTPException(401, f"bad token signature {signature[:8]}...")
    return int(account_id)


Account = Annotated[int, Depends(account)]


def build_platform(engine: AsyncEngine) -> FastAPI:
    """The app; each request's statements run in one transaction of ``engine``."""
    api = FastAPI(title="platform (example)")

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.post("/auth/register", status_code=201)
    async def register(new: Credentials) -> dict[str, int]:
        try:
            async with engine.begin() as conn:
                found = await conn.execute(
                    insert(ACCOUNTS)
                    .values(email=new.email, password_hash=password_hash(new.password))
                    .returning(ACCOUNTS.c.id)
                )
                return {"id": int(found.scalar_one())}
        except IntegrityError:
            raise HTTPException(409, f"{new.email} is registered already") from None

    @api.post("/auth/login")
    async def login(given: Credentials) -> dict[str, str]:
        async with engine.connect() as conn:
            found = await conn.execute(
                select(ACCOUNTS.c.id, ACCOUNTS.c.password_hash).where(
                    ACCOUNTS.c.email == given.email
                )
            )
            row = found.first()
        if row is None or not hmac.compare_digest(row.password_hash, password_hash(given.password)):
            raise HTTPException(401, "wrong email or password")
        return {"token": token_for(int(row.id))}

    @api.post("/generations", status_code=201)
    async def create_generation(job: NewGeneration, who: Account) -> dict[str, Any]:
        digest = generate(job.prompt)
        async with engine.begin() as conn:
            found = await conn.execute(
                insert(GENERATIONS)
                .values(account_id=who, prompt=job.prompt, digest=digest)
                .returning(GENERATIONS.c.id)
            )
            return {"id": int(found.scalar_one()), "digest": digest}

    @api.get("/generations")
    async def list_generations(who: Account) -> list[dict[str, Any]]:
        async with engine.connect() as conn:
            found = await conn.execute(
                select(GENERATIONS.c.id, GENERATIONS.c.prompt)
                .where(GENERATIONS.c.account_id == who)
                .order_by(GENERATIONS.c.id.desc())
                .limit(20)
            )
            return [dict(row._mapping) for row in found]

    @api.post("/payments", status_code=201)
    async def create_payment(
        payment: NewPayment, who: Account, idempotency_key: Annotated[str, Header()]
    ) -> dict[str, int]:
        if payment.amount_cents <= 0:
            raise HTTPException(422, "amount_cents must be above 0")
        try:
            async with engine.begin() as conn:
                found = await conn.execute(
                    insert(PAYMENTS)
                    .values(
                        account_id=who,
                        amount_cents=payment.amount_cents,
                        idempotency_key=idempotency_key,
                    )
                    .returning(PAYMENTS.c.id)
                )
                return {"id": int(found.scalar_one())}
        except IntegrityError:  # the key was used: the same payment, not a second one
            async with engine.connect() as conn:
                found = await conn.execute(
                    select(PAYMENTS.c.id).where(
                        PAYMENTS.c.account_id == who, PAYMENTS.c.idempotency_key == idempotency_key
                    )
                )
                return {"id": int(found.scalar_one())}

    @api.get("/payments")
    async def list_payments(who: Account) -> dict[str, int]:
        async with engine.connect() as conn:
            found = await conn.execute(
                select(func.count(), func.coalesce(func.sum(PAYMENTS.c.amount_cents), 0)).where(
                    PAYMENTS.c.account_id == who
                )
            )
            count, total = found.one()
        return {"count": int(count), "total_cents": int(total)}

    return api
