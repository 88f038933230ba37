"""Users and their login sessions: register, log in, check a session, log out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, cast

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.exc import IntegrityError

from .database import Transactions
from .models import User, UserSession, utcnow
from .security import ITERATIONS, hash_password, new_token, verify_password
from .services import ConflictError, ValidationError, clean_email, clean_name

__all__ = ["SESSION_LIFETIME", "AuthError", "AuthService", "UserView"]

SESSION_LIFETIME: Final = timedelta(hours=8)


class AuthError(PermissionError):
    """Wrong email or password, or no such (live) session."""


@dataclass(frozen=True, slots=True)
class UserView:
    """A user as the service returns it (never the password hash)."""

    id: int
    email: str
    name: str


class AuthService:
    """Accounts with PBKDF2-hashed passwords, and sessions kept in the ``sessions`` table."""

    def __init__(self, tx: Transactions, *, iterations: int = ITERATIONS) -> None:
        self._tx = tx
        self._iterations = iterations

    def register(self, email: str, password: str, name: str) -> UserView:
        """Create an account."""
        if len(password) < 8:
            raise ValidationError("a password has at least 8 characters")
        user = User(
            email=clean_email(email),
            name=clean_name(name),
            password_hash=hash_password(password, iterations=self._iterations),
        )
        try:
            with self._tx.write() as session:
                session.add(user)
                session.flush()
                view = UserView(user.id, user.email, user.name)
        except IntegrityError as exc:
            raise ConflictError(f"email {user.email!r} is already registered") from exc
        return view

    def login(self, email: str, password: str) -> str:
        """Check the password and open a session; returns its token."""
        with self._tx.read() as session:
            found = session.execute(
                select(User.id, User.password_hash).where(User.email == email.strip().lower())
            ).one_or_none()
        # Hash outside any transaction: a connection is not held through 2ms of CPU.
        if found is None or not verify_password(password, found.password_hash):
            raise AuthError("wrong email or password")
        token = new_token()
        now = utcnow()
        with self._tx.write() as session:
            session.add(
                UserSession(
                    token=token,
                    user_id=found.id,
                    created_at=now,
                    expires_at=now + SESSION_LIFETIME,
                )
            )
        return token

    def authenticate(self, token: str) -> UserView:
        """The user of a live session."""
        query = (
            select(User.id, User.email, User.name)
            .join(UserSession, UserSession.user_id == User.id)
            .where(UserSession.token == token, UserSession.expires_at > utcnow())
        )
        with self._tx.read() as session:
            row = session.execute(query).one_or_none()
        if row is None:
            raise AuthError("no live session with this token")
        return UserView(row.id, row.email, row.name)

    def logout(self, token: str) -> None:
        """End a session."""
        with self._tx.write() as session:
            result = cast(
                "CursorResult[Any]",
                session.execute(delete(UserSession).where(UserSession.token == token)),
            )
            if not result.rowcount:
                raise AuthError("no session with this token")

    def active_sessions(self) -> int:
        """Sessions that have not expired."""
        query = select(func.count()).where(UserSession.expires_at > utcnow())
        with self._tx.read() as session:
            return session.scalar(query) or 0
