"""One view of a load result, read by every presentation: the terminal summary, the failure
message and junit property, ``index.html``, the CSV files and the Markdown job summary.

A :class:`ResultView` answers what each presentation used to work out on its own: the run's
:class:`Verdict`, its operations in display order, its title, its load, its SLA targets. The
figures come from the :class:`~pytest_loadtest._model._result.LoadResult` itself; the files that
dump raw numbers (CSV, chart data) read the same run through :attr:`ResultView.data`, its
``to_dict()`` (the layout of ``results.json``), computed only when asked for.

Values are shown by the helpers below, built on the metrics registry
(:data:`~pytest_loadtest._model._metrics.METRICS`), so that a latency, a rate or a share reads
the same in every presentation.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, final

from pytest_loadtest._model._metrics import LATENCY_METRICS, METRICS, MetricSource
from pytest_loadtest._model._units import format_latency_ms, format_rate
from pytest_loadtest._report._escape import name_text, one_line

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult, OperationStats

__all__ = [
    "DEFAULT_WINDOW",
    "ResultView",
    "Verdict",
    "count",
    "figure_text",
    "latency_text",
    "number",
    "ordered_operations",
    "percent_text",
    "property_ms",
    "rate_text",
    "rows_of",
    "sample_verdict",
    "title",
    "verdict",
    "views",
    "window_seconds",
]

#: Timeline window assumed when a timeline has fewer than two rows.
DEFAULT_WINDOW: Final = 1.0


# -- tolerant readers of the dict form (CSV and chart data) ------------------------------------


def number(value: object) -> float:
    """``value`` as a float; ``nan`` for ``None``, text and other non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)


def count(value: object) -> int:
    """``value`` as a non-negative int; ``0`` for ``None`` and non-numbers."""
    n = number(value)
    return int(n) if math.isfinite(n) and n > 0 else 0


def window_seconds(rows: Sequence[Mapping[str, Any]]) -> float:
    """Length of one timeline window: the smallest step between consecutive rows."""
    times = sorted({t for row in rows if math.isfinite(t := number(row.get("t")))})
    steps = [b - a for a, b in itertools.pairwise(times) if b - a > 1e-9]
    return min(steps) if steps else DEFAULT_WINDOW


def rows_of(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The timeline rows of a result's or an operation's dict form."""
    return [row for row in data.get("timeline") or [] if isinstance(row, dict)]


# -- how values are shown ----------------------------------------------------------------------


def latency_text(ms: float | None) -> str:
    """A latency in ms with its unit (``850µs``, ``12.3ms``, ``2.41s``); ``-`` when unknown."""
    return format_latency_ms(ms)


def percent_text(fraction: float | None, *, sign: bool = True) -> str:
    """A share as a percentage with two decimals (``1.50%``; ``1.50`` without ``sign``)."""
    text = METRICS["error_rate"].format(math.nan if fraction is None else fraction)
    return text if sign else text.removesuffix("%")


def rate_text(per_second: float | None) -> str:
    """A rate without its unit (``0.50``, ``12.3``, ``1,234``); ``-`` when unknown."""
    if per_second is None or math.isnan(per_second):
        return "-"
    return format_rate(per_second)


def figure_text(stats: MetricSource | None, metric: str) -> str:
    """``metric`` of ``stats`` as a table shows it: latencies with their unit, the error rate
    as a percentage, throughput as a bare rate; ``-`` when unknown (no such operation, or a
    metric that is not a latency, a rate or a share)."""
    if stats is None:
        return "-"
    if metric == "error_rate":
        return percent_text(stats.error_rate)
    if metric in ("throughput", "throughput_min"):
        return rate_text(stats.throughput)
    if metric not in LATENCY_METRICS:
        return "-"
    latency = METRICS[metric]
    return latency.format(latency.read(stats))


def property_ms(ms: float) -> str:
    """Milliseconds with three decimals and no unit, ``""`` when unknown: the junit property."""
    return "" if math.isnan(ms) else f"{ms:.3f}"


# -- what a result means -----------------------------------------------------------------------


class Verdict(enum.Enum):
    """The outcome of a run against its SLA; the value is the page's word for it."""

    PASS = "pass"  # an SLA with targets, all met
    FAIL = "fail"  # a breach: an SLA target, no completed call, hung calls, an abort
    NO_SLA = "no SLA"  # nothing to check and nothing breached
    # a step of a capacity search that did not hold: what the search looks for, never a failed
    # test (pytest passes it), so never shown as a failure
    BROKE = "broke"


def verdict(result: LoadResult) -> Verdict:
    """The :class:`Verdict` of ``result``: an SLA without targets counts as none (it is stored
    as none: ``results.json``, xdist workers); a capacity step that broke is
    :attr:`Verdict.BROKE`, whatever it breached."""
    probe = result.probe
    if probe is not None and not probe.get("held"):
        return Verdict.BROKE
    if result.sla_breaches:
        return Verdict.FAIL
    return Verdict.PASS if result.sla is not None and result.sla.checks else Verdict.NO_SLA


def sample_verdict(result: LoadResult) -> str:
    """What a failing result's breaches rest on: ``"inconclusive"`` when each is a percentile
    target on fewer calls than ``min_samples``, ``"low sample"`` when each is one of those or a
    percentile missed on fewer calls than it needs to mean much, else ``""`` (a plain breach)."""
    breaches = result.sla_breaches
    if not breaches or not all(b.low_sample for b in breaches):
        return ""
    return "inconclusive" if all(b.inconclusive for b in breaches) else "low sample"


def ordered_operations(result: LoadResult) -> list[OperationStats]:
    """Operations in display order: tasks each followed by its steps, then hooks, then the rest
    (steps outside any task)."""
    ops = list(result.operations.values())
    ordered: list[OperationStats] = []
    for task in (op for op in ops if op.kind == "task"):
        ordered.append(task)
        ordered.extend(op for op in ops if op.kind == "step" and op.parent == task.name)
    ordered.extend(op for op in ops if op.kind == "hook")
    ordered.extend(op for op in ops if op not in ordered)
    return ordered


def title(test_id: str, name: str) -> str:
    """``"<test id> [<name>]"``, or the name alone, as shown: control characters escaped, the
    name cut to :data:`~pytest_loadtest._report._escape.NAME_LIMIT` (see ``_escape``)."""
    shown = name_text(name)
    return f"{one_line(test_id)} [{shown}]" if test_id else shown


@final
class ResultView:
    """One result as every presentation reads it."""

    __slots__ = ("_data", "_operations", "index", "result")

    def __init__(self, result: LoadResult, index: int = 0) -> None:
        self.result = result
        self.index = index  # position in the report: the page's anchors
        self._data: dict[str, Any] | None = None
        self._operations: list[OperationStats] | None = None

    @property
    def data(self) -> dict[str, Any]:
        """``result.to_dict()``, computed once, on first use."""
        if self._data is None:
            self._data = self.result.to_dict()
        return self._data

    @property
    def anchor(self) -> str:
        """HTML id of the result's section (never derived from user text)."""
        return f"result-{self.index}"

    @property
    def test_id(self) -> str:
        """The pytest node id, or ``""``."""
        return self.result.test_id

    @property
    def name(self) -> str:
        """The run's name (``"<target> (run 2)"`` for a second run in one test)."""
        return self.result.name

    @property
    def title(self) -> str:
        """``"<test id> [<name>]"``, or the name alone, escaped for display (see :func:`title`)."""
        return title(self.test_id, self.name)

    @property
    def plans_not_taken(self) -> list[str]:
        """One line per watched engine with statements whose EXPLAIN failed: the engine, how
        many, and the first reason (their full scans are unknown: ``missing_index`` is blind
        to them)."""
        lines = []
        for database in self.result.databases:
            plans = [s["plan"] for s in database.get("statements", ()) if s.get("plan")]
            reasons = [str(plan["error"]) for plan in plans if plan.get("error")]
            if not reasons:
                continue
            others = len(set(reasons)) - 1
            more = f" (and {others} other reason{'s' if others != 1 else ''})" if others else ""
            lines.append(
                f"no query plan for {len(reasons)} of {len(plans)} statements EXPLAINed on "
                f"{name_text(database.get('name', '?'))}, so missing_index could not look at "
                f"them: {one_line(reasons[0], 300)}{more}"
            )
        return lines

    @property
    def verdict(self) -> Verdict:
        """See :func:`verdict`."""
        return verdict(self.result)

    @property
    def capacity_step(self) -> str | None:
        """``"held"`` or ``"broke"`` for a step of a capacity search, else ``None``."""
        probe = self.result.probe
        if probe is None:
            return None
        return "held" if probe.get("held") else "broke"

    @property
    def stopped_early(self) -> bool:
        """Interrupted, or aborted on a breach."""
        return self.result.interrupted or self.result.aborted is not None

    @property
    def load(self) -> str:
        """Users (closed model) or the configured rate (open model)."""
        result = self.result
        if result.model != "open":
            return str(result.users)
        rate = result.settings.get("rate")
        if isinstance(rate, (int, float)):
            return f"{format_rate(rate)}/s"
        return "stages/s"

    @property
    def operations(self) -> list[OperationStats]:
        """Every operation, in the order of :func:`ordered_operations`."""
        if self._operations is None:
            self._operations = ordered_operations(self.result)
        return self._operations

    def operation_data(self, operation: OperationStats) -> dict[str, Any]:
        """The dict form of one of :attr:`operations` (``{}`` if the dict lacks it)."""
        found = (self.data.get("operations") or {}).get(operation.name)
        return found if isinstance(found, dict) else {}

    @property
    def targets(self) -> dict[str | None, dict[str, float]]:
        """SLA thresholds by scope (``None``: all calls, else an operation's name), all calls
        first, each scope's targets in the order they were written; ``{}`` without an SLA."""
        sla = self.result.sla
        if sla is None:
            return {}
        scopes: dict[str | None, dict[str, float]] = {None: {}}
        for check in sla.checks:
            scopes.setdefault(check.operation, {})[check.metric] = check.threshold
        return scopes

    @property
    def timeline(self) -> list[dict[str, Any]]:
        """The overall timeline rows, in their dict form."""
        return rows_of(self.data)

    @property
    def window(self) -> float:
        """Timeline window length in seconds."""
        return window_seconds(self.timeline)

    def distribution(self, operation: str | None = None) -> list[tuple[float, float]]:
        """``(percentile, ms)`` pairs of all calls or of one operation; ``[]`` when unknown."""
        stats = self.result if operation is None else self.result.operations.get(operation)
        if stats is None or not stats.histogram.count:
            return []
        return stats.histogram.distribution()


def views(results: Sequence[LoadResult]) -> list[ResultView]:
    """One :class:`ResultView` per result, numbered in order."""
    return [ResultView(result, i) for i, result in enumerate(results)]
