"""What the plugin writes through pytest's terminal reporter (passed in; pytest is not imported
here): the "load test results" section, and a new line after live progress."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult

__all__ = ["attach", "leave_progress_line", "write_summary"]


def leave_progress_line(reporter: Any, report: Any) -> None:
    """Progress lines were written since pytest's current line: make pytest's terminal
    ``reporter`` (if any) start a new one before it writes ``report``'s outcome."""
    if reporter is None:
        return
    # pytest's own marker of "the line I am writing": None makes it start a new line headed by
    # the file again (with -v: by the test id, when it writes the outcome); without -v the
    # outcome's letter follows at once, so head it now
    reporter.currentfspath = None
    if reporter.verbosity <= 0 and reporter.showfspath:
        reporter.write_fspath_result(report.nodeid, "")
    elif reporter.verbosity < 0:  # -q: dots without a file, on a line of their own
        reporter.write("\n")


def write_summary(reporter: Any, state: Any) -> None:
    """The "load test results" section (and "load test baseline") of a session's ``state``."""
    from pytest_loadtest._report._seeds import seed_lines
    from pytest_loadtest._report._terminal import summary_lines
    from pytest_loadtest._report._workers import overlap_lines, worker_lines

    reporter.section("load test results")
    table = summary_lines(
        state.results,
        no_sla=state.no_sla,
        width=reporter.config.get_terminal_writer().fullwidth,
        verbose=reporter.config.get_verbosity(),
    )
    workers = [*worker_lines(state.results), *overlap_lines(state.results)]
    lines = [*table, *workers, *seed_lines(state.results)]
    for line in [*lines, *state.report_lines()]:
        reporter.write_line(line)
    if state.report_problem:
        reporter.write_line(state.report_problem, red=True)
    if state.baseline_lines:
        reporter.section("load test baseline")
        for line in state.baseline_lines:
            reporter.write_line(line)


def attach(
    properties: list[tuple[str, object]],
    results: Sequence[LoadResult],
    earlier: list[list[dict[str, Any]]],
) -> None:
    """A test's results as its user properties (junit XML), each with the runs of its earlier
    attempts (``confirm``)."""
    from pytest_loadtest._report._terminal import user_property

    for i, result in enumerate(results):
        result.attempts = [attempt[i] for attempt in earlier if i < len(attempt)]
    properties.extend(user_property(r) for r in results)
