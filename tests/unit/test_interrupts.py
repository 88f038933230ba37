"""A Ctrl-C whose traceback has an entry without a line still prints (CPython 3.11+)."""

from __future__ import annotations

import contextlib
import sys
import types
from typing import cast

from pytest_loadtest._engine._interrupts import readable_traceback


def _finished_frame() -> types.FrameType:
    with contextlib.nullcontext():
        pass
    return sys._getframe()


def _lineless_entry(tb_next: types.TracebackType | None = None) -> types.TracebackType:
    """An entry as a signal leaves it on an instruction that has no line (a ``with`` cleanup)."""
    frame = _finished_frame()
    lasti = next(start for start, _, line in frame.f_code.co_lines() if line is None)
    return types.TracebackType(tb_next, frame, lasti, -1)


def _entries(tb: types.TracebackType | None) -> list[types.TracebackType]:
    found = []
    while tb is not None:
        found.append(tb)
        tb = tb.tb_next
    return found


def test_an_entry_without_a_line_gets_one_and_the_chain_keeps_its_frames() -> None:
    inner = _lineless_entry()
    assert cast("int | None", inner.tb_lineno) is None
    outer = types.TracebackType(inner, sys._getframe(), 0, 7)
    fixed = _entries(readable_traceback(outer))
    assert [entry.tb_frame for entry in fixed] == [outer.tb_frame, inner.tb_frame]
    assert fixed[0].tb_lineno == 7
    line = fixed[1].tb_lineno
    code = inner.tb_frame.f_code
    assert isinstance(line, int)
    assert code.co_firstlineno <= line <= max(n for _, _, n in code.co_lines() if n is not None)


def test_a_chain_with_every_line_comes_back_as_it_is() -> None:
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as exc:
        tb = exc.__traceback__
    assert readable_traceback(tb) is tb
    assert readable_traceback(None) is None
