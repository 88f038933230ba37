"""Paired A/B comparison (issue 16, point 7): how many pairs must be past a threshold, and the
verdicts over pairs of saved runs."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from pytest_loadtest._baseline._checks import parse_checks
from pytest_loadtest._baseline._entry import EntryKey, entries_from_results
from pytest_loadtest._baseline._metadata import RunMetadata
from pytest_loadtest._baseline._paired import judge_pairs, pairs_needed, past_needed
from pytest_loadtest._baseline._storage import Baseline

from helpers.baseline_samples import TEST_ID, result

P50 = parse_checks("p50:10%")[0]
THROUGHPUT = parse_checks("throughput:-5%")[0]
TOTAL = EntryKey(TEST_ID, "shop")


def _run(seed: int, slower: float, *, operations: dict[str, float] | None = None) -> Baseline:
    entries = entries_from_results([result(seed, n=2_000, slower=slower, operations=operations)])
    return Baseline(
        path=Path(f"{seed:04d}_ab.json"),
        number=seed,
        name="ab",
        metadata=RunMetadata.collect("m"),
        entries={entry.key: entry for entry in entries},
    )


def _pairs(base: list[float], head: list[float]) -> list[tuple[Baseline, Baseline]]:
    return [
        (_run(2 * i + 1, b), _run(2 * i + 2, h))
        for i, (b, h) in enumerate(zip(base, head, strict=True))
    ]


# -- how many pairs ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pairs", "alpha", "needed"),
    [(5, 0.05, 5), (6, 0.05, 6), (8, 0.05, 7), (10, 0.05, 9), (7, 0.01, 7), (10, 0.01, 10)],
)
def test_past_needed_is_the_sign_tests_critical_count(
    pairs: int, alpha: float, needed: int
) -> None:
    assert past_needed(pairs, alpha) == needed


@pytest.mark.parametrize("pairs", range(1, 31))
@pytest.mark.parametrize("alpha", [0.001, 0.01, 0.05, 0.1, 0.3])
def test_the_count_needed_holds_unchanged_code_to_alpha_and_no_lower_count_does(
    pairs: int, alpha: float
) -> None:
    def tail(k: int) -> float:  # P(Binomial(pairs, 1/2) >= k)
        return sum(math.comb(pairs, j) for j in range(k, pairs + 1)) / (1 << pairs)

    needed = past_needed(pairs, alpha)
    if needed is None:
        assert tail(pairs) > alpha
    else:
        assert tail(needed) <= alpha < tail(needed - 1)


def test_pairs_needed_is_the_fewest_that_can_fail_a_check() -> None:
    assert pairs_needed(0.05) == 5
    assert pairs_needed(0.01) == 7
    assert past_needed(4, 0.05) is None


# -- verdicts ------------------------------------------------------------------------------------
def test_a_slowdown_in_every_pair_regresses_though_the_pairs_differ_threefold() -> None:
    # a machine whose runs of the same code differ 3x (calm, stormy): each head 25% slower
    # than its own base
    base = [1.0, 3.0, 1.2, 2.8, 1.0]
    verdicts = judge_pairs(_pairs(base, [b * 1.25 for b in base]), [P50])
    (total,) = [v for v in verdicts if v.key == TOTAL]
    assert total.past == 5
    assert total.needed == 5
    assert total.regressed
    line = total.line()
    assert line.startswith(f"REGRESSION {TOTAL.label()} p50 +10%: 5 of 5 pairs past it")
    assert "+25" in line


def test_one_pair_short_of_the_threshold_does_not_regress_with_five_pairs() -> None:
    base = [1.0, 3.0, 1.2, 2.8, 1.0]
    head = [1.25, 3.75, 1.5, 2.8 * 1.05, 1.25]  # the fourth pair only 5% worse
    (verdict,) = [v for v in judge_pairs(_pairs(base, head), [P50]) if v.key == TOTAL]
    assert verdict.past == 4
    assert verdict.worse == 5
    assert not verdict.regressed
    assert verdict.line().startswith("ok ")


def test_with_ten_pairs_one_stormy_pair_does_not_hide_a_slowdown() -> None:
    base = [1.0] * 10
    head = [1.25] * 9 + [0.5]  # the base's run of one pair met a storm
    (verdict,) = [v for v in judge_pairs(_pairs(base, head), [P50]) if v.key == TOTAL]
    assert (verdict.past, verdict.needed, verdict.regressed) == (9, 9, True)


def test_unchanged_code_fails_a_check_at_most_alpha_of_the_time() -> None:
    # the figure of each run drawn from the same bimodal noise (calm 1x, stormy 3x), as on a
    # machine whose GIL queue comes and goes: a check fails in at most 5% of A/A comparisons
    rng = random.Random(16)
    failed = 0
    trials = 400
    for _ in range(trials):
        pairs = [
            (
                rng.choice([1.0, 1.0, 3.0]) * rng.uniform(0.9, 1.1),
                rng.choice([1.0, 1.0, 3.0]) * rng.uniform(0.9, 1.1),
            )
            for _ in range(5)
        ]
        past = sum(P50.exceeded(b, h) for b, h in pairs)
        failed += past >= 5
    assert failed / trials <= 0.05


def test_throughput_is_judged_as_a_fall() -> None:
    # head 25% slower: each run's calls are the same, over the same seconds; throughput equal
    base = [1.0] * 5
    verdicts = judge_pairs(_pairs(base, [1.25] * 5), [THROUGHPUT])
    (verdict,) = [v for v in verdicts if v.key == TOTAL]
    assert verdict.past == 0
    assert not verdict.regressed


def test_each_operation_is_judged_and_a_missing_one_over_the_pairs_that_hold_it() -> None:
    ops = {"browse": 2.0, "buy": 4.0}
    pairs = [(_run(i, 1.0, operations=ops), _run(100 + i, 1.5, operations=ops)) for i in range(5)]
    # a sixth pair whose head ran no "buy" (a renamed operation, say)
    renamed = {"browse": 2.0, "order": 4.0}
    pairs.append((_run(6, 1.0, operations=ops), _run(106, 1.5, operations=renamed)))
    # three verdicts (the total, browse, buy): each judged at 0.15 / 3
    verdicts = {v.key.operation: v for v in judge_pairs(pairs, [P50], alpha=0.15)}
    assert len(verdicts["browse"].base) == 6
    assert len(verdicts["buy"].base) == 5
    assert verdicts["browse"].regressed
    assert verdicts["buy"].regressed
    assert "order" not in verdicts  # no base run holds it


def test_too_few_pairs_are_shown_as_not_judged() -> None:
    (verdict,) = [v for v in judge_pairs(_pairs([1.0] * 3, [2.0] * 3), [P50]) if v.key == TOTAL]
    assert verdict.needed is None
    assert not verdict.regressed
    assert "not judged: 3 pairs cannot fail it" in verdict.line()


def test_alpha_is_split_over_the_checks_judged() -> None:
    # two checks of one total: each at 0.025, which 5 pairs of 5 (1 in 32) cannot reach
    checks = [P50, parse_checks("p95:10%")[0]]
    five = [v for v in judge_pairs(_pairs([1.0] * 5, [2.0] * 5), checks) if v.key == TOTAL]
    assert [v.needed for v in five] == [None, None]
    six = [v for v in judge_pairs(_pairs([1.0] * 6, [2.0] * 6), checks) if v.key == TOTAL]
    assert [(v.needed, v.regressed) for v in six] == [(6, True), (6, True)]
