"""How often a run of unchanged code lies beyond its history: a flat 3 spreads against the t bound.

A history of ``n`` saved runs gives a median and a spread (1.4826 x the median absolute
deviation). Each draw takes ``n`` figures of normal noise as the history and one more as the
current run, and asks whether the current run lies more than 3 spreads, or more than
:func:`allowed_spreads` of ``n`` spreads, worse than the median. Prints, for each ``n``, the
spreads allowed and the share of draws beyond each bound: the false alarms of unchanged code
that one run gives without confirmation. The ideal share is 1 in 741 (0.13%), that of 3 standard
deviations of a normal figure.

    python benchmarks/history_bound.py [--draws 20000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random

from pytest_loadtest._baseline._checks import parse_checks
from pytest_loadtest._baseline._history import History, allowed_spreads

P50 = parse_checks("p50:10%")[0]


def beyond(runs: int, draws: int, rng: random.Random) -> tuple[float, float]:
    """Shares of draws beyond 3 spreads and beyond the t bound, for a history of ``runs``."""
    flat = bounded = 0
    labels = tuple(f"{n:04d}_main" for n in range(runs, 0, -1))
    for _ in range(draws):
        history = History(tuple(rng.gauss(100.0, 5.0) for _ in range(runs)), labels, labels[0])
        spreads = history.spreads(P50, rng.gauss(100.0, 5.0))
        flat += spreads > 3.0
        bounded += spreads > history.allowed
    return flat / draws, bounded / draws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"{'runs':>5} {'allowed':>8} {'beyond 3 spreads':>17} {'beyond the bound':>17}")
    for runs in (3, 5, 10, 20, 30):
        flat, bounded = beyond(runs, args.draws, rng)
        print(f"{runs:>5} {allowed_spreads(runs):>8.1f} {flat:>17.2%} {bounded:>17.2%}")


if __name__ == "__main__":
    main()
