"""Live progress of a running load test: one status line, in place on a terminal or every N s.

:func:`format_progress` is a pure function of a :class:`ProgressSnapshot`. :class:`ProgressPrinter`
decides when to write it: ``live`` rewrites one line in place (``\\r``, padded over the previous
text) at most every ``live_interval`` seconds, ``line`` writes a plain line every ``interval``
seconds (CI logs, IDE consoles: no control characters), ``off`` writes nothing. The caller gives
the write callable (pytest's terminal writer) and, in tests, a fake clock.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import Final, Literal, TextIO, final, get_args

from pytest_loadtest._model._progress import Progress, ProgressSnapshot
from pytest_loadtest._model._units import format_latency_ms, format_rate
from pytest_loadtest._report._escape import LINE_LIMIT, one_line

__all__ = [
    "Progress",
    "ProgressMode",
    "ProgressPrinter",
    "ProgressSnapshot",
    "choose_progress_mode",
    "format_progress",
    "parse_progress_mode",
    "progress_factory",
    "real_stdout",
]

ProgressMode = Literal["live", "line", "off"]
MODES: Final[tuple[str, ...]] = get_args(ProgressMode)
#: Seconds between two plain lines in ``line`` mode.
LINE_INTERVAL: Final = 10.0
#: Least seconds between two in-place updates in ``live`` mode (a terminal redraw costs).
LIVE_INTERVAL: Final = 0.25
_UP: Final = "\x1b[1A"  # cursor up one line (live mode is for terminals)


def parse_progress_mode(value: object) -> ProgressMode:
    """``"live"``, ``"line"`` or ``"off"`` (any case); ``ValueError`` naming the choices."""
    text = str(value).strip().lower()
    for mode in get_args(ProgressMode):
        if text == mode:
            return mode  # type: ignore[no-any-return]
    raise ValueError(f"progress mode must be one of {', '.join(MODES)}, got {value!r}")


def choose_progress_mode(
    requested: ProgressMode | None, *, isatty: bool, verbosity: int
) -> ProgressMode:
    """The mode to use: ``requested`` when given, else ``off`` under ``-q`` (verbosity < 0),
    ``live`` on a terminal and ``line`` elsewhere."""
    if requested is not None:
        return requested
    if verbosity < 0:
        return "off"
    return "live" if isatty else "line"


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.0f}s" if value >= 10 else f"{value:.1f}s"
    minutes, seconds = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_progress(snapshot: ProgressSnapshot, *, width: int | None = None) -> str:
    """One status line, e.g.
    ``load test_a [create] 12s/30s 40% | users 50/50 | 1,234 calls/s | err 0.10% | p95 12.3ms``.

    With ``width`` the line is cut to at most ``width`` characters, from the name first, so
    that it never wraps (an in-place update of a wrapped line leaves garbage on the screen).
    """
    s = snapshot
    when = _seconds(max(s.elapsed, 0.0))
    if s.total is not None and s.total > 0:
        share = min(max(s.elapsed / s.total, 0.0), 1.0)
        when += f"/{_seconds(s.total)} {share:.0%}"
    parts = [when]
    users = f"users {s.active_users}" + (f"/{s.users}" if s.users is not None else "")
    parts.append(users)
    if s.calls is not None:
        done = f"{s.calls:,}" + (f"/{s.iterations_total:,}" if s.iterations_total else "")
        parts.append(f"{done} calls")
    rate = s.calls_per_s if math.isfinite(s.calls_per_s) else 0.0
    parts.append(f"{format_rate(rate)} calls/s")
    error_rate = s.error_rate if math.isfinite(s.error_rate) else 0.0
    parts.append(f"err {error_rate:.2%}")
    parts.append(f"p95 {format_latency_ms(s.p95_ms)}")
    body = " | ".join(parts)
    # a name with a newline would break the line, one with ESC could repaint the terminal
    name = one_line(" ".join(s.name.split()), LINE_LIMIT)
    line = f"load {name} {body}" if name else f"load {body}"
    if width is None or len(line) <= width:
        return line
    room = width - len(body) - len("load  ")
    if name and room >= 4:
        return f"load {name[: room - 1]}… {body}"
    return line[: max(width - 1, 0)] + "…" if width > 0 else ""


@final
class ProgressPrinter:
    """Writes progress lines through ``write`` according to ``mode``; thread-safe.

    Call :meth:`update` as often as convenient (it throttles itself) and :meth:`finish` when the
    run ends: in ``live`` mode it wipes the status line, so that what pytest prints next starts
    on a clean line.
    """

    def __init__(
        self,
        write: Callable[[str], object],
        mode: ProgressMode,
        *,
        interval: float = LINE_INTERVAL,
        live_interval: float = LIVE_INTERVAL,
        width: int | Callable[[], int] = 80,
        clock: Callable[[], float] = time.monotonic,
        label: str = "",
        back_up: bool = False,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"progress mode must be one of {', '.join(MODES)}, got {mode!r}")
        if interval <= 0 or live_interval < 0:
            raise ValueError("progress intervals must be positive")
        self.mode = mode
        self._write = write
        self._interval = interval
        self._live_interval = live_interval
        self._width = width
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._last: float | None = None
        self._shown = 0  # characters of the status line now on screen (live mode)
        self._label = label  # the test id, shown before the run's name
        # live mode: after wiping, go back up to the line the status line was opened below
        self._back_up = back_up

    def _columns(self) -> int:
        width = self._width() if callable(self._width) else self._width
        return max(width - 1, 10)  # the last column would make some terminals wrap

    def _due(self, now: float) -> bool:
        if self.mode == "off":
            return False
        if self.mode == "line":
            since = self._started if self._last is None else self._last
            return now - since >= self._interval
        return self._last is None or now - self._last >= self._live_interval

    def due(self) -> bool:
        """True when :meth:`update` would write now: callers need not build a snapshot
        otherwise (the engine's collector asks at every tick)."""
        with self._lock:
            return self._due(self._clock())

    def _named(self, snapshot: ProgressSnapshot) -> ProgressSnapshot:
        if not self._label:
            return snapshot
        name = f"{self._label} [{snapshot.name}]" if snapshot.name else self._label
        return dataclasses.replace(snapshot, name=name)

    def update(self, snapshot: ProgressSnapshot, *, force: bool = False) -> bool:
        """Show ``snapshot`` if it is time to (always with ``force``); True when written. In
        ``line`` mode a snapshot at or past the planned end is not progress (the run is over):
        a test no longer than the interval prints nothing."""
        if self.mode == "off":
            return False
        ended = snapshot.total is not None and snapshot.elapsed >= snapshot.total
        if self.mode == "line" and ended and not force:
            return False
        snapshot = self._named(snapshot)
        with self._lock:
            now = self._clock()
            if not force and not self._due(now):
                return False
            if self.mode == "line":
                self._write(format_progress(snapshot) + "\n")
            else:
                line = format_progress(snapshot, width=self._columns())
                padding = " " * max(self._shown - len(line), 0)
                self._write("\r" + line + padding)
                self._shown = len(line)
            self._last = now
            return True

    def finish(self, snapshot: ProgressSnapshot | None = None) -> None:
        """End of the run: wipe the live line; in ``line`` mode write ``snapshot`` if given."""
        with self._lock:
            if self.mode == "live" and self._shown:
                self._write("\r" + " " * self._shown + "\r" + (_UP if self._back_up else ""))
                self._shown = 0
            elif self.mode == "line" and snapshot is not None and self._last is not None:
                # only runs long enough to have printed a line get a closing one
                self._write(format_progress(self._named(snapshot)) + "\n")


def real_stdout() -> TextIO:
    """A stream of our own on the process's standard output as it is now (call it before
    pytest's fd-level capture starts for a test: writes to it are then never captured), or
    ``sys.stdout`` itself when that is not a file descriptor (an IDE's stream, pytester's)."""
    try:
        fd = os.dup(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        return sys.stdout
    return open(fd, "w", encoding="utf-8", errors="replace")  # closed by the caller


def progress_factory(
    stream: TextIO,
    mode: ProgressMode,
    interval: float = LINE_INTERVAL,
    *,
    label: str = "",
    on_write: Callable[[], object] | None = None,
) -> Callable[[], ProgressPrinter] | None:
    """A maker of one :class:`ProgressPrinter` per run, writing to ``stream``; ``None`` when
    ``mode`` is ``off``. ``label`` (the test id) heads each line; ``on_write`` is told of each
    write, so that pytest can start its next output on a line of its own.

    Progress starts on a line of its own: pytest has just written the test's name (or its file's
    dots). In ``live`` mode the status line is wiped at the end and the cursor goes back up, so
    that pytest's next line break lands on the wiped line, not below an empty one. In ``line``
    mode each line is written as a line break then the text, so that the cursor rests at the end
    of the last one, where pytest's next line break ends it."""
    if mode == "off":
        return None

    def make() -> ProgressPrinter:
        started = False

        def write(text: str) -> None:
            nonlocal started
            if mode == "line":
                text = "\n" + text.removesuffix("\n")
            elif not started:
                text = "\n" + text
            started = True
            stream.write(text)
            stream.flush()
            if on_write is not None:
                on_write()

        return ProgressPrinter(
            write,
            mode,
            interval=interval,
            width=lambda: shutil.get_terminal_size().columns,
            label=one_line(label, LINE_LIMIT),
            back_up=True,  # the status line was opened with a line break: pytest's resumes
        )

    return make
