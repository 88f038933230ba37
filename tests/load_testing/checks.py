"""Data integrity checks run after a load: a load test that loses data must fail."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pytest_loadtest import LoadResult

from .actions import Workload

__all__ = ["check_integrity", "check_settled", "successes"]


def successes(result: LoadResult, operation: str | None = None) -> int:
    """Calls that did not raise: of the whole target, or of one operation (task or step)."""
    if operation is None:
        return result.total - result.errors
    op = result.operations[operation]
    return op.total - op.errors


def _some(ids: Iterable[object], limit: int = 5) -> str:
    listed = sorted(ids, key=str)
    more = f" and {len(listed) - limit} more" if len(listed) > limit else ""
    return ", ".join(map(str, listed[:limit])) + more


def check_settled(result: LoadResult) -> None:
    """Fail, naming them, when calls were still running after ``stop_timeout``: they may still
    write, so neither the database nor the ledger can be compared with what the calls reported
    yet, and what that would report (sessions "missing", clients "not created") is not the
    cause. Call it right after the run, before anything reads the ledger."""
    if result.hung:
        calls = sum(result.hung.values())
        listed = ", ".join(f"{name} x{count}" for name, count in sorted(result.hung.items()))
        raise AssertionError(
            f"data integrity not checked: {calls} calls were still running when the run gave up "
            f"waiting for them (stop_timeout): {listed}. They may still write, so the database "
            "cannot be compared with what the calls reported; the service is too slow for this "
            "load (see the SLA breach in the load test results)."
        )


def check_integrity(w: Workload, result: LoadResult | None = None) -> None:
    """The database holds exactly what the service told its callers.

    - every client reported as created exists, every one reported as deleted does not, no other
      client appeared or disappeared, and there are as many as the calls say;
    - every client's version went up by exactly its successful updates (no lost update);
    - projects: none without its client (the cascade ran), and as many as were seeded, added and
      imported, less those of deleted clients;
    - sessions: exactly those opened and not closed.

    Given the run's ``result``, calls still running after ``stop_timeout`` fail the check first
    (:func:`check_settled`).
    """
    if result is not None:
        check_settled(result)
    ledger, audit, seeded = w.ledger, w.app.audit, w.seeded
    problems: list[str] = []

    versions = audit.client_versions()
    deleted = set(ledger.deleted_clients)
    expected = (set(seeded.client_ids) | set(ledger.created_clients)) - deleted
    if missing := expected - versions.keys():
        problems.append(
            f"{len(missing)} clients the service reported as created (or that nobody deleted) "
            f"are missing from the database: ids {_some(missing)}"
        )
    expected_count = seeded.clients + len(ledger.created_clients) - len(ledger.deleted_clients)
    if len(versions) != expected_count:  # catches a lost write whose id was handed out again
        problems.append(
            f"{len(versions)} clients in the database, {expected_count} expected from the seed "
            "and the calls that succeeded"
        )
    if extra := versions.keys() - expected:
        problems.append(
            f"{len(extra)} clients are in the database that should not be (reported as deleted, "
            f"or never reported as created): ids {_some(extra)}"
        )

    lost = {
        client_id: (count, versions[client_id] - 1)
        for client_id, count in Counter(ledger.updated_clients).items()
        if client_id in versions and versions[client_id] - 1 != count
    }
    if lost:
        shown = _some(
            f"{cid}: {done} updates, version shows {seen}" for cid, (done, seen) in lost.items()
        )
        problems.append(f"{len(lost)} clients lost updates ({shown})")

    if orphans := audit.orphan_projects():
        problems.append(f"{orphans} projects have no client: a delete did not cascade")
    projects = audit.counts().projects
    per_client = seeded.projects // seeded.clients if seeded.clients else 0
    expected_projects = (
        seeded.projects
        + len(ledger.created_projects)
        + sum(ledger.bulk_projects)
        - per_client * len(deleted & set(seeded.client_ids))
    )
    if projects != expected_projects:
        problems.append(
            f"{projects} projects in the database, {expected_projects} expected from the seed "
            "and the calls that succeeded"
        )
    if ledger.created_projects and (gone := set(ledger.created_projects) - audit.project_ids()):
        problems.append(f"{len(gone)} projects reported as added are missing: ids {_some(gone)}")

    open_tokens = set(ledger.opened_sessions) - set(ledger.closed_sessions)
    tokens = audit.session_tokens()
    if tokens != open_tokens:
        problems.append(
            f"{len(tokens)} sessions in the database, {len(open_tokens)} expected "
            f"({len(open_tokens - tokens)} missing, {len(tokens - open_tokens)} not closed)"
        )

    assert not problems, "data integrity broken:\n  - " + "\n  - ".join(problems)
