"""What users of the example service do, one plain function per action.

Every action is ``action(workload, vu)``: the :class:`Workload` (the app, what was seeded, and a
:class:`Ledger` of what the service told its callers) and the virtual user, whose ``state`` keeps
its session token and the clients it created. :func:`bind` makes targets of the virtual user
alone, by action name, for ``load_runner.run`` or a scenario file::

    load_runner.run(bind(workload, "browse", "search"))        # a mapping: equal weights
    load_runner.run(scenario(workload, "desk", {"browse": 6, "create": 1}, on_start=["login"]))

Actions that change data need a logged-in user and log in first when the user has not; reading
actions check the session when there is one (each request of a web app does) and work
anonymously otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from pytest_loadtest import Scenario, VirtualUser

from .app import COUNTRIES, STATUSES, TIERS, App, NewProject, NotFoundError, Seeded

__all__ = [
    "ACTIONS",
    "Action",
    "Ledger",
    "Workload",
    "add_project",
    "bind",
    "browse",
    "create",
    "delete",
    "filter_clients",
    "health_check",
    "login",
    "logout",
    "paginate",
    "scenario",
    "search",
    "status",
    "submit_form",
    "update",
    "workflow",
]

_SEARCH_TERMS: Final = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne")


@dataclass
class Ledger:
    """What the service told its callers, appended to by the actions (``list.append`` is atomic).

    It is the truth that :func:`~.checks.check_integrity` holds the database against: a write
    the service reported as done must be in the database, and nothing else may be.
    """

    created_clients: list[int] = field(default_factory=list)
    created_projects: list[int] = field(default_factory=list)
    bulk_projects: list[int] = field(default_factory=list)  # rows of each bulk import
    updated_clients: list[int] = field(default_factory=list)  # one entry per update
    deleted_clients: list[int] = field(default_factory=list)
    opened_sessions: list[str] = field(default_factory=list)
    closed_sessions: list[str] = field(default_factory=list)
    sessions_seen: list[int] = field(default_factory=list)  # what each status call reported
    deadlocks: list[int] = field(default_factory=list)  # per budget transfer


@dataclass
class Workload:
    """Everything the actions work with: the app, its seed, the ledger, the clients to delete."""

    app: App
    seeded: Seeded
    ledger: Ledger = field(default_factory=Ledger)
    #: Seeded clients that :func:`delete` removes, one per call (popped from the end).
    doomed: list[int] = field(default_factory=list)
    #: Seeded clients that no action deletes: all but the doomed ones.
    stable_clients: range = field(init=False)

    def __post_init__(self) -> None:
        # fixed now: ``doomed`` shrinks as clients are deleted, the stable ones stay the same
        self.stable_clients = range(1, self.seeded.clients + 1)
        if self.doomed:
            self.stable_clients = range(1, min(self.doomed))
            assert max(self.doomed) == self.seeded.clients, "doomed: the highest seeded ids"


Action = Callable[[Workload, VirtualUser], None]


def _token(w: Workload, vu: VirtualUser) -> str:
    """The user's session token, logging in first if needed; checks the session."""
    if "token" not in vu.state:
        login(w, vu)
    token: str = vu.state["token"]
    w.app.auth.authenticate(token)
    return token


def _check_session(w: Workload, vu: VirtualUser) -> None:
    token = vu.state.get("token")
    if token is not None:
        w.app.auth.authenticate(token)


def login(w: Workload, vu: VirtualUser) -> None:
    """Log in as seeded user ``vu.id`` (modulo the users seeded) and keep the token."""
    email = w.seeded.user_email(vu.id % w.seeded.users)
    token = w.app.auth.login(email, w.seeded.password)
    w.ledger.opened_sessions.append(token)
    vu.state["token"] = token


def logout(w: Workload, vu: VirtualUser) -> None:
    """End the user's session, if it has one."""
    token = vu.state.pop("token", None)
    if token is not None:
        w.app.auth.logout(token)
        w.ledger.closed_sessions.append(token)


def browse(w: Workload, vu: VirtualUser) -> None:
    """Open a random page of clients, then one client of it and its projects."""
    _check_session(w, vu)
    pages = max(1, w.seeded.clients // 20)
    page = w.app.clients.list_page(vu.random.randint(1, pages), 20)
    if not page.items:
        return
    try:
        client = w.app.clients.get(vu.random.choice(page.items).id)
    except NotFoundError:
        return  # deleted since the page was read: the user sees "not found", as they should
    w.app.projects.of_client(client.id)


def search(w: Workload, vu: VirtualUser) -> None:
    """Search clients by a company name."""
    _check_session(w, vu)
    w.app.clients.search(vu.random.choice(_SEARCH_TERMS))


def filter_clients(w: Workload, vu: VirtualUser) -> None:
    """List the clients of one tier in one country."""
    _check_session(w, vu)
    w.app.clients.list_page(
        1, 20, tier=vu.random.choice(TIERS), country=vu.random.choice(COUNTRIES)
    )


def paginate(w: Workload, vu: VirtualUser) -> None:
    """Walk three consecutive pages of clients, as someone clicking "next" does."""
    _check_session(w, vu)
    first = vu.random.randint(1, max(1, w.seeded.clients // 20 - 2))
    for number in range(first, first + 3):
        if not w.app.clients.list_page(number, 20).items:
            break


def create(w: Workload, vu: VirtualUser) -> None:
    """Create a client (logged in); it becomes one of the user's own."""
    _token(w, vu)
    client = w.app.clients.create(
        f"New client {vu.id}-{vu.iteration}",
        f"new.{uuid.uuid4().hex}@example.com",
        tier=vu.random.choice(TIERS),
        country=vu.random.choice(COUNTRIES),
    )
    w.ledger.created_clients.append(client.id)
    vu.state.setdefault("mine", []).append(client.id)


def update(w: Workload, vu: VirtualUser) -> None:
    """Rename one of the user's own clients, or a seeded one when it has none (logged in)."""
    _token(w, vu)
    mine: list[int] = vu.state.get("mine", [])
    client_id = vu.random.choice(mine) if mine else vu.random.choice(w.stable_clients)
    w.app.clients.update(client_id, name=f"Renamed by {vu.id} at {vu.iteration}")
    w.ledger.updated_clients.append(client_id)


def delete(w: Workload, vu: VirtualUser) -> None:
    """Delete the next doomed client, and with it its projects (logged in)."""
    _token(w, vu)
    try:
        client_id = w.doomed.pop()
    except IndexError:
        raise LookupError("no doomed client left to delete: seed more (doomed=...)") from None
    w.app.clients.delete(client_id)
    w.ledger.deleted_clients.append(client_id)


def add_project(w: Workload, vu: VirtualUser) -> None:
    """Add a project to a client that is not being deleted (logged in)."""
    _token(w, vu)
    project = w.app.projects.add(
        vu.random.choice(w.stable_clients),
        NewProject(f"Project by {vu.id}", vu.random.randrange(100_000), vu.random.choice(STATUSES)),
    )
    w.ledger.created_projects.append(project.id)


def submit_form(w: Workload, vu: VirtualUser) -> None:
    """The public signup form: a new client and its first three projects, in one transaction."""
    projects = [NewProject(f"Starter project {k}", 10_000 * k) for k in range(1, 4)]
    client = w.app.clients.create(
        f"Signup {vu.id}-{vu.iteration}",
        f"signup.{uuid.uuid4().hex}@example.com",
        tier=vu.random.choice(TIERS),
        country=vu.random.choice(COUNTRIES),
        projects=projects,
    )
    w.ledger.created_clients.append(client.id)
    w.ledger.bulk_projects.append(len(projects))


def health_check(w: Workload, vu: VirtualUser) -> None:
    """What a load balancer asks every few seconds."""
    if not w.app.health():
        raise RuntimeError("health check failed")


def status(w: Workload, vu: VirtualUser) -> None:
    """The status page: rows per table; records the live sessions it saw."""
    w.ledger.sessions_seen.append(w.app.status().sessions)


def workflow(w: Workload, vu: VirtualUser) -> None:
    """A whole visit, each part timed as a step: login, browse, create, update, logout."""
    with vu.step("login"):
        login(w, vu)
    with vu.step("browse"):
        browse(w, vu)
    with vu.step("create"):
        create(w, vu)
    with vu.step("update"):
        update(w, vu)
    with vu.step("logout"):
        logout(w, vu)


#: Every action by name: what scenario files refer to.
ACTIONS: Final[Mapping[str, Action]] = {
    "login": login,
    "logout": logout,
    "browse": browse,
    "search": search,
    "filter": filter_clients,
    "paginate": paginate,
    "create": create,
    "update": update,
    "delete": delete,
    "add_project": add_project,
    "submit_form": submit_form,
    "health_check": health_check,
    "status": status,
    "workflow": workflow,
}


def _bound(workload: Workload, name: str) -> Callable[[VirtualUser], None]:
    try:
        action = ACTIONS[name]
    except KeyError:
        raise KeyError(f"no action {name!r}; the actions are {', '.join(ACTIONS)}") from None

    def target(vu: VirtualUser) -> None:
        action(workload, vu)

    target.__name__ = target.__qualname__ = name  # the operation's name in the results
    return target


def bind(workload: Workload, *names: str) -> dict[str, Callable[[VirtualUser], None]]:
    """Targets of the virtual user alone for the named actions (all of them by default)."""
    return {name: _bound(workload, name) for name in names or ACTIONS}


def scenario(
    workload: Workload,
    name: str,
    weights: Mapping[str, float],
    *,
    on_start: Iterable[str] = (),
    on_stop: Iterable[str] = (),
) -> Scenario:
    """A :class:`Scenario` of named actions with weights, and actions run once per user."""
    built = Scenario(name)
    for action, weight in weights.items():
        built.task(weight=weight, name=action)(_bound(workload, action))
    for action in on_start:
        built.on_start(_bound(workload, action))
    for action in on_stop:
        built.on_stop(_bound(workload, action))
    return built
