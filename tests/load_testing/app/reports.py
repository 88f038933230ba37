"""Read-heavy queries: the reports a back office runs, and the audit queries of the tests.

The reports join, group, filter on aggregates and nest subqueries, the kind of query whose cost
grows with the data and that a load test should see under concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from .database import Transactions
from .models import Client, Project, User, UserSession

__all__ = ["AuditService", "ClientTotals", "Counts", "ReportService", "TierRow"]


@dataclass(frozen=True, slots=True)
class ClientTotals:
    """A client with the number and total budget of its projects."""

    client_id: int
    name: str
    projects: int
    budget: int


@dataclass(frozen=True, slots=True)
class TierRow:
    """Clients, projects and budget of one tier in one country."""

    tier: str
    country: str
    clients: int
    projects: int
    budget: int


class ReportService:
    """Aggregating queries over clients and projects."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def top_clients(self, limit: int = 10, *, status: str | None = None) -> list[ClientTotals]:
        """Clients with the largest total budget (of projects in ``status``, if given)."""
        budget = func.sum(Project.budget)
        query = (
            select(Client.id, Client.name, func.count(Project.id), budget)
            .join(Project, Project.client_id == Client.id)
            .group_by(Client.id, Client.name)
            .order_by(budget.desc(), Client.id)
            .limit(limit)
        )
        if status is not None:
            query = query.where(Project.status == status)
        with self._tx.read() as session:
            rows = session.execute(query).all()
        return [ClientTotals(i, name, int(n), int(b)) for i, name, n, b in rows]

    def tier_breakdown(self) -> list[TierRow]:
        """Per tier and country: clients, projects and budget (clients without projects too)."""
        per_client = (
            select(
                Project.client_id,
                func.count(Project.id).label("projects"),
                func.sum(Project.budget).label("budget"),
            )
            .group_by(Project.client_id)
            .subquery()
        )
        query = (
            select(
                Client.tier,
                Client.country,
                func.count(Client.id),
                func.coalesce(func.sum(per_client.c.projects), 0),
                func.coalesce(func.sum(per_client.c.budget), 0),
            )
            .outerjoin(per_client, per_client.c.client_id == Client.id)
            .group_by(Client.tier, Client.country)
            .order_by(Client.tier, Client.country)
        )
        with self._tx.read() as session:
            rows = session.execute(query).all()
        # sums of sums are NUMERIC on PostgreSQL (Decimal): report whole numbers everywhere
        return [TierRow(t, c, int(n), int(p), int(b)) for t, c, n, p, b in rows]

    def above_average(self, limit: int = 20) -> list[ClientTotals]:
        """Clients whose total budget is above the average client's: a HAVING on a subquery."""
        per_client = (
            select(func.sum(Project.budget).label("total")).group_by(Project.client_id).subquery()
        )
        average = select(func.avg(per_client.c.total)).scalar_subquery()
        budget = func.sum(Project.budget)
        query = (
            select(Client.id, Client.name, func.count(Project.id), budget)
            .join(Project, Project.client_id == Client.id)
            .group_by(Client.id, Client.name)
            .having(budget > average)
            .order_by(Client.id)
            .limit(limit)
        )
        with self._tx.read() as session:
            rows = session.execute(query).all()
        return [ClientTotals(i, name, int(n), int(b)) for i, name, n, b in rows]


@dataclass(frozen=True, slots=True)
class Counts:
    """Rows in each table."""

    clients: int
    projects: int
    users: int
    sessions: int


class AuditService:
    """What is really in the database, for integrity checks after a load run."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def counts(self) -> Counts:
        """Rows in each table."""
        with self._tx.read() as session:
            values = [
                session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Client, Project, User, UserSession)
            ]
        return Counts(*values)

    def client_versions(self) -> dict[int, int]:
        """Every client's id and version."""
        with self._tx.read() as session:
            return {
                row.id: row.version for row in session.execute(select(Client.id, Client.version))
            }

    def project_ids(self, client_ids: list[int] | None = None) -> set[int]:
        """Ids of every project (of the given clients only, if any are given)."""
        query = select(Project.id)
        if client_ids is not None:
            query = query.where(Project.client_id.in_(client_ids))
        with self._tx.read() as session:
            return set(session.scalars(query))

    def orphan_projects(self) -> int:
        """Projects whose client does not exist: a cascade that did not happen."""
        query = (
            select(func.count())
            .select_from(Project)
            .outerjoin(Client, Client.id == Project.client_id)
            .where(Client.id.is_(None))
        )
        with self._tx.read() as session:
            return session.scalar(query) or 0

    def session_tokens(self) -> set[str]:
        """Tokens of every session in the table."""
        with self._tx.read() as session:
            return set(session.scalars(select(UserSession.token)))

    def budget_total(self) -> int:
        """Sum of every project's budget."""
        with self._tx.read() as session:
            return session.scalar(select(func.coalesce(func.sum(Project.budget), 0))) or 0
