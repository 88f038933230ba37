"""Known starting data: a small seed for every test, and a large one for the volume tests.

Rows get explicit ids (1..n), so tests know which ids exist without asking; on PostgreSQL the id
sequences are moved past them afterwards.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, insert, text
from sqlalchemy.schema import AddConstraint, DropConstraint

from .database import Database
from .models import Base, Client, Project, User
from .security import ITERATIONS, hash_password
from .services import COUNTRIES, STATUSES, TIERS

__all__ = ["PASSWORD", "Seeded", "seed", "seed_volume"]

#: The password of every seeded user.
PASSWORD: Final = "correct horse battery staple"
_WORDS: Final = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka")
_CREATED: Final = datetime(2024, 1, 1, 9, 0, 0)
_CHUNK: Final = 50_000
_COLUMNS: Final = "id, client_id, name, status, budget, created_at"


@dataclass(frozen=True)
class Seeded:
    """What a seed put in the database."""

    clients: int  # ids 1..clients
    projects: int  # ids 1..projects
    users: int  # user0@example.com ... with PASSWORD
    budget_total: int  # sum of every project's budget
    password: str = PASSWORD

    @property
    def client_ids(self) -> range:
        """Ids of the seeded clients."""
        return range(1, self.clients + 1)

    @staticmethod
    def user_email(n: int) -> str:
        """Email of seeded user ``n`` (0-based)."""
        return f"user{n}@example.com"

    @staticmethod
    def client_name(client_id: int) -> str:
        """Name of seeded client ``client_id``."""
        return f"{_WORDS[client_id % len(_WORDS)]} Ltd {client_id}"


def _client_rows(count: int) -> list[dict[str, object]]:
    return [
        {
            "id": i,
            "name": Seeded.client_name(i),
            "email": f"client{i}@example.com",
            "tier": TIERS[i % len(TIERS)],
            "country": COUNTRIES[i % len(COUNTRIES)],
            "version": 1,
            "created_at": _CREATED,
        }
        for i in range(1, count + 1)
    ]


def _budget(project_id: int) -> int:
    return (project_id * 7_919) % 1_000_000  # spread over 0..999,999 cents, deterministic


def seed(
    database: Database,
    *,
    clients: int = 200,
    projects_per_client: int = 3,
    users: int = 50,
    password_iterations: int = ITERATIONS,
    seed: int = 2024,
) -> Seeded:
    """Fill an empty database: ``clients`` clients with ``projects_per_client`` projects each,
    and ``users`` users (``user0@example.com``...) whose password is :data:`PASSWORD`."""
    rng = random.Random(seed)
    projects = [
        {
            "id": (c - 1) * projects_per_client + k + 1,
            "client_id": c,
            "name": f"Project {k + 1} of client {c}",
            "status": STATUSES[(c + k) % len(STATUSES)],
            "budget": _budget((c - 1) * projects_per_client + k + 1),
            "created_at": _CREATED,
        }
        for c in range(1, clients + 1)
        for k in range(projects_per_client)
    ]
    accounts = [
        {
            "id": n + 1,
            "email": Seeded.user_email(n),
            "name": f"User {n}",
            "password_hash": hash_password(
                PASSWORD, salt=rng.randbytes(16), iterations=password_iterations
            ),
            "created_at": _CREATED,
        }
        for n in range(users)
    ]
    with database.engine.begin() as connection:
        for model, rows in ((Client, _client_rows(clients)), (Project, projects), (User, accounts)):
            if rows:
                connection.execute(insert(model), rows)
        _advance_sequences(database, connection)
    budget = sum(_budget(i) for i in range(1, len(projects) + 1))
    return Seeded(clients, len(projects), users, budget)


def _project_rows(start: int, stop: int, clients: int) -> list[tuple[int, int, str, str, int, str]]:
    created = _CREATED.isoformat(sep=" ")
    return [
        (i, i % clients + 1, f"Project {i}", STATUSES[i % 3], _budget(i), created)
        for i in range(start, stop)
    ]


def seed_volume(database: Database, rows: int, *, per_client: int = 100) -> Seeded:
    """Fill an empty database with ``rows`` projects over ``rows / per_client`` clients, fast.

    As PostgreSQL's "Populating a Database" advises: the projects' indexes and foreign key are
    dropped, the rows loaded (COPY on PostgreSQL, executemany in chunks on SQLite), then the
    indexes rebuilt and the foreign key checked once for all rows. No users are seeded.
    """
    clients = max(1, rows // per_client)
    table = Base.metadata.tables["projects"]
    foreign_key = next(iter(table.foreign_key_constraints))
    postgresql = database.dialect == "postgresql"
    with database.engine.begin() as connection:
        connection.execute(insert(Client), _client_rows(clients))
        for index in table.indexes:
            index.drop(connection)
        if postgresql:
            connection.execute(DropConstraint(foreign_key))
    raw = database.engine.raw_connection()
    try:
        (_copy if postgresql else _executemany)(raw.driver_connection, rows, clients)
    finally:
        raw.close()
    with database.engine.begin() as connection:
        for index in table.indexes:
            index.create(connection)
        if postgresql:
            connection.execute(AddConstraint(foreign_key))  # validates every row, in one pass
        else:
            orphan = connection.exec_driver_sql("PRAGMA foreign_key_check(projects)").first()
            assert orphan is None, f"volume seed left a project without its client: {orphan}"
        _advance_sequences(database, connection)
    with database.engine.connect() as connection:  # fresh statistics for the query planner
        # by name: a bare ANALYZE on PostgreSQL visits every schema, other test processes' too
        for name in ("clients", "projects"):
            connection.exec_driver_sql(f"ANALYZE {name}")
        connection.commit()
    return Seeded(clients, rows, 0, sum(_budget(i) for i in range(1, rows + 1)))


def _copy(driver: Any, rows: int, clients: int) -> None:
    """PostgreSQL: COPY the projects in from text, one write per chunk."""
    statement = f"COPY projects ({_COLUMNS}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for start in range(1, rows + 1, _CHUNK):
            chunk = _project_rows(start, min(start + _CHUNK, rows + 1), clients)
            copy.write("".join([f"{i}\t{c}\t{n}\t{s}\t{b}\t{t}\n" for i, c, n, s, b, t in chunk]))
    driver.commit()


def _executemany(driver: Any, rows: int, clients: int) -> None:
    """SQLite: one executemany per chunk, in one transaction, foreign keys checked afterwards."""
    statement = f"INSERT INTO projects ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
    cursor = driver.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: first
        cursor.execute("BEGIN")
        for start in range(1, rows + 1, _CHUNK):
            cursor.executemany(
                statement, _project_rows(start, min(start + _CHUNK, rows + 1), clients)
            )
        cursor.execute("COMMIT")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _advance_sequences(database: Database, connection: Connection) -> None:
    if database.dialect != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY continues after the largest id by itself
    for table in ("clients", "projects", "users"):
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        )
