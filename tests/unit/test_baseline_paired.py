"""Paired A/B comparison (issue 16, point 7): how many pairs must be worse, and the
verdicts over pairs of saved runs."""

from __future__ import annotations

import math
import random

import pytest

from pytest_loadtest._ab._runs import order
from pytest_loadtest._baseline._checks import parse_checks
from pytest_loadtest._baseline._entry import EntryKey
from pytest_loadtest._baseline._paired import (
    PairedVerdict,
    checks_held,
    family_size,
    judge_pairs,
    pairs_needed,
    worse_needed,
)
from pytest_loadtest._baseline._storage import Baseline

from helpers.baseline_samples import TEST_ID, saved_run

P50 = parse_checks("p50:10%")[0]
THROUGHPUT = parse_checks("throughput:-5%")[0]
TOTAL = EntryKey(TEST_ID, "shop")


def _pairs(base: list[float], head: list[float]) -> list[tuple[Baseline, Baseline]]:
    return [
        (saved_run(2 * i + 1, b), saved_run(2 * i + 2, h))
        for i, (b, h) in enumerate(zip(base, head, strict=True))
    ]


# -- how many pairs ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pairs", "alpha", "needed"),
    [(5, 0.05, 5), (6, 0.05, 6), (8, 0.05, 7), (10, 0.05, 9), (7, 0.01, 7), (10, 0.01, 10)],
)
def test_worse_needed_is_the_sign_tests_critical_count(
    pairs: int, alpha: float, needed: int
) -> None:
    assert worse_needed(pairs, alpha) == needed


@pytest.mark.parametrize("pairs", range(1, 31))
@pytest.mark.parametrize("alpha", [0.001, 0.01, 0.05, 0.1, 0.3])
def test_the_count_needed_holds_unchanged_code_to_alpha_and_no_lower_count_does(
    pairs: int, alpha: float
) -> None:
    def tail(k: int) -> float:  # P(Binomial(pairs, 1/2) >= k)
        return sum(math.comb(pairs, j) for j in range(k, pairs + 1)) / (1 << pairs)

    needed = worse_needed(pairs, alpha)
    if needed is None:
        assert tail(pairs) > alpha
    else:
        assert tail(needed) <= alpha < tail(needed - 1)


def test_pairs_needed_is_the_fewest_that_can_fail_a_check() -> None:
    assert pairs_needed(0.05) == 5
    assert pairs_needed(0.01) == 7
    assert worse_needed(4, 0.05) is None


# -- verdicts ------------------------------------------------------------------------------------
def test_a_slowdown_in_every_pair_regresses_though_the_pairs_differ_threefold() -> None:
    # a machine whose runs of the same code differ 3x (calm, stormy): each head 25% slower
    # than its own base
    base = [1.0, 3.0, 1.2, 2.8, 1.0]
    verdicts = judge_pairs(_pairs(base, [b * 1.25 for b in base]), [P50])
    (total,) = [v for v in verdicts if v.key == TOTAL]
    assert (total.worse, total.needed) == (5, 5)
    assert total.change == pytest.approx(0.25, abs=0.01)
    assert total.regressed
    line = total.line()
    assert line.startswith(f"REGRESSION {TOTAL.label()} p50 +10%: 5 of 5 pairs worse (fails at 5)")
    assert "median change +2" in line


def test_a_sure_change_smaller_than_the_threshold_passes() -> None:
    base = [1.0, 3.0, 1.2, 2.8, 1.0]
    (verdict,) = [
        v for v in judge_pairs(_pairs(base, [b * 1.05 for b in base]), [P50]) if v.key == TOTAL
    ]
    assert verdict.worse == 5
    assert verdict.change < 0.10
    assert not verdict.regressed
    assert verdict.line().startswith("ok ")


def test_one_pair_better_with_five_pairs_does_not_regress() -> None:
    base = [1.0, 3.0, 1.2, 2.8, 1.0]
    head = [1.25, 3.75, 1.5, 2.8 * 0.95, 1.25]  # the fourth pair 5% better
    (verdict,) = [v for v in judge_pairs(_pairs(base, head), [P50]) if v.key == TOTAL]
    assert verdict.worse == 4
    assert not verdict.regressed


def test_with_ten_pairs_one_stormy_pair_does_not_hide_a_slowdown() -> None:
    base = [1.0] * 10
    head = [1.25] * 9 + [0.5]  # the base's run of one pair met a storm
    (verdict,) = [v for v in judge_pairs(_pairs(base, head), [P50]) if v.key == TOTAL]
    assert (verdict.worse, verdict.needed, verdict.regressed) == (9, 9, True)


def _false_alarms(rng: random.Random, *, draw_order: bool) -> float:
    """Share of A/A comparisons of 5 pairs (one check) that fail, on a machine whose second run
    of a round is 3 times slower 4 times in 5: sides in a drawn order, or head always second."""
    needed = worse_needed(5, 0.05)
    failed = 0
    trials = 2_000
    for _ in range(trials):
        base: list[float] = []
        head: list[float] = []
        for _ in range(5):
            first = rng.uniform(0.9, 1.1)
            second = rng.uniform(0.9, 1.1) * (3.0 if rng.random() < 0.8 else 1.0)
            sides = order(rng) if draw_order else ("base", "head")
            pair = (first, second) if sides[0] == "base" else (second, first)
            base.append(pair[0])
            head.append(pair[1])
        failed += PairedVerdict(TOTAL, P50, tuple(base), tuple(head), needed).regressed
    return failed / trials


def test_the_drawn_order_holds_false_alarms_to_alpha_on_a_machine_that_favours_a_run() -> None:
    rng = random.Random(16)
    # drawn: head worse in a pair with a chance of exactly 1/2, all 5 worse 1 in 32 (3.1%)
    assert _false_alarms(rng, draw_order=True) <= 0.05
    # the control: head always second, worse 9 times in 10, all 5 worse 0.9^5 = 59% of the time
    assert _false_alarms(rng, draw_order=False) > 0.3


def test_throughput_is_judged_as_a_fall() -> None:
    # the same seconds: 25% fewer calls is 25% less throughput
    fewer = [(saved_run(i, 1.0), saved_run(100 + i, 1.0, n=1_500)) for i in range(5)]
    (fell,) = [v for v in judge_pairs(fewer, [THROUGHPUT]) if v.key == TOTAL]
    assert (fell.worse, fell.regressed) == (5, True)
    assert fell.change_text() == "-25.0%"
    more = [(saved_run(i, 1.0, n=1_500), saved_run(100 + i, 1.0)) for i in range(5)]
    (rose,) = [v for v in judge_pairs(more, [THROUGHPUT]) if v.key == TOTAL]
    assert (rose.worse, rose.regressed) == (0, False)
    assert rose.change_text() == "+33.3%"


def test_each_operation_is_judged_and_a_missing_one_over_the_pairs_that_hold_it() -> None:
    ops = {"browse": 2.0, "buy": 4.0}
    pairs = [
        (saved_run(i, 1.0, operations=ops), saved_run(100 + i, 1.5, operations=ops))
        for i in range(5)
    ]
    # a sixth pair whose head ran no "buy" (a renamed operation, say)
    renamed = {"browse": 2.0, "order": 4.0}
    pairs.append((saved_run(6, 1.0, operations=ops), saved_run(106, 1.5, operations=renamed)))
    # three verdicts (the total, browse, buy): each judged at 0.15 / 3
    verdicts = {v.key.operation: v for v in judge_pairs(pairs, [P50], alpha=0.15)}
    assert len(verdicts["browse"].base) == 6
    assert len(verdicts["buy"].base) == 5
    assert verdicts["browse"].regressed
    assert verdicts["buy"].regressed
    assert "order" not in verdicts  # no base run holds it


def test_too_few_pairs_are_shown_as_unjudged() -> None:
    (verdict,) = [v for v in judge_pairs(_pairs([1.0] * 3, [2.0] * 3), [P50]) if v.key == TOTAL]
    assert verdict.needed is None
    assert not verdict.regressed
    assert verdict.line().startswith(
        f"UNJUDGED {TOTAL.label()} p50 +10%: held by 3 pairs, too few to ever fail it"
    )


def test_a_check_too_few_pairs_hold_takes_no_share_of_alpha() -> None:
    # a rare operation seen in one pair of six: it can never fail, so the other two checks are
    # judged at 0.05 / 2 (6 of 6), not 0.05 / 3 (7 pairs needed: never with 6)
    ops = {"browse": 2.0, "buy": 4.0}
    rare = {"browse": 2.0, "buy": 4.0, "rare": 1.0}
    pairs = [
        (saved_run(i, 1.0, operations=ops), saved_run(100 + i, 1.5, operations=ops))
        for i in range(5)
    ]
    pairs.append((saved_run(6, 1.0, operations=rare), saved_run(106, 1.5, operations=rare)))
    verdicts = {v.key.operation: v for v in judge_pairs(pairs, [P50])}
    assert family_size([6, 6, 6, 1], 0.05) == 3
    assert verdicts["rare"].needed is None
    assert [verdicts[k].needed for k in (None, "browse", "buy")] == [6, 6, 6]
    assert all(verdicts[k].regressed for k in (None, "browse", "buy"))


def test_alpha_is_split_over_the_checks_judged() -> None:
    # two checks of one total: each at 0.025, which 5 pairs of 5 (1 in 32) cannot reach
    checks = [P50, parse_checks("p95:10%")[0]]
    five = [v for v in judge_pairs(_pairs([1.0] * 5, [2.0] * 5), checks) if v.key == TOTAL]
    assert [v.needed for v in five] == [None, None]
    six = [v for v in judge_pairs(_pairs([1.0] * 6, [2.0] * 6), checks) if v.key == TOTAL]
    assert [(v.needed, v.regressed) for v in six] == [(6, True), (6, True)]


def test_a_check_on_too_few_calls_is_left_unjudged_as_load_compare_fail_leaves_it() -> None:
    # p1 needs 1,000 calls in each run (10 below it): runs of 500 are left out, not judged on
    # their 5th fastest call, and take no share of alpha
    pairs = [
        (saved_run(seed, n=500), saved_run(seed + 100, slower=2.0, n=500)) for seed in range(5)
    ]
    (p1, p50) = judge_pairs(pairs, parse_checks("p1:10%,p50:10%"))
    assert (p1.base, p1.low_sample, p1.needed, p1.regressed) == ((), 5, None, False)
    assert p1.line() == (
        f"UNJUDGED {TOTAL.label()} p1 +10%: low sample, p1 needs 1,000 calls in each run, "
        "and 5 pairs had fewer"
    )
    assert (p50.worse, p50.needed, p50.regressed) == (5, 5, True)  # alpha not split in two
    assert checks_held(pairs, parse_checks("p1:10%,p50:10%")) == 1
