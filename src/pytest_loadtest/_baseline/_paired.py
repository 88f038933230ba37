"""Paired A/B comparison: the base and the changed code measured in turns (issue 16, point 7).

A history of saved runs cannot tell a 25% slowdown from a machine whose runs of the same code
differ by 3x (10 users queueing for the GIL, or not). Measured in turns on the same machine
within minutes, base and head meet the same noise: run *i* of each forms a pair, and the order
within each pair is drawn at random, so that neither what a machine does to the first or second
run of a pair nor its growing busier or calmer favours a side.

For each regression check (``p50:10%``) of each test and operation, the check fails when

- so many pairs have head worse than base that the same code on both sides would be so with a
  chance of at most ``alpha / m`` (a one-sided sign test), and
- the median of the pairs' changes is past the threshold (a change too small to matter, however
  sure, passes).

The order within each pair being a fair coin's, the same code is as likely to be worse as better
in a pair whatever the machine does to the first or the second run, so the first condition
alone bounds the chance of a false alarm; the second only lowers it. ``m`` is the number of
checks judged (Bonferroni, leaving out those held by too few pairs to ever fail, as Tarone
showed one may), so that ``alpha`` bounds the chance that the same code fails the comparison at
all. With one check and ``alpha`` 0.05 that is 5 pairs worse of 5, or 9 of 10; with 2 checks, 6
of 6. One stormy pair neither makes nor, with enough pairs, hides a change.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, final

from pytest_loadtest._baseline._checks import RegressionCheck
from pytest_loadtest._baseline._entry import EntryKey
from pytest_loadtest._baseline._noise import min_calls_for
from pytest_loadtest._baseline._storage import Baseline

__all__ = [
    "DEFAULT_ALPHA",
    "PairedVerdict",
    "checks_held",
    "family_size",
    "judge_pairs",
    "one_sided",
    "pairs_needed",
    "worse_needed",
]

#: The chance, at most, that the same code on both sides fails the comparison.
DEFAULT_ALPHA: Final = 0.05


def worse_needed(pairs: int, alpha: float) -> int | None:
    """The fewest pairs worse, of ``pairs``, that the same code on both sides reaches with a
    chance of at most ``alpha`` (``P(Binomial(pairs, 1/2) >= k) <= alpha``), or ``None`` when
    not even all of them would do."""
    tail = 0
    for needed in range(pairs, -1, -1):
        tail += math.comb(pairs, needed)
        if tail / (1 << pairs) > alpha:
            return needed + 1 if needed < pairs else None
    return 0


def pairs_needed(alpha: float) -> int:
    """The fewest pairs with which a check can fail at ``alpha`` (5 for 0.05, 7 for 0.01)."""
    pairs = 1
    while worse_needed(pairs, alpha) is None:
        pairs += 1
    return pairs


@final
@dataclass(frozen=True, slots=True)
class PairedVerdict:
    """One check of one test and operation over the pairs that hold its figure."""

    key: EntryKey
    check: RegressionCheck
    base: tuple[float, ...]
    head: tuple[float, ...]
    needed: int | None  # pairs worse that fail the check (None: too few pairs to ever fail)
    #: pairs left out because a run had fewer calls than the metric needs (p1: 1,000)
    low_sample: int = 0

    def _worsening(self) -> list[float]:
        check = self.check
        return [check.worsening(b, h) for b, h in zip(self.base, self.head, strict=True)]

    @property
    def worse(self) -> int:
        """Pairs where head is worse than base."""
        return sum(change > 0 for change in self._worsening())

    @property
    def change(self) -> float:
        """The median of the pairs' changes, in the threshold's terms (positive: worse; ``nan``
        without a pair)."""
        changes = self._worsening()
        return statistics.median(changes) if changes else math.nan

    @property
    def regressed(self) -> bool:
        """So many pairs worse that the same code would rarely be, and their median change
        past the threshold."""
        return (
            self.needed is not None
            and self.worse >= self.needed
            and self.change > self.check.threshold
        )

    def changes(self) -> list[str]:
        """Each pair's change, as the threshold reads: ``+31.0%``."""
        return [self.check.change_text(b, h) for b, h in zip(self.base, self.head, strict=True)]

    def change_text(self) -> str:
        """:attr:`change` as the threshold reads: ``+23.9%``, ``-19.2%`` (a fall of
        throughput), ``+4.1ms``."""
        check = self.check
        definition = check.definition
        signed = -self.change if definition.higher_is_better else self.change
        origin = 1.0 if check.relative and not definition.is_fraction else 0.0
        return check.change_text(origin, origin + signed)

    def line(self) -> str:
        """``REGRESSION tests/t.py::test_x [read] p50 +10%: 6 of 6 pairs worse (fails at 6),
        median change +23.9%; median 1.20ms -> 2.05ms; pairs +71.2%, +12.0%, ...``; ``ok`` for
        a check that passed, ``UNJUDGED`` for one held by too few pairs to ever fail."""
        check = self.check
        value = check.format_value
        count = len(self.base)
        head = "REGRESSION" if self.regressed else "ok"
        if not count:
            needs = min_calls_for(check.metric)
            return (
                f"UNJUDGED {self.key.label()} {check.metric} {check.threshold_text()}: low sample, "
                f"{check.metric} needs {needs:,} calls in each run, and {self.low_sample} "
                f"pairs had fewer"
            )
        if self.needed is None:
            head, rule = "UNJUDGED", f"held by {count} pairs, too few to ever fail it"
        else:
            rule = f"{self.worse} of {count} pairs worse (fails at {self.needed})"
        medians = (
            f"median {value(statistics.median(self.base))} -> {value(statistics.median(self.head))}"
        )
        return (
            f"{head} {self.key.label()} {check.metric} {check.threshold_text()}: {rule}, "
            f"median change {self.change_text()}; {medians}; pairs {', '.join(self.changes())}"
        )


_Figures = tuple[EntryKey, RegressionCheck, list[float], list[float], int]


def _figures(
    pairs: Sequence[tuple[Baseline, Baseline]], checks: Sequence[RegressionCheck]
) -> list[_Figures]:
    """Each check of each test and operation: the base's and head's figures of the pairs that
    hold it with enough calls on both sides, and how many pairs had too few (as
    ``--load-compare-fail`` judges: 10 calls beyond a percentile, 20 for the rest)."""
    keys = dict.fromkeys(key for _, head in pairs for key in head.entries)
    figures: list[_Figures] = []
    for key in keys:
        for check in checks:
            base: list[float] = []
            head: list[float] = []
            low = 0
            needs = min_calls_for(check.metric)
            for old, new in pairs:
                before, after = old.entries.get(key), new.entries.get(key)
                if before is None or after is None:
                    continue
                if min(before.total, after.total) < needs:
                    low += 1
                    continue
                b, h = before.value(check.metric), after.value(check.metric)
                if math.isfinite(b) and math.isfinite(h):
                    base.append(b)
                    head.append(h)
            if base or low:
                figures.append((key, check, base, head, low))
    return figures


def family_size(counts: Sequence[int], alpha: float) -> int:
    """What ``alpha`` is split by, for checks held by ``counts`` pairs each: the least ``k``
    such that at most ``k`` of them could fail at ``alpha / k`` (Tarone's refinement of
    Bonferroni: a check held by too few pairs to ever fail cannot raise a false alarm, so it
    takes no share)."""
    k = 1
    while sum(worse_needed(n, alpha / k) is not None for n in counts) > k:
        k += 1
    return k


def judge_pairs(
    pairs: Sequence[tuple[Baseline, Baseline]],
    checks: Sequence[RegressionCheck],
    alpha: float = DEFAULT_ALPHA,
) -> list[PairedVerdict]:
    """Every check of every test and operation that head's runs hold, over the pairs
    ``(base run, head run)`` that hold a finite figure of it on both sides, in the order head's
    runs hold them (each test's total, then its operations). ``alpha`` is the chance, at most,
    that the same code on both sides fails any of them: each is judged at ``alpha / k``,
    ``k`` from :func:`family_size` (the number of checks, less those too few pairs hold)."""
    figures = _figures(pairs, checks)
    each = alpha / family_size([len(base) for _, _, base, _, _ in figures], alpha)
    return [
        PairedVerdict(key, check, tuple(base), tuple(head), worse_needed(len(base), each), low)
        for key, check, base, head, low in figures
    ]


def checks_held(
    pairs: Sequence[tuple[Baseline, Baseline]], checks: Sequence[RegressionCheck]
) -> int:
    """How many checks some pair holds a figure of on both sides, with enough calls."""
    return sum(bool(base) for _, _, base, _, _ in _figures(pairs, checks))


def one_sided(pairs: Sequence[tuple[Baseline, Baseline]]) -> tuple[list[str], list[str]]:
    """Tests and operations only the base's runs hold, and only the head's (renamed, added
    or removed): no pair compares them."""
    base = dict.fromkeys(key for old, _ in pairs for key in old.entries)
    head = dict.fromkeys(key for _, new in pairs for key in new.entries)
    return (
        [key.label() for key in base if key not in head],
        [key.label() for key in head if key not in base],
    )
