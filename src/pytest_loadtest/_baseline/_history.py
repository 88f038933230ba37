"""Between-run noise from the history of saved runs (issue 16, point 7).

Sampling noise (:mod:`._noise`) is what the calls of one run vary by; it cannot see how much a
whole run moves from one moment to the next on a busy machine (50 threads contending for the
GIL give a p50 of 1.5 ms in one run and 20 ms in the next). Saved runs of the same machine are
samples of that spread. For each compared test and operation, the *history* is the figure of
each of the last ``limit`` saved runs numbered up to and including the baseline's that passed,
hold the same entry and ran with the same load settings, newest first. With at least
:data:`MIN_HISTORY` figures, a check is judged against them, robustly (a calm or a stormy run
among them moves neither figure much):

- the reference is their median;
- the between-run spread is 1.4826 x their median absolute deviation (the standard deviation,
  were they normal), at least :data:`SPREAD_FLOOR` of the median, so that identical figures do
  not make every change significant;
- a check fails when the current figure (allowing for a slower machine as before) is past its
  threshold relative to the median **and** more spreads worse than it than Student's t
  prediction bound for one new figure allows at the one-sided reach of 3 standard deviations
  (:func:`allowed_spreads`: 3 for a long history, more for a short one, whose spread is itself
  a rough guess). That bound holds all but 1 run in 741 for the mean and standard deviation of
  normal figures; the median and MAD scatter more, so an unchanged run of normal noise lies
  beyond it in about 1-2% of checks for 3-5 runs and 0.4-0.8% for 10-30
  (``benchmarks/history_bound.py``), and confirmation asks for that twice. The spread of whole
  runs includes their sampling noise, so this test replaces the sampling one for that check.

The error rate keeps its two-proportion test against the baseline: a healthy history is all
zeros, where no spread can be estimated, and errors are counts the proportion test models well.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any, Final, final

from pytest_loadtest._baseline._checks import RegressionCheck
from pytest_loadtest._baseline._entry import Entry
from pytest_loadtest._baseline._storage import Baseline, BaselineError, _read, saved_runs
from pytest_loadtest._model._tdist import t_quantile
from pytest_loadtest._settings._parsers import DEFAULT_HISTORY

__all__ = [
    "DEFAULT_HISTORY",
    "MIN_HISTORY",
    "History",
    "HistoryRuns",
    "allowed_spreads",
    "read_history",
]

#: Fewest figures a history needs before a check is judged against it.
MIN_HISTORY: Final = 3
#: The coverage the t bound is taken at: the one-sided reach of 3 standard deviations of a
#: normal figure (all but 1 in 741; for the median and MAD, see the module's docstring).
COVERAGE: Final = NormalDist().cdf(3.0)
#: 1.4826 x MAD estimates the standard deviation of normal figures.
MAD_SCALE: Final = 1.4826
#: The least spread, as a fraction of the median.
SPREAD_FLOOR: Final = 0.01
#: Saved runs read at most, per run of history wanted (failed runs and other tests' files).
SCAN_FACTOR: Final = 3
#: Metrics judged against the baseline alone (see the module's docstring).
WITHOUT_HISTORY: Final = frozenset({"error_rate"})

#: What reading a corrupt file may raise past the storage's own checks.
_UNREADABLE: Final = (BaselineError, OSError, ValueError, TypeError, KeyError, RecursionError)


def allowed_spreads(runs: int) -> float:
    """How many spreads beyond the median of ``runs`` figures a run of unchanged code may lie:
    Student's t prediction bound for one new figure at :data:`COVERAGE`,
    ``t(COVERAGE, runs - 1) x sqrt(1 + 1 / runs)``. 3 spreads of a long history are not 3 of
    a short one, whose spread is itself a rough guess: 22.2 for 3 runs, 7.3 for 5, 4.3 for 10,
    3.3 for 30."""
    return t_quantile(COVERAGE, runs - 1) * math.sqrt(1.0 + 1.0 / runs)


@final
@dataclass(frozen=True, slots=True)
class History:
    """One metric of one test and operation over earlier saved runs, newest first.

    ``values`` in the metric's unit (ms, calls/s); ``labels`` name their runs (``0004_main``);
    ``baseline`` is the label of the baseline compared with.
    """

    values: tuple[float, ...]
    labels: tuple[str, ...]
    baseline: str

    @property
    def reference(self) -> float:
        """The median of the figures."""
        return statistics.median(self.values)

    @property
    def spread(self) -> float:
        """1.4826 x the median absolute deviation, at least :data:`SPREAD_FLOOR` of the median."""
        median = self.reference
        mad = statistics.median(abs(value - median) for value in self.values)
        return max(MAD_SCALE * mad, SPREAD_FLOOR * abs(median))

    def spreads(self, check: RegressionCheck, judged: float) -> float:
        """How many spreads ``judged`` is worse than the median (negative: better)."""
        median = self.reference
        worse = median - judged if check.definition.higher_is_better else judged - median
        spread = self.spread
        if spread > 0:
            return worse / spread
        return 0.0 if worse == 0 else math.copysign(math.inf, worse)

    def past(self, check: RegressionCheck, judged: float) -> bool:
        """Past the threshold relative to the median."""
        return check.exceeded(self.reference, judged)

    @property
    def allowed(self) -> float:
        """How many spreads a run of unchanged code may lie beyond the median
        (:func:`allowed_spreads` of the history's length)."""
        return allowed_spreads(len(self.values))

    def regressed(self, check: RegressionCheck, judged: float) -> bool:
        """Past the threshold relative to the median and more than :attr:`allowed` spreads
        beyond it."""
        return self.past(check, judged) and self.spreads(check, judged) > self.allowed

    def against(self, check: RegressionCheck, baseline: float) -> str:
        """``median of the last 6 runs 20.2ms (between-run spread 0.9ms; baseline 0006_main
        20.4ms)``: what the figure is compared with."""
        value = check.format_value
        return (
            f"median of the last {len(self.values)} runs {value(self.reference)} "
            f"(between-run spread {value(self.spread)}; baseline {self.baseline} {value(baseline)})"
        )

    def verdict(self, check: RegressionCheck, judged: float, baseline: float) -> str:
        """The end of a check's message: the threshold, and where the figure lies in the
        history's spread."""
        threshold = check.threshold_text()
        spreads = self.spreads(check, judged)
        if self.regressed(check, judged):
            return (
                f"past the threshold {threshold} and more than {self.allowed:.1f} spreads "
                f"beyond the history ({spreads:+.1f} spreads)"
            )
        if self.past(check, judged):
            return (
                f"past the threshold {threshold} but within the history's between-run noise "
                f"({spreads:+.1f} spreads, noise within {self.allowed:.1f} for "
                f"{len(self.values)} runs{self.visible(check)})"
            )
        if check.exceeded(baseline, judged):
            return (
                f"within the threshold {threshold} of the history's median, though past it "
                f"against baseline {self.baseline} alone "
                f"({check.change_text(baseline, judged)}): between-run noise"
            )
        return f"within the threshold {threshold}"

    def visible(self, check: RegressionCheck) -> str:
        """``: only a change beyond +239% of the median stands out from it``: the smallest change
        this history can flag, so that a team sees a check too noisy to catch what it is for
        (``""`` for a median of 0)."""
        median = self.reference
        if median == 0 or not math.isfinite(median):
            return ""
        share = self.allowed * self.spread / abs(median) * 100
        if check.definition.higher_is_better:
            if share >= 100:
                return ": no fall stands out from it"
            return f": only a fall beyond -{share:.0f}% of the median stands out from it"
        return f": only a change beyond +{share:.0f}% of the median stands out from it"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "runs": list(self.labels),
            "values": list(self.values),
            "median": self.reference,
            "spread": self.spread,
            "allowed_spreads": self.allowed,
        }


@final
@dataclass(eq=False)
class HistoryRuns:
    """The saved runs a comparison's histories come from: readable, passed, newest first."""

    runs: Sequence[Baseline] = ()
    limit: int = DEFAULT_HISTORY
    #: one line per saved run that could not be read (left out)
    warnings: list[str] = field(default_factory=list)

    def entries(self, current: Entry) -> list[tuple[str, Entry]]:
        """The last :attr:`limit` saved entries of ``current``'s test and operation run with
        its load settings, newest first, with their runs' labels."""
        found: list[tuple[str, Entry]] = []
        for run in self.runs:
            if len(found) >= self.limit:
                break
            old = run.entries.get(current.key)
            if old is not None and old.load == current.load:
                found.append((run.label, old))
        return found

    def of(self, metric: str, current: Entry, baseline: str) -> History | None:
        """The history of ``metric`` of ``current``'s test and operation, or ``None`` when it
        has fewer than :data:`MIN_HISTORY` figures (or the metric is judged without one)."""
        if metric in WITHOUT_HISTORY or self.limit < MIN_HISTORY:
            return None
        pairs = [(label, entry.value(metric)) for label, entry in self.entries(current)]
        pairs = [(label, value) for label, value in pairs if math.isfinite(value)]
        if len(pairs) < MIN_HISTORY:
            return None
        return History(tuple(v for _, v in pairs), tuple(label for label, _ in pairs), baseline)


def _in_folder(path: Path, folder: Path) -> bool:
    try:
        return os.path.samefile(path.parent, folder)
    except OSError:
        return False


def read_history(storage: Path, machine: str, baseline: Baseline, limit: int) -> HistoryRuns:
    """The runs of ``machine`` a history may come from: numbered up to and including
    ``baseline``'s, newest first, that passed and hold load results; at most
    ``limit x SCAN_FACTOR`` files are read. A file that cannot be read is left out with a
    warning naming it: history never stops a comparison. None when ``limit`` is below
    :data:`MIN_HISTORY`, or the baseline is a file outside the machine's folder (no place in
    its history)."""
    history = HistoryRuns(limit=limit)
    folder = storage / machine
    if limit < MIN_HISTORY or baseline.number is None or not _in_folder(baseline.path, folder):
        return history
    try:
        found = saved_runs(storage, machine)
    except BaselineError as exc:
        history.warnings.append(f"no history of earlier runs: {exc}")
        return history
    earlier = [run for run in reversed(found) if run.number <= baseline.number]
    runs: list[Baseline] = []
    for run in earlier[: limit * SCAN_FACTOR]:
        if run.path.name == baseline.path.name:
            read = baseline
        else:
            try:
                read = _read(run.path, run.number)
            except _UNREADABLE as exc:
                reason = exc.reason if isinstance(exc, BaselineError) else repr(exc)
                history.warnings.append(f"saved run {run.path} left out of the history: {reason}")
                continue
        if read.entries and read.metadata.passed:
            runs.append(read)
    history.runs = tuple(runs)
    return history
