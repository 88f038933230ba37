"""The service layer of the example application: clients and their projects.

Services take plain arguments and return frozen views (never ORM objects, which would outlive
their session); bad input raises :class:`ValidationError`, a missing row :class:`NotFoundError`.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar, cast

from sqlalchemy import CursorResult, delete, func, insert, or_, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from .database import Transactions
from .models import Client, Project

__all__ = [
    "COUNTRIES",
    "MAX_PER_PAGE",
    "STATUSES",
    "TIERS",
    "ClientService",
    "ClientView",
    "ConflictError",
    "DeadlockError",
    "NewProject",
    "NotFoundError",
    "Page",
    "ProjectService",
    "ProjectView",
    "Transfer",
    "ValidationError",
    "check_choice",
    "clean_email",
    "clean_name",
]

TIERS: Final = ("free", "pro", "enterprise")
COUNTRIES: Final = ("DE", "ES", "FR", "GB", "IT", "NL", "PL", "US")
STATUSES: Final = ("active", "paused", "done")
MAX_PER_PAGE: Final = 100
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: PostgreSQL's SQLSTATE for "deadlock detected".
DEADLOCK_SQLSTATE: Final = "40P01"

T = TypeVar("T")


class ValidationError(ValueError):
    """The input breaks a rule of the service."""


class NotFoundError(LookupError):
    """No row has the id asked for."""


class ConflictError(ValueError):
    """The write clashes with existing data (an email already in use)."""


class DeadlockError(RuntimeError):
    """A transaction kept being chosen as a deadlock victim, retries included."""


@dataclass(frozen=True, slots=True)
class ClientView:
    """A client as the service returns it."""

    id: int
    name: str
    email: str
    tier: str
    country: str
    version: int

    @classmethod
    def of(cls, row: Client) -> ClientView:
        """The view of an ORM row."""
        return cls(row.id, row.name, row.email, row.tier, row.country, row.version)


@dataclass(frozen=True, slots=True)
class ProjectView:
    """A project as the service returns it."""

    id: int
    client_id: int
    name: str
    status: str
    budget: int

    @classmethod
    def of(cls, row: Project) -> ProjectView:
        """The view of an ORM row."""
        return cls(row.id, row.client_id, row.name, row.status, row.budget)


@dataclass(frozen=True, slots=True)
class NewProject:
    """A project to create: what a form or an import file provides."""

    name: str
    budget: int
    status: str = "active"


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing, with the total the listing has."""

    items: tuple[T, ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Pages in the listing."""
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class Transfer:
    """What a budget transfer took: attempts, and deadlocks that forced a retry."""

    attempts: int
    deadlocks: int


def clean_name(name: str) -> str:
    """``name`` without surrounding blanks; 1 to 100 characters."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationError("a name has 1 to 100 characters")
    return name


def clean_email(email: str) -> str:
    """``email`` trimmed and lower-cased, if it looks like an email address."""
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 255:
        raise ValidationError(f"{email!r} is not an email address")
    return email


def check_choice(value: str, allowed: Sequence[str], what: str) -> str:
    """``value`` if it is one of ``allowed`` (``what`` names it in the error)."""
    if value not in allowed:
        raise ValidationError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _paging(page: int, per_page: int) -> int:
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError(f"page must be >= 1 and per_page within 1..{MAX_PER_PAGE}")
    return (page - 1) * per_page


def _new_project(client_id: int, project: NewProject) -> Project:
    if project.budget < 0:
        raise ValidationError("a budget cannot be negative")
    return Project(
        client_id=client_id,
        name=clean_name(project.name),
        status=check_choice(project.status, STATUSES, "status"),
        budget=project.budget,
    )


class ClientService:
    """Create, read, list, search, update and delete clients."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def create(
        self,
        name: str,
        email: str,
        *,
        tier: str = "free",
        country: str = "FR",
        projects: Sequence[NewProject] = (),
    ) -> ClientView:
        """Add a client, and its first projects in the same transaction (a signup form)."""
        client = Client(
            name=clean_name(name),
            email=clean_email(email),
            tier=check_choice(tier, TIERS, "tier"),
            country=check_choice(country, COUNTRIES, "country"),
            version=1,
        )
        try:
            with self._tx.write() as session:
                session.add(client)
                session.flush()  # assigns the id
                session.add_all(_new_project(client.id, p) for p in projects)
                view = ClientView.of(client)
        except IntegrityError as exc:
            raise ConflictError(f"email {client.email!r} is already in use") from exc
        return view

    def get(self, client_id: int) -> ClientView:
        """The client with ``client_id``."""
        with self._tx.read() as session:
            row = session.get(Client, client_id)
            if row is None:
                raise NotFoundError(f"no client {client_id}")
            return ClientView.of(row)

    def list_page(
        self,
        page: int = 1,
        per_page: int = 20,
        *,
        tier: str | None = None,
        country: str | None = None,
    ) -> Page[ClientView]:
        """Clients in id order, optionally of one tier and/or country, one page at a time."""
        offset = _paging(page, per_page)
        query = select(Client)
        if tier is not None:
            query = query.where(Client.tier == check_choice(tier, TIERS, "tier"))
        if country is not None:
            query = query.where(Client.country == check_choice(country, COUNTRIES, "country"))
        with self._tx.read() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(query.order_by(Client.id).offset(offset).limit(per_page))
            return Page(tuple(ClientView.of(r) for r in rows), total, page, per_page)

    def search(self, text: str, limit: int = 20) -> list[ClientView]:
        """Clients whose name or email contains ``text``, case-insensitively, in id order."""
        needle = text.strip()
        if not needle:
            raise ValidationError("search text must not be empty")
        pattern = f"%{needle}%"
        query = (
            select(Client)
            .where(or_(Client.name.ilike(pattern), Client.email.ilike(pattern)))
            .order_by(Client.id)
            .limit(min(limit, MAX_PER_PAGE))
        )
        with self._tx.read() as session:
            return [ClientView.of(r) for r in session.scalars(query)]

    def update(
        self,
        client_id: int,
        *,
        name: str | None = None,
        tier: str | None = None,
        country: str | None = None,
    ) -> ClientView:
        """Change some fields of a client; every update increments its ``version``."""
        with self._tx.write() as session:
            # FOR UPDATE: two updates of one client take turns instead of losing one of them
            # (SQLite has no row locks; its writers already take turns for the database).
            row = session.get(Client, client_id, with_for_update=True)
            if row is None:
                raise NotFoundError(f"no client {client_id}")
            if name is not None:
                row.name = clean_name(name)
            if tier is not None:
                row.tier = check_choice(tier, TIERS, "tier")
            if country is not None:
                row.country = check_choice(country, COUNTRIES, "country")
            row.version += 1
            session.flush()
            return ClientView.of(row)

    def delete(self, client_id: int) -> None:
        """Remove a client; the database removes its projects with it (ON DELETE CASCADE)."""
        with self._tx.write() as session:
            result = cast(
                "CursorResult[Any]", session.execute(delete(Client).where(Client.id == client_id))
            )
            if not result.rowcount:
                raise NotFoundError(f"no client {client_id}")

    def count(self) -> int:
        """Number of clients."""
        with self._tx.read() as session:
            return session.scalar(select(func.count()).select_from(Client)) or 0


class ProjectService:
    """Projects of clients: add, list, filter, bulk import and budget transfers."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def add(self, client_id: int, project: NewProject) -> ProjectView:
        """Add a project to an existing client."""
        row = _new_project(client_id, project)
        try:
            with self._tx.write() as session:
                if session.get(Client, client_id) is None:
                    raise NotFoundError(f"no client {client_id}")
                session.add(row)
                session.flush()
                view = ProjectView.of(row)
        except IntegrityError as exc:  # the client was deleted meanwhile (foreign key)
            raise NotFoundError(f"no client {client_id}") from exc
        return view

    def of_client(self, client_id: int, page: int = 1, per_page: int = 20) -> Page[ProjectView]:
        """A client's projects in id order, one page at a time."""
        offset = _paging(page, per_page)
        where = Project.client_id == client_id
        with self._tx.read() as session:
            total = session.scalar(select(func.count()).where(where)) or 0
            rows = session.scalars(
                select(Project).where(where).order_by(Project.id).offset(offset).limit(per_page)
            )
            return Page(tuple(ProjectView.of(r) for r in rows), total, page, per_page)

    def after(self, after_id: int = 0, limit: int = 50) -> list[ProjectView]:
        """Keyset pagination: the ``limit`` projects following id ``after_id``, in id order."""
        _paging(1, limit)
        query = select(Project).where(Project.id > after_id).order_by(Project.id).limit(limit)
        with self._tx.read() as session:
            return [ProjectView.of(r) for r in session.scalars(query)]

    def cheapest(self, status: str, *, min_budget: int = 0, limit: int = 20) -> list[ProjectView]:
        """Projects of one status with at least ``min_budget``, cheapest first."""
        _paging(1, limit)
        query = (
            select(Project)
            .where(Project.status == check_choice(status, STATUSES, "status"))
            .where(Project.budget >= min_budget)
            .order_by(Project.budget, Project.id)
            .limit(limit)
        )
        with self._tx.read() as session:
            return [ProjectView.of(r) for r in session.scalars(query)]

    def bulk_insert(self, client_id: int, projects: Sequence[NewProject]) -> int:
        """Import many projects of one client at once (one executemany); returns the count."""
        rows = [
            {"client_id": client_id, "name": p.name, "status": p.status, "budget": p.budget}
            for p in projects
        ]
        with self._tx.write() as session:
            if session.get(Client, client_id) is None:
                raise NotFoundError(f"no client {client_id}")
            session.execute(insert(Project), rows)
        return len(rows)

    def transfer(
        self,
        source: int,
        target: int,
        amount: int,
        *,
        pause: float = 0.0,
        sorted_locks: bool = False,
        retries: int = 5,
    ) -> Transfer:
        """Move budget between two projects, retrying when chosen as a deadlock victim.

        The rows are locked source first, then target (or in id order with ``sorted_locks``,
        which cannot deadlock); ``pause`` is work done between the two locks (a fraud check).
        """
        deadlocks = 0
        for attempt in range(1, retries + 2):
            try:
                with self._tx.write() as session:
                    order = sorted((source, target)) if sorted_locks else [source, target]
                    rows = {}
                    for project_id in order:
                        row = session.get(Project, project_id, with_for_update=True)
                        if row is None:
                            raise NotFoundError(f"no project {project_id}")
                        rows[project_id] = row
                        if pause:
                            time.sleep(pause)
                    if rows[source].budget < amount:
                        raise ValidationError(f"project {source} has less than {amount}")
                    rows[source].budget -= amount
                    rows[target].budget += amount
                return Transfer(attempt, deadlocks)
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) != DEADLOCK_SQLSTATE:
                    raise
                deadlocks += 1  # the server rolled this transaction back: run it again,
                # after a random pause that grows, so the two sides do not collide again
                time.sleep(random.uniform(0, 0.005 * 2**deadlocks))
        raise DeadlockError(f"transfer {source} -> {target}: {deadlocks} deadlocks in a row")
