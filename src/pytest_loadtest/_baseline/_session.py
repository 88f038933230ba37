"""A session's baseline work, as the plugin drives it: options in, messages out.

The plugin builds one :class:`BaselineSession` at start-up from ``--load-save``,
``--load-autosave``, ``--load-save-failed``, ``--load-compare``, ``--load-compare-fail`` and
``--load-compare-history``;
asks :meth:`BaselineSession.test_failure` after each load test (so a regression fails the test it
belongs to, on whichever xdist worker ran it); and calls :meth:`BaselineSession.finish` once on
the controller with every result of the session, for the comparison table and the save.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_loadtest._baseline._benchmark_compat import autosave_name
from pytest_loadtest._baseline._checks import RegressionCheck, parse_checks
from pytest_loadtest._baseline._compare import Comparison, compare
from pytest_loadtest._baseline._history import DEFAULT_HISTORY, HistoryRuns, read_history
from pytest_loadtest._baseline._metadata import RunMetadata
from pytest_loadtest._baseline._storage import Baseline, BaselineError, load_run, save_run

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult

__all__ = ["BaselineSession"]


@dataclass
class BaselineSession:
    """What a session saves and compares with."""

    storage: Path
    machine: str
    save_name: str | None = None
    save_failed: bool = False
    baseline: Baseline | None = None
    checks: tuple[RegressionCheck, ...] = ()
    saved: Path | None = field(default=None, init=False)
    #: saved runs a check's history looks back over (0: none; see _history)
    history: int = DEFAULT_HISTORY
    _history_runs: HistoryRuns | None = field(default=None, init=False, repr=False)
    #: why the baseline asked for could not be compared with (``--load-compare`` alone)
    problem: str = ""

    @classmethod
    def create(
        cls,
        *,
        storage: Path,
        machine: str,
        save: str | None,
        autosave: bool,
        save_failed: bool,
        compare_with: str | None,
        compare_fail: str | None,
        history: int = DEFAULT_HISTORY,
    ) -> BaselineSession | None:
        """A session, or ``None`` when no option asks for one. ``compare_with`` is ``""`` for a
        bare ``--load-compare`` (the latest run). Raises ``CheckSpecError`` (a bad
        ``--load-compare-fail``) and, with checks to make, ``BaselineError`` (the baseline cannot
        be read: no check could be made, so the session must not run green). Without checks, an
        unreadable baseline is only a comparison lost: the session goes on, and says why."""
        checks = parse_checks(compare_fail) if compare_fail else ()
        if checks and compare_with is None:
            compare_with = ""  # checks need a baseline: the latest, as pytest-benchmark does
        if save is None and not autosave and compare_with is None:
            return None
        baseline = None
        problem = ""
        if compare_with is not None:
            try:
                baseline = load_run(storage, machine, compare_with or None)
            except BaselineError as exc:
                if checks:
                    raise
                problem = str(exc)
        name = save if save is not None else (autosave_name() if autosave else None)
        return cls(
            storage, machine, name, save_failed, baseline, checks, problem=problem, history=history
        )

    def compare(self, results: Sequence[LoadResult]) -> Comparison | None:
        """The comparison of ``results`` with the baseline (``None`` without one)."""
        if self.baseline is None:
            return None
        runs = [r for r in results if r.probe is None]
        return compare(self.baseline, runs, self.checks, history=self._history())

    def _history(self) -> HistoryRuns | None:
        """The saved runs checks are judged against, read once (none without checks)."""
        if self.baseline is None or not self.checks or not self.history:
            return None
        if self._history_runs is None:
            self._history_runs = read_history(
                self.storage, self.machine, self.baseline, self.history
            )
        return self._history_runs

    def regressions(self, test_id: str, results: Sequence[LoadResult]) -> list[str]:
        """The message of each regression of this test (none without checks)."""
        comparison = self.compare(results) if self.checks else None
        if comparison is None:
            return []
        return [check.message() for check in comparison.failures_for(test_id)]

    def test_failure(self, test_id: str, results: Sequence[LoadResult]) -> str:
        """The regression message that fails this test, or ``""``."""
        if not self.checks:
            return ""
        comparison = self.compare(results)
        return comparison.failure_message(test_id) if comparison is not None else ""

    def finish(self, results: Sequence[LoadResult], *, failed: bool) -> list[str]:
        """Compare and save at the end of the session; the lines to print."""
        lines: list[str] = []
        if self.problem:
            lines.append(f"not compared with a baseline: --load-compare: {self.problem}")
        comparison = self.compare(results)
        if comparison is not None:
            lines += comparison.lines()
        if self.save_name is not None and results:
            try:
                self.saved = save_run(
                    self.storage,
                    self.machine,
                    self.save_name,
                    results,
                    RunMetadata.collect(self.machine, passed=not failed),
                    failed=failed,
                    save_failed=self.save_failed,
                )
            except BaselineError as exc:
                lines.append(f"load results not saved: {exc}")
            else:
                if self.saved is not None:
                    lines.append(f"load results saved: {self.saved}")
                else:
                    lines.append(
                        "load results not saved: the session failed, and a failed run must not "
                        "become the next baseline (--load-save-failed saves it anyway)"
                    )
        return lines
