"""Regression checks parsed from ``--load-compare-fail`` specs: ``p95:10%,throughput:-5%``.

Syntax: checks separated by commas, each ``METRIC:THRESHOLD``; the threshold is how much worse
the current run may be than the baseline before the check fails (it fails when the change is
strictly larger, and beyond sampling noise):

============================================ ===================================================
``p1 p5 p10 p25 p50 p75 p90 p95 p99 p99.9``   ``10%`` or ``+10%``: latency rose by more than 10%;
``mean max``                                  ``+20ms`` (``us``, ``µs``, ``ms``, ``s``): rose by
                                              more than 20 ms
``throughput``                                ``-5%`` or ``5%``: calls/s fell by more than 5%;
                                              ``-100/s``: fell by more than 100 calls/s
``error_rate``                                ``+0.5%`` or ``0.5%``: the error rate rose by more
                                              than 0.5 percentage points (1.0% -> 1.6% fails)
============================================ ===================================================

The percentiles below the median (``p1`` .. ``p25``) are the fastest calls: what the code costs
when nothing queued, which a busy machine moves far less than the median or the tail.

A threshold never has the "better" sign (``p95:-10%`` or ``throughput:+5%`` is an error), and
``0%`` fails on any increase that is beyond noise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, final

from pytest_loadtest._model._metrics import METRICS, Metric

__all__ = [
    "REGRESSION_METRICS",
    "CheckSpecError",
    "RegressionCheck",
    "format_change",
    "parse_checks",
]

#: The metrics a regression check may name, in the order messages and the docs list them.
REGRESSION_METRICS: Final = (
    "p1",
    "p5",
    "p10",
    "p25",
    "p50",
    "p75",
    "p90",
    "p95",
    "p99",
    "p99.9",
    "mean",
    "max",
    "throughput",
    "error_rate",
)

_THRESHOLD: Final = re.compile(
    r"^(?P<sign>[+-]?)\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>%|ms|us|µs|s|/s)?$"
)
_MS_PER_UNIT: Final = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0}


class CheckSpecError(ValueError):
    """A ``--load-compare-fail`` spec that cannot be parsed; names the bad part."""

    def __init__(self, part: str, reason: str) -> None:
        self.part = part
        self.reason = reason
        super().__init__(f"bad regression check {part!r}: {reason}")


@final
@dataclass(frozen=True, slots=True)
class RegressionCheck:
    """One check: how much worse ``metric`` may get.

    ``threshold``: a fraction when ``relative`` (0.10 for 10%); otherwise milliseconds for
    latency, calls/s for throughput, and a fraction (0.005 for 0.5 points) for the error rate.
    """

    metric: str
    threshold: float
    relative: bool

    @property
    def definition(self) -> Metric:
        """The registry's entry for :attr:`metric`."""
        return METRICS[self.metric]

    @property
    def percentile(self) -> float | None:
        """The percentile of a ``pNN`` metric, else ``None``."""
        return self.definition.percentile

    def worsening(self, baseline: float, current: float) -> float:
        """How much worse ``current`` is, in the threshold's terms (negative: better)."""
        definition = self.definition
        if definition.is_fraction:
            return current - baseline
        delta = baseline - current if definition.higher_is_better else current - baseline
        if not self.relative:
            return delta
        if baseline == 0:
            return 0.0 if delta == 0 else math.copysign(math.inf, delta)
        return delta / baseline

    def exceeded(self, baseline: float, current: float) -> bool:
        """Whether the change is larger than the threshold (``False`` when a figure is NaN)."""
        worse = self.worsening(baseline, current)
        return not math.isnan(worse) and worse > self.threshold

    def threshold_text(self) -> str:
        """``+10%``, ``+20ms``, ``-5%``, ``-100/s`` or ``+0.5 points``."""
        definition = self.definition
        if definition.is_fraction:
            return f"+{_number(self.threshold * 100)} points"
        sign = "-" if definition.higher_is_better else "+"
        if self.relative:
            return f"{sign}{_number(self.threshold * 100)}%"
        return f"{sign}{definition.format_short(self.threshold)}"

    def format_value(self, value: float) -> str:
        """A figure of this check's metric: ``1.20ms``, ``1,234/s``, ``0.52%``."""
        return self.definition.format_short(value)

    def change_text(self, baseline: float, current: float) -> str:
        """The change as the threshold reads: ``+12.3%``, ``+4.1ms``, ``+0.61 points``."""
        return format_change(self.definition, baseline, current, relative=self.relative)

    def __str__(self) -> str:
        return f"{self.metric}:{self.threshold_text().replace(' points', '%')}"


def format_change(metric: Metric, baseline: float, current: float, *, relative: bool) -> str:
    """The change of ``metric`` from ``baseline`` to ``current``: ``+12.3%`` (``relative``),
    ``+4.1ms``, ``-120.0/s``; for a fraction (the error rate) always ``+0.61 points``."""
    if metric.is_fraction:
        return f"{(current - baseline) * 100:+.2f} points"
    if relative:
        if baseline == 0:
            return "from 0" if current else "+0%"
        return f"{(current - baseline) / baseline * 100:+.1f}%"
    if metric.unit == "calls/s":
        # a signed rate with one decimal: format_rate's compact form has no sign
        return f"{current - baseline:+,.1f}/s"
    sign = "+" if current >= baseline else "-"
    return f"{sign}{metric.format_short(abs(current - baseline))}"


def _number(value: float) -> str:
    return f"{value:.6g}"


def _parse_one(part: str) -> RegressionCheck:
    metric, colon, threshold = (piece.strip() for piece in part.partition(":"))
    if not colon:
        raise CheckSpecError(part, "expected METRIC:THRESHOLD, for example p95:10%")
    metric = metric.lower()
    if metric not in REGRESSION_METRICS:
        allowed = ", ".join(REGRESSION_METRICS)
        raise CheckSpecError(part, f"unknown metric {metric!r} (allowed: {allowed})")
    match = _THRESHOLD.match(threshold)
    if match is None:
        raise CheckSpecError(
            part, f"threshold {threshold!r} is not a number with a unit (10%, +20ms, -100/s)"
        )
    sign, unit = match["sign"], match["unit"]
    value = float(match["number"])
    definition = METRICS[metric]
    if definition.higher_is_better:
        if sign == "+":
            raise CheckSpecError(part, f"a {metric} threshold is a drop: write {metric}:-5%")
        if unit not in ("%", "/s"):
            raise CheckSpecError(part, f"give {metric} as a percentage (-5%) or calls/s (-100/s)")
        relative = unit == "%"
        return RegressionCheck(metric, value / 100 if relative else value, relative)
    if sign == "-":
        raise CheckSpecError(
            part, f"a {metric} threshold is an increase: write {metric}:+{value:g}{unit or '%'}"
        )
    if definition.is_fraction:
        if unit != "%":
            raise CheckSpecError(
                part, "give the error rate increase in percentage points: error_rate:+0.5%"
            )
        return RegressionCheck(metric, value / 100, relative=False)
    if unit == "%":
        return RegressionCheck(metric, value / 100, relative=True)
    if unit in _MS_PER_UNIT:
        return RegressionCheck(metric, value * _MS_PER_UNIT[unit], relative=False)
    raise CheckSpecError(part, f"give {metric} as a percentage (10%) or a duration (+20ms)")


def parse_checks(spec: str | Iterable[str]) -> tuple[RegressionCheck, ...]:
    """Parse ``"p95:10%,throughput:-5%"`` (or several such strings, one per option given).

    :class:`CheckSpecError` (a ``ValueError``) naming the bad part, for an unknown metric, a
    threshold without unit or of the wrong sign, an empty part, or a metric given twice.
    """
    texts = [spec] if isinstance(spec, str) else list(spec)
    checks: dict[tuple[str, bool], RegressionCheck] = {}
    for text in texts:
        for raw in text.split(","):
            part = raw.strip()
            if not part:
                raise CheckSpecError(text, "empty check between commas")
            check = _parse_one(part)
            kind = (check.metric, check.relative)
            if kind in checks:
                raise CheckSpecError(part, f"{check.metric} is given more than once")
            checks[kind] = check
    return tuple(checks.values())
