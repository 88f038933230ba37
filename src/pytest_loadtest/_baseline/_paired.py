"""Paired A/B comparison: the base and the changed code measured in turns (issue 16, point 7).

A history of saved runs cannot tell a 25% slowdown from a machine whose runs of the same code
differ by 3x (10 users queueing for the GIL, or not). Measured in turns on the same machine
within minutes, base and head meet the same noise: run *i* of each forms a pair, and the order
within each pair is drawn at random, so that neither what a machine does to the first or second
run of a pair nor its growing busier or calmer favours a side.

For each regression check (``p50:10%``) of each test and operation, a pair is **past** the
threshold when head is worse than base in that pair by more than it. The check fails when so
many pairs are past it that the same code on both sides would be so with probability at most
``alpha / m``, ``m`` being the number of checks judged (a one-sided sign test, Bonferroni over
the checks: the same code is as likely to be better as worse in a pair, whichever side runs
first, and being past the threshold is rarer still than being worse), so that ``alpha`` bounds
the chance that the same code fails the comparison at all. With one check and ``alpha`` 0.05
that is 5 pairs of 5, or 9 of 10; with 2 checks, 6 of 6. One stormy pair neither makes nor,
with enough pairs, hides a change.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, final

from pytest_loadtest._baseline._checks import RegressionCheck, format_change
from pytest_loadtest._baseline._entry import EntryKey
from pytest_loadtest._baseline._storage import Baseline

__all__ = [
    "DEFAULT_ALPHA",
    "PairedVerdict",
    "checks_judged",
    "judge_pairs",
    "pairs_needed",
    "past_needed",
]

#: The chance, at most, that the same code on both sides fails the comparison.
DEFAULT_ALPHA: Final = 0.05


def past_needed(pairs: int, alpha: float) -> int | None:
    """The fewest pairs past the threshold, of ``pairs``, that unchanged code reaches with
    probability at most ``alpha`` (``P(Binomial(pairs, 1/2) >= k) <= alpha``), or ``None``
    when not even all of them would do."""
    tail = 0
    for needed in range(pairs, -1, -1):
        tail += math.comb(pairs, needed)
        if tail / (1 << pairs) > alpha:
            return needed + 1 if needed < pairs else None
    return 0


def pairs_needed(alpha: float) -> int:
    """The fewest pairs with which a check can fail at ``alpha`` (5 for 0.05, 7 for 0.01)."""
    pairs = 1
    while past_needed(pairs, alpha) is None:
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
    needed: int | None  # pairs past the threshold that fail the check (None: too few pairs)

    @property
    def past(self) -> int:
        """Pairs where head is worse than base by more than the threshold."""
        return sum(self.check.exceeded(b, h) for b, h in zip(self.base, self.head, strict=True))

    @property
    def worse(self) -> int:
        """Pairs where head is worse than base at all."""
        return sum(
            self.check.worsening(b, h) > 0 for b, h in zip(self.base, self.head, strict=True)
        )

    @property
    def regressed(self) -> bool:
        """So many pairs past the threshold that unchanged code would rarely be."""
        return self.needed is not None and self.past >= self.needed

    def changes(self) -> list[str]:
        """Each pair's change, as the threshold reads: ``+31.0%``."""
        check = self.check
        return [
            format_change(check.definition, b, h, relative=check.relative)
            for b, h in zip(self.base, self.head, strict=True)
        ]

    def line(self) -> str:
        """``REGRESSION tests/t.py::test_x [read] p50 +10%: 5 of 5 pairs past it (needs 5);
        median 1.20ms -> 2.05ms; pairs +71.2%, +12.0%, ...``."""
        check = self.check
        value = check.format_value
        count = len(self.base)
        head = "REGRESSION" if self.regressed else "ok"
        if self.needed is None:
            rule = f"not judged: {count} pairs cannot fail it"
        else:
            rule = f"{self.past} of {count} pairs past it (fails at {self.needed})"
        medians = (
            f"median {value(statistics.median(self.base))} -> {value(statistics.median(self.head))}"
        )
        return (
            f"{head} {self.key.label()} {check.metric} {check.threshold_text()}: {rule}, "
            f"{self.worse} worse at all; {medians}; pairs {', '.join(self.changes())}"
        )


def judge_pairs(
    pairs: Sequence[tuple[Baseline, Baseline]],
    checks: Sequence[RegressionCheck],
    alpha: float = DEFAULT_ALPHA,
) -> list[PairedVerdict]:
    """Every check of every test and operation that head's runs hold, over the pairs
    ``(base run, head run)`` that hold a finite figure of it on both sides, in the order head's
    runs hold them (each test's total, then its operations). ``alpha`` is the chance, at most,
    that the same code on both sides fails any of them: each of the ``m`` verdicts is judged at
    ``alpha / m`` (Bonferroni)."""
    keys = dict.fromkeys(key for _, head in pairs for key in head.entries)
    figures: list[tuple[EntryKey, RegressionCheck, list[float], list[float]]] = []
    for key in keys:
        for check in checks:
            base: list[float] = []
            head: list[float] = []
            for old, new in pairs:
                before, after = old.entries.get(key), new.entries.get(key)
                if before is None or after is None:
                    continue
                b, h = before.value(check.metric), after.value(check.metric)
                if math.isfinite(b) and math.isfinite(h):
                    base.append(b)
                    head.append(h)
            if base:
                figures.append((key, check, base, head))
    each = alpha / max(len(figures), 1)
    return [
        PairedVerdict(key, check, tuple(base), tuple(head), past_needed(len(base), each))
        for key, check, base, head in figures
    ]


def checks_judged(run: Baseline, checks: Sequence[RegressionCheck]) -> int:
    """How many verdicts a comparison of runs like ``run`` holds: one per check of each test
    and operation."""
    return len(run.entries) * len(checks)
