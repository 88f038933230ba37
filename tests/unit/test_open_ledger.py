"""OpenLedger: every due iteration of an open-model run is started or dropped."""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

from pytest_loadtest._engine._driver import OpenLedger

if TYPE_CHECKING:
    from pytest_loadtest._engine._context import RunContext

NS = 1_000_000_000


def ledger(start_s: float = 10.0) -> OpenLedger:
    context = SimpleNamespace(start_ns=round(start_s * NS), window_ns=NS)
    return OpenLedger(cast("RunContext", context))


def test_drops_are_counted_by_the_window_they_were_due_in() -> None:
    book = ledger()
    for due_s in (10.2, 10.9, 12.5):
        book.drop(round(due_s * NS))
    book.scheduled = 7
    figures = book.figures()
    assert figures.dropped == 3
    assert figures.dropped_by_window == {0: 2, 2: 1}
    assert figures.scheduled == 7
    assert figures.corrected


def test_iterations_handed_over_but_never_begun_are_dropped_once() -> None:
    book = ledger()
    book.scheduled, book.peak = 5, 2
    book.unstarted.append(round(11.5 * NS))  # the run stopped before its user began it
    book.refused.append(round(10.1 * NS))  # its user's on_start failed
    figures = book.figures()
    assert (figures.scheduled, figures.dropped, figures.peak_active) == (5, 2, 2)
    assert figures.dropped_by_window == {0: 1, 1: 1}
    assert book.figures().dropped == 2  # asked again: nothing counted twice
