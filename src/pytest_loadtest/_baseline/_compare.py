"""Compare a run with a saved baseline: rows of old/new/change, check verdicts, warnings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, final

from pytest_loadtest._baseline._checks import RegressionCheck
from pytest_loadtest._baseline._entry import Entry, EntryKey, entries_from_results
from pytest_loadtest._baseline._history import History, HistoryRuns
from pytest_loadtest._baseline._metadata import RunMetadata
from pytest_loadtest._baseline._noise import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MIN_CALLS,
    LOW_SAMPLE,
    Noise,
    judge,
)
from pytest_loadtest._baseline._rows import REPORTED, Delta, Row, table_lines
from pytest_loadtest._baseline._storage import Baseline
from pytest_loadtest._model._metrics import FLOOR_PERCENTILES
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._model._text import operation_label

__all__ = ["REPORTED", "CheckResult", "Comparison", "Delta", "Row", "compare"]


@final
@dataclass(frozen=True, slots=True)
class CheckResult:
    """One regression check applied to one test and operation."""

    key: EntryKey
    check: RegressionCheck
    baseline: float
    current: float
    noise: Noise
    kind: str = "task"  # of the operation: "task", "step" or "hook" (see operation_label)
    #: how many times slower the machine ran than at the baseline (>= 1; see speed_allowance)
    allowance: float = 1.0
    #: the test and operation's figures in earlier saved runs (see _history): when set, the
    #: check is judged against their median and spread instead of the baseline's interval
    history: History | None = None

    @property
    def reference(self) -> float:
        """What the current figure is compared with: the history's median, or the baseline."""
        return self.history.reference if self.history is not None else self.baseline

    @property
    def judged(self) -> float:
        """The current figure as checked: a latency divided (a throughput multiplied) by the
        :attr:`allowance`; the error rate as it is."""
        definition = self.check.definition
        if self.allowance <= 1 or definition.is_fraction:
            return self.current
        if definition.higher_is_better:
            return self.current * self.allowance
        return self.current / self.allowance

    @property
    def exceeded(self) -> bool:
        """The change is past the threshold (noise aside), against the baseline or the history."""
        return self.check.exceeded(self.baseline, self.judged) or (
            self.history is not None and self.history.past(self.check, self.judged)
        )

    @property
    def failed(self) -> bool:
        """Past the threshold and beyond noise: sampling noise, or with a history, more than 3
        between-run spreads beyond its median."""
        if self.history is not None:
            regressed = self.history.regressed(self.check, self.judged)
            return regressed and self.noise.verdict != LOW_SAMPLE
        return self.exceeded and self.noise.significant is True

    @property
    def status(self) -> str:
        """``FAIL``, ``within noise`` (past the threshold only), ``low sample`` or ``pass``."""
        if self.noise.verdict == LOW_SAMPLE:
            return LOW_SAMPLE
        if self.exceeded:
            return "FAIL" if self.failed else "within noise"
        return "pass"

    @property
    def _reference_text(self) -> str:
        if self.check.metric in FLOOR_PERCENTILES:
            return "the reference workload's least CPU time"
        return "reference workload"

    def message(self) -> str:
        """Test, operation, metric, baseline, current, threshold, and the noise verdict."""
        key, check = self.key, self.check
        where = _where(key, self.kind)
        history = self.history
        against = f"baseline {check.format_value(self.baseline)}"
        if history is not None:
            against = history.against(check, self.baseline)
        head = (
            f"{key.test_id} [{key.run}]: {check.metric} of {where} was "
            f"{check.format_value(self.current)}, {against} "
            f"({check.change_text(self.reference, self.current)}), "
        )
        if self.judged != self.current:
            head += (
                f"{check.format_value(self.judged)} allowing for a machine "
                f"{self.allowance:.2f}x slower than at the baseline ({self._reference_text}), "
            )
        if self.status == LOW_SAMPLE:
            return head + f"not checked: {self.noise.detail}"
        if history is not None:
            return head + history.verdict(check, self.judged, self.baseline)
        if not self.exceeded:
            return head + f"within the threshold {check.threshold_text()}"
        noise = "and beyond" if self.failed else "but within"
        return head + (
            f"past the threshold {check.threshold_text()} {noise} sampling noise "
            f"({self.noise.detail})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for reports and junitxml properties)."""
        return {
            "test_id": self.key.test_id,
            "run": self.key.run,
            "operation": self.key.operation,
            "check": str(self.check),
            "metric": self.check.metric,
            "baseline": self.baseline,
            "current": self.current,
            "allowance": self.allowance,
            "threshold": self.check.threshold,
            "status": self.status,
            "noise": self.noise.detail,
            "judged_against": "baseline" if self.history is None else "history",
            "history": None if self.history is None else self.history.to_dict(),
            "message": self.message(),
        }


@final
@dataclass(eq=False)
class Comparison:
    """The outcome of :func:`compare`."""

    baseline: Baseline
    rows: list[Row]
    checks: list[CheckResult]
    warnings: list[str] = field(default_factory=list)
    new: list[EntryKey] = field(default_factory=list)  # measured now, absent from the baseline
    confidence: float = DEFAULT_CONFIDENCE

    @property
    def failures(self) -> list[CheckResult]:
        """Checks past their threshold and beyond noise, in row order."""
        return [result for result in self.checks if result.failed]

    def failures_for(self, test_id: str) -> list[CheckResult]:
        """The failed checks of one test (to fail that test)."""
        return [result for result in self.failures if result.key.test_id == test_id]

    def failure_message(self, test_id: str) -> str:
        """One message listing every regression of ``test_id`` (``""`` when none)."""
        failures = self.failures_for(test_id)
        if not failures:
            return ""
        head = f"performance regressed against baseline {self.baseline.label}:"
        return "\n".join([head, *(f"  - {result.message()}" for result in failures)])

    def lines(self) -> list[str]:
        """The terminal section: a table of every row, then regressions, then warnings."""
        return render_lines(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "baseline": {"path": str(self.baseline.path), "label": self.baseline.label},
            "rows": [
                {
                    "test_id": row.key.test_id,
                    "run": row.key.run,
                    "operation": row.key.operation,
                    "kind": row.kind,
                    "baseline_calls": row.baseline_calls,
                    "current_calls": row.current_calls,
                    **{
                        d.metric: {
                            "baseline": d.baseline,
                            "current": d.current,
                            "change": d.change,
                            "noise": d.noise.verdict,
                        }
                        for d in row.deltas
                    },
                }
                for row in self.rows
            ],
            "checks": [result.to_dict() for result in self.checks],
            "warnings": list(self.warnings),
            "new": [key.label() for key in self.new],
        }


def _load_changes(baseline: Entry, current: Entry) -> str:
    changed = [
        f"{key} {baseline.load.get(key)!r} -> {current.load.get(key)!r}"
        for key in sorted(set(baseline.load) | set(current.load))
        if baseline.load.get(key) != current.load.get(key)
    ]
    return ", ".join(changed)


def compare(
    baseline: Baseline,
    results: Iterable[LoadResult] | Iterable[Entry],
    checks: Sequence[RegressionCheck] = (),
    *,
    metadata: RunMetadata | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    min_calls: int = DEFAULT_MIN_CALLS,
    history: HistoryRuns | None = None,
) -> Comparison:
    """Compare current ``results`` with ``baseline``, test by test and operation by operation.

    ``checks`` apply to every matched test and operation; ``metadata`` describes the current run
    (default: this process) to flag a machine or Python change; a metric is tested for noise at
    ``confidence`` once each run has ``min_calls`` (more for high percentiles); ``history``:
    earlier saved runs, against which a check is judged once they hold 3 figures of it.
    """
    items = list(results)
    current = [item for item in items if isinstance(item, Entry)]
    current += entries_from_results(item for item in items if isinstance(item, LoadResult))
    now = metadata if metadata is not None else RunMetadata.collect(baseline.metadata.machine_id)
    comparison = Comparison(baseline, [], [], confidence=confidence)
    setup = baseline.metadata.differences(now)
    if setup:
        comparison.warnings.append(
            f"baseline {baseline.label} was measured on another setup ({'; '.join(setup)}): "
            "differences may come from that rather than from the code"
        )
    settings_noted: set[tuple[str, str]] = set()
    for entry in current:
        old = baseline.entries.get(entry.key)
        if old is None:
            comparison.new.append(entry.key)
            continue

        def noise(metric: str, old: Entry = old, entry: Entry = entry) -> Noise:
            return judge(metric, old, entry, confidence=confidence, min_calls=min_calls)

        deltas = tuple(
            Delta(metric, old.value(metric), entry.value(metric), noise(metric))
            for metric in REPORTED
        )
        comparison.rows.append(Row(entry.key, entry.kind, old.total, entry.total, deltas))
        known = {d.metric: d.noise for d in deltas}
        allowance = speed_allowance(old, entry)
        cpu_allowance = speed_allowance(old, entry, cpu=True)
        past = history.of if history is not None else None
        for check in checks:
            verdict = known.get(check.metric) or noise(check.metric)
            comparison.checks.append(
                CheckResult(
                    entry.key,
                    check,
                    old.value(check.metric),
                    entry.value(check.metric),
                    verdict,
                    entry.kind,
                    cpu_allowance if check.metric in FLOOR_PERCENTILES else allowance,
                    past(check.metric, entry, baseline.label) if past is not None else None,
                )
            )
        changes = _load_changes(old, entry)
        run = (entry.key.test_id, entry.key.run)
        if allowance > 1 and entry.key.operation is None:
            comparison.warnings.append(
                f"{entry.key.test_id} [{entry.key.run}]: the machine ran {allowance:.2f}x slower "
                f"than at the baseline (reference workload {old.reference_ms:.3g}ms -> "
                f"{entry.reference_ms:.3g}ms): the checks allow for it"
            )
        if changes and run not in settings_noted:
            settings_noted.add(run)
            comparison.warnings.append(
                f"{entry.key.test_id} [{entry.key.run}]: load settings differ from the "
                f"baseline ({changes}): the figures are not like for like"
            )
    comparison.warnings.extend(_low_sample_warnings(comparison.checks))
    comparison.warnings.extend(history.warnings if history is not None else ())
    return comparison


def speed_allowance(baseline: Entry, current: Entry, *, cpu: bool = False) -> float:
    """How many times slower the machine ran for ``current`` than for ``baseline``, by their
    reference times (``cpu``: by the reference workload's least CPU times, which is what slows
    the fastest calls, that did not queue and met the CPU at its best); 1 when it ran less
    than :data:`MIN_ALLOWANCE` times slower (the probe's own spread), faster, or either is
    unknown (never stricter)."""
    old, new = (
        (baseline.reference_cpu_ms, current.reference_cpu_ms)
        if cpu
        else (baseline.reference_ms, current.reference_ms)
    )
    if not old or not new:
        return 1.0
    ratio = new / old
    return ratio if ratio >= MIN_ALLOWANCE else 1.0


#: The least slowdown (reference time ratio) allowed for: below it, the probe's own spread.
MIN_ALLOWANCE: Final = 1.1


def _where(key: EntryKey, kind: str) -> str:
    """``operation login (hook)``, as the comparison table names it, or ``all operations``."""
    if key.operation is None:
        return "all operations"
    return f"operation {operation_label(key.operation, kind)}"


def _low_sample_warnings(checks: Sequence[CheckResult]) -> list[str]:
    """One line per test and operation whose checks rested on too few calls."""
    by_key: dict[EntryKey, list[CheckResult]] = {}
    for result in checks:
        if result.status == LOW_SAMPLE:
            by_key.setdefault(result.key, []).append(result)
    lines = []
    for key, results in by_key.items():
        if len(results) == 1:
            lines.append(f"low sample: {results[0].message()}")
            continue
        where = _where(key, results[0].kind)
        metrics = ", ".join(str(result.check) for result in results)
        lines.append(
            f"low sample: {key.test_id} [{key.run}]: {metrics} of {where} not checked: "
            + "; ".join(result.noise.detail for result in results)
        )
    return lines


_HISTORY_NOTE: Final = (
    "; checks with 3 or more earlier runs are judged against their median and between-run spread"
)


def render_lines(comparison: Comparison) -> list[str]:
    """Lines for the terminal (see :meth:`Comparison.lines`)."""
    baseline = comparison.baseline
    described = baseline.metadata.describe()
    lines = [
        f"compared with baseline {baseline.label}"
        + (f" ({described})" if described else "")
        + f": baseline -> current, change; * beyond sampling noise at {comparison.confidence:.0%}"
        + (_HISTORY_NOTE if any(r.history is not None for r in comparison.checks) else "")
    ]
    if comparison.rows:
        lines.extend(table_lines(comparison.rows))
    else:
        lines.append("no test of this run has an entry in the baseline")
    lines.extend(f"new (no baseline entry): {key.label()}" for key in comparison.new)
    for result in comparison.checks:
        if result.status == "FAIL":
            lines.append(f"REGRESSION {result.message()}")
    for result in comparison.checks:
        if result.status == "within noise":
            lines.append(f"not a regression: {result.message()}")
    lines.extend(f"warning: {warning}" for warning in comparison.warnings)
    return lines
