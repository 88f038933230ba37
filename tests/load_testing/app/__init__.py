"""A small but real service for the example load suite: clients, projects, users and sessions
on SQLAlchemy 2.x, against SQLite or any database ``LOADTEST_DATABASE_URL`` names.

>>> database = Database.create(database_url(), tmp_path)
>>> seeded = seed(database)
>>> app = App.build(database)
>>> app.clients.get(1)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from .auth import AuthError, AuthService, UserView
from .database import (
    DATABASE_URL_ENV,
    Database,
    PoolSettings,
    Transactions,
    connections_free,
    database_url,
)
from .reports import AuditService, ClientTotals, Counts, ReportService, TierRow
from .security import ITERATIONS
from .seeding import PASSWORD, Seeded, seed, seed_volume
from .services import (
    COUNTRIES,
    STATUSES,
    TIERS,
    ClientService,
    ClientView,
    ConflictError,
    DeadlockError,
    NewProject,
    NotFoundError,
    Page,
    ProjectService,
    ProjectView,
    Transfer,
    ValidationError,
)

__all__ = [
    "COUNTRIES",
    "DATABASE_URL_ENV",
    "PASSWORD",
    "STATUSES",
    "TIERS",
    "App",
    "AuditService",
    "AuthError",
    "AuthService",
    "ClientService",
    "ClientTotals",
    "ClientView",
    "ConflictError",
    "Counts",
    "Database",
    "DeadlockError",
    "NewProject",
    "NotFoundError",
    "Page",
    "PoolSettings",
    "ProjectService",
    "ProjectView",
    "ReportService",
    "Seeded",
    "TierRow",
    "Transactions",
    "Transfer",
    "UserView",
    "ValidationError",
    "connections_free",
    "database_url",
    "seed",
    "seed_volume",
]


@dataclass(frozen=True)
class App:
    """The service layer wired to one database: what the load tests drive."""

    database: Database
    transactions: Transactions
    clients: ClientService
    projects: ProjectService
    auth: AuthService
    reports: ReportService
    audit: AuditService

    @classmethod
    def build(
        cls,
        database: Database,
        transactions: Transactions | None = None,
        *,
        password_iterations: int = ITERATIONS,
    ) -> App:
        """The services over ``database``, opening transactions with ``transactions``."""
        tx = transactions if transactions is not None else Transactions(database.engine)
        return cls(
            database=database,
            transactions=tx,
            clients=ClientService(tx),
            projects=ProjectService(tx),
            auth=AuthService(tx, iterations=password_iterations),
            reports=ReportService(tx),
            audit=AuditService(tx),
        )

    def health(self) -> bool:
        """What a load balancer's health check asks: can a connection run a query?"""
        with self.transactions.read() as session:
            return bool(session.execute(text("SELECT 1")).scalar_one() == 1)

    def status(self) -> Counts:
        """Rows in each table: the figures of a status page."""
        return self.audit.counts()
