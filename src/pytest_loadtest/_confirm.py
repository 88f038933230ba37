"""``confirm``: a load test that failed on an SLA breach runs again, whole (set-up, body,
teardown: fresh fixtures), up to ``confirm`` more times; only its last attempt is reported, and
its results carry the earlier ones. Plain code over the pytest objects ``plugin.py`` passes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["run_attempts"]


def run_attempts(
    item: Any,
    nextitem: Any,
    confirm: int,
    protocol: Callable[..., list[Any]],
    earlier: list[list[dict[str, Any]]],
    breached: Callable[[], list[dict[str, Any]] | None],
) -> bool:
    """Run ``item`` through pytest's ``protocol`` until an attempt does not fail on a breach
    (``breached()`` takes the breach an attempt left, or None) or ``confirm`` more attempts ran;
    each failed attempt's runs go to ``earlier``. Reports the last attempt."""
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    while True:
        reports = protocol(item, nextitem=nextitem, log=False)
        found = breached()
        if found is None or len(earlier) >= confirm:
            break
        earlier.append(found)
    for report in reports:
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True
