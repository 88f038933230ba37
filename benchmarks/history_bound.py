"""How often a run of unchanged code lies beyond its history: a flat 3 spreads against the t bound.

A history of ``n`` saved runs gives a median and a spread (1.4826 x the median absolute
deviation, at least 1% of the median). Each draw takes ``n`` figures of normal noise (standard
deviation ``--noise`` % of their mean) as the history and one more as the current run, and asks
whether the current run lies more than 3 spreads, or more than :func:`allowed_spreads` of ``n``
spreads, worse than the median. Prints, for each ``n``, the spreads allowed, the share of draws
beyond each bound (the false alarms of unchanged code that one run gives without confirmation),
and how many spreads would have held all but 1 draw in 741 (0.13%, the one-sided reach of 3
standard deviations of a normal figure, which the t bound gives the mean and standard deviation
but not the median and MAD used here: their figures scatter more).

    python benchmarks/history_bound.py [--draws 20000] [--seed 7] [--noise 5]
"""

from __future__ import annotations

import argparse
import random
import statistics

from pytest_loadtest._baseline._checks import parse_checks
from pytest_loadtest._baseline._history import COVERAGE, History, allowed_spreads

P50 = parse_checks("p50:10%")[0]


def beyond(runs: int, draws: int, noise: float, rng: random.Random) -> tuple[float, float, float]:
    """Shares of draws beyond 3 spreads and beyond the t bound, for a history of ``runs``, and
    the spreads that all but 1 draw in 741 lay within."""
    labels = tuple(f"{n:04d}_main" for n in range(runs, 0, -1))
    spreads = []
    for _ in range(draws):
        history = History(tuple(rng.gauss(100.0, noise) for _ in range(runs)), labels, labels[0])
        spreads.append(history.spreads(P50, rng.gauss(100.0, noise)))
    allowed = allowed_spreads(runs)
    flat = sum(s > 3.0 for s in spreads) / draws
    bounded = sum(s > allowed for s in spreads) / draws
    needed = statistics.quantiles(spreads, n=10_000)[round(COVERAGE * 10_000) - 1]
    return flat, bounded, needed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--noise", type=float, default=5.0, help="standard deviation, % of mean")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(
        f"{'runs':>5} {'allowed':>8} {'beyond 3 spreads':>17} {'beyond the bound':>17}"
        f" {'1 in 741 needs':>15}"
    )
    for runs in (3, 5, 10, 20, 30):
        flat, bounded, needed = beyond(runs, args.draws, args.noise, rng)
        print(
            f"{runs:>5} {allowed_spreads(runs):>8.1f} {flat:>17.2%} {bounded:>17.2%}"
            f" {needed:>15.1f}"
        )


if __name__ == "__main__":
    main()
