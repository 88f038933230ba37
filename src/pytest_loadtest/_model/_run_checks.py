"""The checks every run gets, SLA or not: it made calls, none hung, nothing stopped it early, no
abort, no failed per-user hook, and (``processes=N``) no worker process was lost."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from pytest_loadtest._model._sla import Breach

if TYPE_CHECKING:
    from pytest_loadtest._model._abort import Abort
    from pytest_loadtest._model._sla import SLA
    from pytest_loadtest._model._timeline import ErrorSample


class _Operation(Protocol):
    name: str
    kind: str
    errors: int
    errors_by_type: dict[str, ErrorSample]

    @property
    def total(self) -> int: ...


class LoadResult(Protocol):
    """What these checks read of a :class:`~pytest_loadtest._model._result.LoadResult`."""

    hung: dict[str, int]
    stopped_by: str | None
    aborted: Abort | None
    settings: dict[str, Any]
    duration: float
    sla: SLA | None
    workers: list[dict[str, Any]]

    @property
    def total(self) -> int: ...

    @property
    def operations(self) -> Mapping[str, _Operation]: ...


__all__ = ["run_breaches"]


def run_breaches(result: LoadResult) -> list[Breach]:
    """The breaches of ``result`` that need no SLA."""
    breaches: list[Breach] = []
    if result.total == 0:
        breaches.append(
            Breach(
                "calls", None, 0.0, 1.0, "no call of the target completed in the measured period"
            )
        )
    if result.hung:
        listed = ", ".join(f"{name} x{count}" for name, count in sorted(result.hung.items()))
        breaches.append(
            Breach(
                "hung",
                None,
                float(sum(result.hung.values())),
                0.0,
                "calls still running after stop_timeout (left out of the statistics): " + listed,
            )
        )
    if result.stopped_by:
        breaches.append(
            Breach(
                "stopped",
                None,
                math.nan,
                0.0,
                f"the run was stopped early by {result.stopped_by}; figures cover what was "
                "measured before",
            )
        )
    if result.aborted is not None:
        duration = float(result.settings.get("duration", result.duration))
        breaches.append(
            Breach(
                "aborted",
                None,
                result.aborted.at,
                result.aborted.grace,
                result.aborted.message(duration),
            )
        )
    breaches.extend(_hook_breaches(result))
    breaches.extend(_lost_workers(result))
    return breaches


def _hook_breaches(result: LoadResult) -> list[Breach]:
    """A failed ``on_start``/``on_stop`` hook fails the run (a user whose ``on_start`` fails
    never runs: its failure hides from the tasks' error rate), unless the SLA gives that hook
    targets of its own, which then judge it."""
    own = result.sla.operations() if result.sla is not None else set()
    breaches = []
    for op in result.operations.values():
        if op.kind != "hook" or not op.errors or op.name in own:
            continue
        first = next(iter(op.errors_by_type.values()), None)
        why = f"; first: {first.type_name}: {first.message}" if first is not None else ""
        breaches.append(
            Breach(
                "hook_errors",
                op.name,
                float(op.errors),
                0.0,
                f"hook {op.name!r} failed {op.errors:,} of {op.total:,} times{why} (a user "
                "whose on_start fails does not run; an error_rate target for the hook under "
                "the SLA's operations tolerates some)",
            )
        )
    return breaches


def _lost_workers(result: LoadResult) -> list[Breach]:
    """A worker process lost during the run (killed, crashed, silent): its share of the load
    stopped then, so the run was not the load asked for."""
    breaches = []
    for worker in result.workers:
        lost = worker.get("lost")
        if not lost:
            continue
        breaches.append(
            Breach(
                "worker_lost",
                None,
                float(worker.get("lost_at") or math.nan),
                0.0,
                f"worker {worker.get('worker')} ({worker.get('place', '?')}, pid "
                f"{worker.get('pid', '?')}) was lost {lost}; the figures cover what it sent "
                "until then",
            )
        )
    return breaches
