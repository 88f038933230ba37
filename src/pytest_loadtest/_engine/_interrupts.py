"""Ctrl-C while a run stops: noted, not raised, so that what was measured is never lost.

The first Ctrl-C interrupts a run wherever the main thread is (starting users, waiting for the
end); the engine then stops the users and builds the result. A second Ctrl-C during that shutdown
(it takes up to ``stop_timeout``) used to land in the middle of folding or building and lose
everything: :func:`deferred_interrupts` turns it into a flag the shutdown reads (and gives up
waiting for users), and the interrupt is raised by the runner once the result is kept.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType
from typing import cast

__all__ = ["deferred_interrupts", "readable_traceback", "shield_interrupts"]


@contextlib.contextmanager
def deferred_interrupts(on_interrupt: Callable[[], None]) -> Iterator[None]:
    """While inside, SIGINT calls ``on_interrupt`` instead of raising ``KeyboardInterrupt``.

    Only the main thread can set signal handlers; elsewhere (or where SIGINT's handler is not
    Python's) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:  # someone else's handler (or ignored): keep it
        yield
        return

    def note(signum: int, frame: FrameType | None) -> None:
        on_interrupt()

    try:
        signal.signal(signal.SIGINT, note)
    except (ValueError, OSError):  # pragma: no cover - not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def shield_interrupts(spare: int = 2) -> Callable[[], None]:
    """After a Ctrl-C stopped a run, the session is ending (summary, report): let the next
    ``spare`` SIGINTs pass without raising, so that an impatient second Ctrl-C does not cut the
    summary and the report short; one more than that raises as usual. Returns the function that
    puts the previous handler back (nothing to undo outside the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        return lambda: None
    seen = [0]

    def patient(signum: int, frame: FrameType | None) -> None:
        seen[0] += 1
        if seen[0] > spare:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGINT, patient)
    except (ValueError, OSError):  # pragma: no cover - not the main interpreter
        return lambda: None

    def restore() -> None:
        if signal.getsignal(signal.SIGINT) is patient:
            signal.signal(signal.SIGINT, previous)

    return restore


def readable_traceback(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` with a line number on every entry.

    A signal can land on an instruction that has no line (CPython 3.11 onwards); that entry's
    ``tb_lineno`` is then ``None``, and pytest fails while it prints the ``KeyboardInterrupt``
    (``TypeError`` in ``_pytest._code.code``), exiting 1 instead of 2. Such an entry gets the
    frame's current line (or the first line of its code) in a rebuilt chain; a chain without one
    comes back as it is."""
    entries: list[TracebackType] = []
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    if all(_line(entry) is not None for entry in entries):
        return entries[0] if entries else None
    rebuilt: TracebackType | None = None
    for entry in reversed(entries):
        line = _line(entry)
        if line is None:
            line = entry.tb_frame.f_lineno or entry.tb_frame.f_code.co_firstlineno
        rebuilt = TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, line)
    return rebuilt


def _line(entry: TracebackType) -> int | None:
    """``tb_lineno``, which typeshed types as ``int`` but CPython 3.11+ can give as ``None``."""
    return cast("int | None", entry.tb_lineno)
