"""Is a difference between two runs beyond what sampling alone would give? One test a metric.

Every test treats the calls of a run as independent draws from the run's latency distribution
(see the README's "Noise" section for what that leaves out) and answers at a confidence
level, 95% by default:

- **percentiles**: a distribution-free confidence interval for each run's quantile from order
  statistics. The number of calls below the true q-quantile is binomial(n, q), so the interval
  runs from the call at rank ``n*q - z*sqrt(n*q*(1-q))`` to the one at ``n*q + z*sqrt(...)``,
  read off the HDR histogram (lowest and highest value of the bucket: HDR's 0.1% resolution is
  inside the interval). The difference is significant when the two intervals do not overlap,
  which is stricter than a 95% test (about 99.4% for intervals of equal width).
- **mean**: Welch's z on the exact means and standard deviations.
- **max**: an exceedance test. Were both runs alike, the chance that ``k`` or more of the
  ``m`` current calls lie above the largest of the ``n`` baseline calls is
  ``prod_{i<k} (m - i) / (n + m - i)`` (exchangeability, no distribution assumed).
- **throughput**: Welch's t test on calls/s with each run's standard error from the spread of
  its full per-second windows (batch means, Welch-Satterthwaite degrees of freedom, so a few
  windows give a wide band); Poisson's ``sqrt(calls) / duration`` (a z test) when a run has
  fewer than three windows.
- **error rate**: the two-proportion z test with the pooled rate.

A metric resting on too few calls is not tested: a percentile needs the SLA's low-sample count
(``10 / (1 - q)`` calls: 200 for p95, 1,000 for p99) and every metric ``min_calls``, on both
sides.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from statistics import NormalDist
from typing import Final, final

from pytest_loadtest._baseline._entry import Entry
from pytest_loadtest._model._metrics import METRICS
from pytest_loadtest._model._sla import min_calls_for_percentile
from pytest_loadtest._model._tdist import t_quantile
from pytest_loadtest._model._units import format_latency_ms, format_rate

__all__ = ["DEFAULT_CONFIDENCE", "DEFAULT_MIN_CALLS", "Noise", "judge", "quantile_interval"]

DEFAULT_CONFIDENCE: Final = 0.95
DEFAULT_MIN_CALLS: Final = 20
#: Fewest full windows from which a run's throughput spread is estimated.
MIN_WINDOWS: Final = 3

SIGNIFICANT: Final = "significant"
WITHIN_NOISE: Final = "within noise"
LOW_SAMPLE: Final = "low sample"


@final
@dataclass(frozen=True, slots=True)
class Noise:
    """A verdict on one difference: ``significant``, ``within noise`` or ``low sample``."""

    verdict: str
    detail: str

    @property
    def significant(self) -> bool | None:
        """``True``/``False``; ``None`` when the metric rests on too few calls to tell."""
        return None if self.verdict == LOW_SAMPLE else self.verdict == SIGNIFICANT


def _z(confidence: float) -> float:
    if not 0.5 <= confidence < 1:
        raise ValueError(f"confidence must be in [0.5, 1), got {confidence!r}")
    return statistics.NormalDist().inv_cdf((1 + confidence) / 2)


def _percentile(metric: str) -> float | None:
    definition = METRICS.get(metric)
    return definition.percentile if definition is not None else None


def min_calls_for(metric: str, min_calls: int = DEFAULT_MIN_CALLS) -> int:
    """Calls each run needs before ``metric`` is tested."""
    q = _percentile(metric)
    return max(min_calls, min_calls_for_percentile(q)) if q is not None else min_calls


def quantile_interval(entry: Entry, q: float, z: float) -> tuple[float, float]:
    """``(low, high)`` ms: a distribution-free confidence interval of the ``q``-th percentile."""
    n, p = entry.total, q / 100
    centre, spread = n * p, z * math.sqrt(n * p * (1 - p))
    low = entry.ranks.bucket_at(math.floor(centre - spread))[0]
    high = entry.ranks.bucket_at(math.ceil(centre + spread))[1]
    return low, high


def _verdict(significant: bool, detail: str) -> Noise:
    return Noise(SIGNIFICANT if significant else WITHIN_NOISE, detail)


def _quantile(base: Entry, cur: Entry, q: float, z: float, level: str) -> Noise:
    b_lo, b_hi = quantile_interval(base, q, z)
    c_lo, c_hi = quantile_interval(cur, q, z)
    detail = (
        f"{level} intervals: baseline {format_latency_ms(b_lo)}..{format_latency_ms(b_hi)}, "
        f"current {format_latency_ms(c_lo)}..{format_latency_ms(c_hi)}"
    )
    return _verdict(c_lo > b_hi or c_hi < b_lo, detail)


def _z_verdict(z_obs: float, z: float, test: str, spread: str = "") -> Noise:
    detail = f"{test}: z = {z_obs:+.2f}, noise within ±{z:.2f}"
    return _verdict(abs(z_obs) > z, f"{detail}; {spread}" if spread else detail)


def _mean(base: Entry, cur: Entry, z: float) -> Noise:
    b, c = base.histogram, cur.histogram
    se = math.sqrt(b.stdev_ms**2 / b.count + c.stdev_ms**2 / c.count)
    delta = c.mean_ms - b.mean_ms
    z_obs = delta / se if se > 0 else math.copysign(math.inf, delta) if delta else 0.0
    return _z_verdict(z_obs, z, "Welch test of the means")


def _max(base: Entry, cur: Entry, confidence: float) -> Noise:
    slower = cur.histogram.max_ms >= base.histogram.max_ms
    high, low = (cur, base) if slower else (base, cur)
    k = high.ranks.count_above(low.histogram.max_ms)
    m, n = high.total, low.total
    p = 1.0
    for i in range(k):
        p *= (m - i) / (n + m - i)
        if p < 1e-12:
            break
    who = "current" if slower else "baseline"
    other = "baseline" if slower else "current"
    detail = f"{k:,} {who} calls above the {other}'s max; p = {p:.2g} were the runs alike"
    return _verdict(k > 0 and p < 1 - confidence, detail)


def _rate_error(entry: Entry) -> tuple[float, float, str]:
    """Standard error of a run's calls/s, its degrees of freedom, and how it was found."""
    windows = entry.window_calls
    if len(windows) >= MIN_WINDOWS:
        rates = [calls / entry.window for calls in windows]
        sd = statistics.stdev(rates)
        how = f"sd {format_rate(sd)}/s over {len(rates)} windows"
        return sd / math.sqrt(len(rates)), len(rates) - 1.0, how
    if entry.duration <= 0:
        return math.inf, math.inf, "no duration"
    return math.sqrt(entry.total) / entry.duration, math.inf, "Poisson"


def _throughput(base: Entry, cur: Entry, z: float) -> Noise:
    b_se, b_df, b_how = _rate_error(base)
    c_se, c_df, c_how = _rate_error(cur)
    se = math.hypot(b_se, c_se)
    delta = cur.throughput - base.throughput
    t_obs = delta / se if se > 0 else math.copysign(math.inf, delta) if delta else 0.0
    # Welch-Satterthwaite: few windows give few degrees of freedom and a wider band
    parts = sum(s**4 / d for s, d in ((b_se, b_df), (c_se, c_df)) if not math.isinf(d) and d > 0)
    df = se**4 / parts if parts > 0 and not math.isinf(se) else math.inf
    test = "calls/s (Welch t)" if not math.isinf(df) else "calls/s"
    spread = f"spread: baseline {b_how}, current {c_how}"
    critical = z if math.isinf(df) else t_quantile(NormalDist().cdf(z), max(df, 1.0))
    return _z_verdict(t_obs, critical, test, spread)


def _error_rate(base: Entry, cur: Entry, z: float) -> Noise:
    pooled = (base.errors + cur.errors) / (base.total + cur.total)
    se = math.sqrt(pooled * (1 - pooled) * (1 / base.total + 1 / cur.total))
    delta = cur.error_rate - base.error_rate
    z_obs = delta / se if se > 0 else 0.0  # se 0: both all-ok or all-failed, so equal
    return _z_verdict(z_obs, z, "two-proportion test")


def judge(
    metric: str,
    baseline: Entry,
    current: Entry,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    min_calls: int = DEFAULT_MIN_CALLS,
) -> Noise:
    """Whether ``metric`` differs between the runs beyond sampling noise."""
    z = _z(confidence)
    needed = min_calls_for(metric, min_calls)
    if baseline.total < needed or current.total < needed:
        return Noise(
            LOW_SAMPLE,
            f"{metric} needs at least {needed:,} calls in each run "
            f"(baseline {baseline.total:,}, current {current.total:,})",
        )
    q = _percentile(metric)
    if q is not None:
        return _quantile(baseline, current, q, z, f"{confidence:.0%}")
    if metric == "mean":
        return _mean(baseline, current, z)
    if metric == "max":
        return _max(baseline, current, confidence)
    if metric == "throughput":
        return _throughput(baseline, current, z)
    if metric == "error_rate":
        return _error_rate(baseline, current, z)
    raise ValueError(f"unknown metric {metric!r}")
