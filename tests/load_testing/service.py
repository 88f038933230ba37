"""A small thread-safe, in-memory CRUD service of clients: what the example load tests drive.

It stands in for the data layer of a real application (a later example suite uses SQLAlchemy):
every method takes one lock, so concurrent virtual users see consistent data, and bad input raises
``ValueError`` the way a validating service layer would.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass, replace
from typing import Final

__all__ = ["SEEDED", "Client", "ClientNotFoundError", "ClientService", "seeded_service"]

_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME: Final = 100
MAX_PAGE: Final = 100
#: Clients a seeded service starts with (ids 1..SEEDED).
SEEDED: Final = 100


@dataclass(frozen=True, slots=True)
class Client:
    """One client record."""

    id: int
    name: str
    email: str


class ClientNotFoundError(LookupError):
    """No client has the id asked for."""


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValueError("name must not be empty")
    if len(name) > MAX_NAME:
        raise ValueError(f"name is longer than {MAX_NAME} characters")
    return name


def _clean_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise ValueError(f"{email!r} is not an email address")
    return email


class ClientService:
    """Create, read, list, search, update and delete clients; safe to call from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[int, Client] = {}
        self._by_email: dict[str, int] = {}
        self._next_id = 1

    def create(self, name: str, email: str) -> Client:
        """Add a client; ``ValueError`` for a bad name or email, or an email already in use."""
        name, email = _clean_name(name), _clean_email(email)
        with self._lock:
            if email in self._by_email:
                raise ValueError(f"email {email!r} is already in use")
            client = Client(self._next_id, name, email)
            self._next_id += 1
            self._clients[client.id] = client
            self._by_email[email] = client.id
            return client

    def get(self, client_id: int) -> Client:
        """The client with ``client_id``; :class:`ClientNotFoundError` when there is none."""
        with self._lock:
            try:
                return self._clients[client_id]
            except KeyError:
                raise ClientNotFoundError(client_id) from None

    def list_page(self, offset: int = 0, limit: int = 20) -> list[Client]:
        """One page of clients in id order."""
        if offset < 0:
            raise ValueError("offset must not be negative")
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
        with self._lock:
            # ids only grow and dicts keep insertion order, so this is id order without a sort
            return list(itertools.islice(self._clients.values(), offset, offset + limit))

    def search(self, text: str, limit: int = 20) -> list[Client]:
        """Clients whose name or email contains ``text`` (case-insensitive), in id order."""
        needle = text.strip().lower()
        if not needle:
            raise ValueError("search text must not be empty")
        with self._lock:
            matches = (
                c for c in self._clients.values() if needle in c.name.lower() or needle in c.email
            )
            return list(itertools.islice(matches, limit))

    def update(
        self, client_id: int, *, name: str | None = None, email: str | None = None
    ) -> Client:
        """Change a client's name and/or email; raises as :meth:`create` and :meth:`get` do."""
        new_name = _clean_name(name) if name is not None else None
        new_email = _clean_email(email) if email is not None else None
        with self._lock:
            try:
                client = self._clients[client_id]
            except KeyError:
                raise ClientNotFoundError(client_id) from None
            if new_email is not None and new_email != client.email:
                if new_email in self._by_email:
                    raise ValueError(f"email {new_email!r} is already in use")
                del self._by_email[client.email]
                self._by_email[new_email] = client_id
            client = replace(
                client,
                name=new_name if new_name is not None else client.name,
                email=new_email if new_email is not None else client.email,
            )
            self._clients[client_id] = client
            return client

    def delete(self, client_id: int) -> None:
        """Remove a client; :class:`ClientNotFoundError` when there is none."""
        with self._lock:
            try:
                client = self._clients.pop(client_id)
            except KeyError:
                raise ClientNotFoundError(client_id) from None
            del self._by_email[client.email]

    def count(self) -> int:
        """Number of clients."""
        with self._lock:
            return len(self._clients)

    def ids(self) -> list[int]:
        """Ids of every client, in order."""
        with self._lock:
            return list(self._clients)


def seeded_service(count: int = SEEDED) -> ClientService:
    """A fresh service holding ``count`` clients, with ids 1..count."""
    service = ClientService()
    for i in range(1, count + 1):
        service.create(f"Seeded Client {i}", f"seeded{i}@example.com")
    return service
