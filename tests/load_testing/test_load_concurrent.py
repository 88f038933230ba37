"""Many users at once: whole workflows, form submissions, live sessions, a login spike.

pytest -m load tests/load_testing/test_load_concurrent.py
"""

from __future__ import annotations

import pytest

from pytest_loadtest import LoadRunner

from .actions import Workload, bind, scenario
from .checks import check_integrity, check_settled, successes
from .conftest import MakeWorkload, peak_users

WORKFLOW_STEPS = ("login", "browse", "create", "update", "logout")


@pytest.mark.load(
    users=50,
    duration="5s",
    ramp_up="1s",
    # People read a page before the next visit; without a pause, 50 threads would simply queue
    # for the one interpreter (a visit costs 10-20ms of CPU, see docs/example-suite.md).
    think_time="1s..2s",
    sla={
        "p95": "2s",
        "p99": "5s",
        "error_rate": "1%",
        "throughput_min": 15,  # whole visits per second: five steps and eleven queries each
        "operations": {step: {"p95": "1s"} for step in WORKFLOW_STEPS},
    },
)
def test_50_users_workflow(load_runner: LoadRunner, workload: Workload) -> None:
    """50 users each log in, browse, create a client, update it and log out, again and again."""
    result = load_runner.run(bind(workload, "workflow"))
    check_settled(result)  # before anything reads the ledger

    ops = result.operations
    assert {ops[step].parent for step in WORKFLOW_STEPS} == {"workflow"}
    assert ops["login"].total >= ops["logout"].total  # a visit stops at its first failing step
    assert len(workload.ledger.created_clients) == successes(result, "create")
    assert len(workload.ledger.updated_clients) == successes(result, "update")
    # clients, versions, and sessions: open ones only where a visit broke
    check_integrity(workload, result)


@pytest.mark.load(
    users=100,
    iterations=300,
    duration="60s",
    sla={"p95": "2s", "p99": "5s", "error_rate": 0, "throughput_min": 100},
)
def test_100_simultaneous_form_submissions(load_runner: LoadRunner, workload: Workload) -> None:
    """100 users submit the signup form (a client and three projects, one transaction) at once."""
    result = load_runner.run(bind(workload, "submit_form"))
    check_settled(result)  # before anything reads the ledger

    assert len(workload.ledger.created_clients) == successes(result)
    check_integrity(workload, result)  # each submission: exactly one client and its three projects
    counts = workload.app.status()
    assert counts.clients == workload.seeded.clients + successes(result)
    assert counts.projects == workload.seeded.projects + 3 * successes(result)


@pytest.mark.load(
    users=200,
    # 200 logins over 4s (over 2s, logins queued for the interpreter: p95 2.1-2.5s on
    # PostgreSQL here, base code and this alike), and 4s more for the status page to see every
    # session live (with 5s in all it often came too late)
    duration="8s",
    ramp_up="4s",
    think_time="1s..3s",  # logged in, but reading: about 100 requests/s from 200 sessions
    sla={
        "p95": "2s",
        "p99": "5s",
        "error_rate": "1%",
        # browse 2s: 200 users on SQLite reached p95 2.00s against 1s once in CI (issue 16)
        "operations": {"login": {"p95": "2s", "error_rate": 0}, "browse": {"p95": "2s"}},
    },
)
def test_200_active_sessions(load_runner: LoadRunner, make_workload: MakeWorkload) -> None:
    """200 users log in, stay logged in while browsing, and log out at the end."""
    # an account for each user (200, or as many as --load-users gives)
    workload = make_workload(users=max(200, peak_users(load_runner.settings())))
    sessions = scenario(
        workload,
        "200 sessions",
        {"browse": 4, "search": 2, "status": 1},
        on_start=["login"],
        on_stop=["logout"],
    )

    result = load_runner.run(sessions)
    check_settled(result)  # before anything reads the ledger

    ledger = workload.ledger
    assert result.operations["login"].total == result.users
    assert len(set(ledger.opened_sessions)) == result.users, "each user has a session of its own"
    # the status page saw every session live at once (users log out only when the run ends)
    assert max(ledger.sessions_seen) == result.users
    check_integrity(workload, result)  # and every session is closed again
    assert workload.app.auth.active_sessions() == 0


@pytest.mark.load(
    # 500 logins from 100 clients at once, as fast as the service takes them (each: a PBKDF2
    # hash and a session row). With 500 threads the wait was for the interpreter and the 30
    # pooled connections rather than for the service: p95 1.4-2.0s on PostgreSQL here.
    users=100,
    iterations=500,
    duration="60s",
    ramp_up="1s",
    sla={"p95": "2s", "p99": "5s", "error_rate": 0},
)
def test_authentication_spike_500_logins(
    load_runner: LoadRunner, make_workload: MakeWorkload
) -> None:
    """A burst of 500 logins by 100 clients started within one second."""
    workload = make_workload(users=500)

    result = load_runner.run(bind(workload, "login"))
    check_settled(result)  # before anything reads the ledger

    ledger = workload.ledger
    assert len(ledger.opened_sessions) == successes(result) == result.total
    check_integrity(workload, result)  # a session for each login, all still open
    for token in ledger.opened_sessions[::50]:
        workload.app.auth.authenticate(token)  # and they work
