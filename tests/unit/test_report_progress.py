"""Live progress: the status line, and when each mode writes it (driven by a fake clock)."""

from __future__ import annotations

import io
import math
from typing import Any

import pytest

from pytest_loadtest._model._progress import ProgressSnapshot
from pytest_loadtest._report._progress import (
    ProgressMode,
    ProgressPrinter,
    choose_progress_mode,
    format_progress,
    parse_progress_mode,
    progress_factory,
)

from helpers.clock import FakeClock


def snap(elapsed: float = 12.0, **changes: Any) -> ProgressSnapshot:
    values: dict[str, object] = {
        "elapsed": elapsed,
        "total": 30.0,
        "active_users": 50,
        "calls_per_s": 1234.4,
        "error_rate": 0.001,
        "p95_ms": 12.34,
        "name": "test_a [create]",
        "users": 50,
    }
    values.update(changes)
    return ProgressSnapshot(**values)  # type: ignore[arg-type]


def test_format_progress_full_line() -> None:
    assert format_progress(snap()) == (
        "load test_a [create] 12s/30s 40% | users 50/50 | 1,234 calls/s | err 0.10% | p95 12.3ms"
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"elapsed": 0.5}, "0.5s/30s 2%"),
        ({"elapsed": 95.0, "total": 600.0}, "1m35s/10m00s 16%"),
        ({"elapsed": 3725.0, "total": None}, "1h02m |"),
        ({"elapsed": 40.0}, "40s/30s 100%"),
        ({"users": None, "active_users": 3}, "| users 3 |"),
        ({"calls": 1500, "iterations_total": 10_000}, "| 1,500/10,000 calls |"),
        ({"calls": 1500}, "| 1,500 calls |"),
        ({"p95_ms": math.nan}, "p95 -"),
        ({"p95_ms": 0.25}, "p95 250µs"),
        ({"error_rate": 0.5}, "err 50.00%"),
        ({"calls_per_s": math.nan}, "0.00 calls/s"),
        ({"name": ""}, "load 12s/30s"),
        ({"name": "a\nb"}, "load a b 12s"),
    ],
)
def test_format_progress_parts(changes: dict[str, Any], expected: str) -> None:
    assert expected in format_progress(snap(**changes))


@pytest.mark.parametrize("width", [40, 60, 79, 80, 200])
def test_format_progress_never_exceeds_the_width(width: int) -> None:
    line = format_progress(
        snap(name="tests/a/very/long/path.py::test_something[param-" + "x" * 80), width=width
    )
    assert len(line) <= width
    if 79 <= width < 200:
        assert line.endswith("p95 12.3ms")  # the name is cut first
        assert "…" in line
    elif width == 200:
        assert "…" not in line


@pytest.mark.parametrize(("text", "mode"), [("live", "live"), (" LINE ", "line"), ("off", "off")])
def test_parse_progress_mode(text: str, mode: str) -> None:
    assert parse_progress_mode(text) == mode


def test_parse_progress_mode_rejects_others() -> None:
    with pytest.raises(ValueError, match="live, line, off"):
        parse_progress_mode("auto")


@pytest.mark.parametrize(
    ("requested", "isatty", "verbosity", "expected"),
    [
        (None, True, 0, "live"),
        (None, False, 0, "line"),
        (None, True, -1, "off"),  # -q: nothing unless asked
        ("line", True, -1, "line"),
        ("off", True, 2, "off"),
        ("live", False, 0, "live"),
    ],
)
def test_choose_progress_mode(
    requested: str | None, isatty: bool, verbosity: int, expected: str
) -> None:
    assert choose_progress_mode(requested, isatty=isatty, verbosity=verbosity) == expected  # type: ignore[arg-type]


def test_off_writes_nothing() -> None:
    out: list[str] = []
    clock = FakeClock(start=100.0)
    printer = ProgressPrinter(out.append, "off", clock=clock)
    for step in range(100):
        clock.now += 1
        assert not printer.update(snap(step))
    printer.finish(snap())
    assert out == []


def test_line_writes_a_plain_line_every_interval() -> None:
    out: list[str] = []
    clock = FakeClock(start=100.0)
    printer = ProgressPrinter(out.append, "line", interval=10.0, clock=clock)
    written = []
    for tenth in range(1, 251):  # 25 s in steps of 0.1 s
        clock.now = 100.0 + tenth / 10
        if printer.update(snap(tenth / 10)):
            written.append(round(clock.now - 100.0, 1))
    assert written == [10.0, 20.0]
    assert all(line.endswith("\n") and "\r" not in line for line in out)
    assert out[0] == format_progress(snap(10.0)) + "\n"


def test_line_prints_nothing_for_a_short_run_and_a_closing_line_for_a_long_one() -> None:
    out: list[str] = []
    clock = FakeClock(start=100.0)
    short = ProgressPrinter(out.append, "line", clock=clock)
    clock.now += 3
    short.update(snap(3))
    short.finish(snap(3))
    assert out == []
    long = ProgressPrinter(out.append, "line", clock=clock)
    clock.now += 11
    long.update(snap(11))
    long.finish(snap(30.0))
    assert len(out) == 2
    assert "30s/30s 100%" in out[1]


def test_line_force_writes_at_once() -> None:
    out: list[str] = []
    printer = ProgressPrinter(out.append, "line", clock=FakeClock(start=100.0))
    assert printer.update(snap(), force=True)
    assert len(out) == 1


def test_live_rewrites_one_line_in_place_and_throttles() -> None:
    out: list[str] = []
    clock = FakeClock(start=100.0)
    printer = ProgressPrinter(out.append, "live", live_interval=0.25, width=120, clock=clock)
    assert printer.update(snap(1.0, name="a much longer name than later"))
    clock.now += 0.1
    assert not printer.update(snap(1.1))  # too soon
    clock.now += 0.2
    assert printer.update(snap(1.3, name="short"))
    assert len(out) == 2
    assert all(chunk.startswith("\r") and "\n" not in chunk for chunk in out)
    # the shorter line is padded over what the longer one left on screen
    assert len(out[1]) == len(out[0])
    assert out[1].rstrip(" ") == "\r" + format_progress(snap(1.3, name="short"))


def test_live_finish_wipes_the_line() -> None:
    out: list[str] = []
    clock = FakeClock(start=100.0)
    printer = ProgressPrinter(out.append, "live", clock=clock)
    printer.update(snap())
    shown = len(out[0]) - 1
    printer.finish(snap())
    assert out[-1] == "\r" + " " * shown + "\r"
    printer.finish()  # nothing left to wipe
    assert len(out) == 2


def test_live_fits_the_terminal_width() -> None:
    out: list[str] = []
    widths = iter([60, 100])
    printer = ProgressPrinter(
        out.append,
        "live",
        live_interval=0,
        width=lambda: next(widths),
        clock=FakeClock(start=100.0),
    )
    printer.update(snap(name="n" * 200))
    printer.update(snap(name="n" * 200))
    assert len(out[0]) - 1 <= 59
    assert len(out[1].rstrip()) - 1 <= 99


@pytest.mark.parametrize(
    ("mode", "kwargs"), [("loud", {}), ("line", {"interval": 0}), ("live", {"live_interval": -1})]
)
def test_bad_printer_arguments(mode: str, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="progress"):
        ProgressPrinter(print, mode, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["line", "live", "off"])
def test_due_says_whether_update_would_write(mode: ProgressMode) -> None:
    out: list[str] = []
    clock = FakeClock(start=100.0)
    printer = ProgressPrinter(out.append, mode, interval=10.0, live_interval=0.25, clock=clock)
    answers = []
    for tenth in range(1, 151):  # 15 s in steps of 0.1 s, as the engine's collector ticks
        clock.now = 100.0 + tenth / 10
        due = printer.due()
        answers.append(due)
        assert printer.update(snap()) is due
    # a line at 10 s; live at least 0.25 s apart, so every third 0.1 s tick
    expected = {"line": 1, "live": 50, "off": 0}[mode]
    assert sum(answers) == pytest.approx(expected, abs=1)


def test_line_mode_shows_nothing_at_the_planned_end() -> None:
    """A 10s run with a 10s interval: the snapshot due at 10.0s is the end, not progress."""
    out: list[str] = []
    clock = FakeClock(start=100.0)
    printer = ProgressPrinter(out.append, "line", interval=10.0, clock=clock)
    clock.now += 10.0
    assert not printer.update(snap(10.0, total=10.0))
    printer.finish(snap(10.0, total=10.0))
    assert out == []


def test_lines_are_headed_by_the_test_id() -> None:
    out: list[str] = []
    printer = ProgressPrinter(
        out.append, "line", clock=FakeClock(start=100.0), label="tests/t.py::test_spike"
    )
    printer.update(snap(name="spike"), force=True)
    assert out[0].startswith("load tests/t.py::test_spike [spike] 12s/30s 40% | users 50/50")


def test_factory_starts_each_line_on_a_line_of_its_own() -> None:
    stream = io.StringIO()
    told: list[bool] = []
    make = progress_factory(
        stream, "line", 10.0, label="t.py::test_x", on_write=lambda: told.append(True)
    )
    assert make is not None
    printer = make()
    printer.update(snap(name="x"), force=True)
    printer.update(snap(name="x"), force=True)
    text = stream.getvalue()
    assert text.startswith("\nload t.py::test_x [x] ")
    assert text.count("\n") == 2
    assert not text.endswith("\n")  # pytest's next line break ends the last one
    assert told == [True, True]


def test_factory_live_wipes_and_goes_back_up() -> None:
    stream = io.StringIO()
    make = progress_factory(stream, "live", label="t.py::test_x")
    assert make is not None
    printer = make()
    printer.update(snap(name="x"), force=True)
    printer.finish()
    text = stream.getvalue()
    assert text.startswith("\n\rload t.py::")
    # wiped, then up to the line pytest was writing: its next line break lands on the wiped one
    assert text.endswith("\r\x1b[1A")
    assert text.count("\n") == 1
