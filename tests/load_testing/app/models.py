"""The tables of the example service: clients, their projects, users and login sessions.

Typed SQLAlchemy 2.x declarative models. Deleting a client deletes its projects in the database
itself (``ON DELETE CASCADE``, with ``passive_deletes`` so the ORM does not load them first), and
deleting a user deletes that user's sessions the same way.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, ForeignKey, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["Base", "Client", "Project", "User", "UserSession", "utcnow"]


def utcnow() -> datetime:
    """The current time in UTC (naive, as both SQLite and a ``timestamp`` column store it)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base of the example service."""


class Client(Base):
    """A customer of the agency; owns projects."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    tier: Mapped[str] = mapped_column(String(16), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    # Incremented by every update: a lost update shows as a version lower than the updates made.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    projects: Mapped[list[Project]] = relationship(
        back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )


class Project(Base):
    """A piece of work for one client, with a budget in cents."""

    __tablename__ = "projects"
    __table_args__ = (
        # the filtered, sorted listings of the volume tests: WHERE status = ? ORDER BY budget
        Index("ix_projects_status_budget", "status", "budget"),
        # named, so that the volume seed can drop it and add it back around a bulk load
        ForeignKeyConstraint(
            ["client_id"], ["clients.id"], ondelete="CASCADE", name="projects_client_id_fkey"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    budget: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    client: Mapped[Client] = relationship(back_populates="projects")


class User(Base):
    """Someone who can log in; ``password_hash`` is ``"<iterations>$<salt hex>$<hash hex>"``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class UserSession(Base):
    """A login: an opaque token valid until ``expires_at``."""

    __tablename__ = "sessions"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
