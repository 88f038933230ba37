"""The command line of ``pytest-loadtest-ab``, checked (see the package's docstring)."""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, final

from pytest_loadtest._baseline._checks import CheckSpecError, RegressionCheck, parse_checks
from pytest_loadtest._baseline._paired import DEFAULT_ALPHA, pairs_needed

__all__ = ["PROG", "SIDES", "Options", "UsageProblem", "parse_options"]

PROG: Final = "pytest-loadtest-ab"
SIDES: Final = ("base", "head")
DEFAULT_CHECKS: Final = "p50:10%"


class UsageProblem(Exception):
    """Bad arguments or a run that cannot be compared: exit status 2, with this message."""


@final
@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    base: Path
    pairs: int | None  # None: as many as the checks need (known after the first round)
    checks: tuple[RegressionCheck, ...]
    alpha: float
    env: dict[str, dict[str, str]]
    out: Path | None
    seed: int | None
    pytest_args: tuple[str, ...]


def _env_pair(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip() or name != name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run load tests of the base and the changed code in turns on this machine "
        "and fail on a regression that the pairs agree on.",
        epilog=f"example: {PROG} --base ../base --fail p50:10% -- -m load tests",
    )
    parser.add_argument(
        "--base",
        required=True,
        metavar="DIR",
        help="the base code's checkout (git worktree add ../base origin/main); '.' runs the "
        "same code on both sides, differing only by --base-env / --head-env",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        metavar="N",
        help="rounds of one base and one head run (default: the fewest with which every check "
        "can fail at --alpha, known after the first round: 5 for one check, 6 for two, 8 for "
        "ten)",
    )
    parser.add_argument(
        "--fail",
        default=DEFAULT_CHECKS,
        metavar="CHECKS",
        help="the regression checks, as --load-compare-fail takes them (default "
        f"{DEFAULT_CHECKS.replace('%', '%%')})",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=DEFAULT_ALPHA,
        metavar="P",
        help="most chance that the same code on both sides fails the comparison, split over "
        f"the checks judged (default {DEFAULT_ALPHA})",
    )
    for side in SIDES:
        parser.add_argument(
            f"--{side}-env",
            type=_env_pair,
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=f"an environment variable of the {side} runs only (repeatable)",
        )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="keep the runs' logs and saved results in DIR, a new or empty folder (default: a "
        "temporary folder, removed at the end unless the comparison failed)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="seed of the order of the sides in each round (default: a new one, printed)",
    )
    parser.add_argument("pytest_args", nargs="*", metavar="-- PYTEST-ARGS")
    return parser


def parse_options(argv: Sequence[str]) -> Options:
    """The options, checked; :class:`UsageProblem` naming the bad one."""
    parser = _parser()
    args = parser.parse_args(list(argv))
    base = Path(args.base)
    if not base.is_dir():
        raise UsageProblem(f"--base: {args.base!r} is not a directory")
    try:
        checks = parse_checks(args.fail)
    except CheckSpecError as exc:
        raise UsageProblem(f"--fail: {exc}") from None
    if not 0 < args.alpha < 1:
        raise UsageProblem(f"--alpha: {args.alpha!r} is not between 0 and 1")
    least = pairs_needed(args.alpha)
    if args.pairs is not None and args.pairs < least:
        raise UsageProblem(
            f"--pairs: {args.pairs} pairs can never fail a check at --alpha {args.alpha:g} "
            f"(needs at least {least})"
        )
    out = Path(args.out) if args.out else None
    if out is not None and out.exists():
        if not out.is_dir():
            raise UsageProblem(f"--out: {args.out!r} is not a directory")
        if any(out.iterdir()):
            raise UsageProblem(f"--out: {args.out!r} is not empty (its saved runs would mix in)")
    if importlib.util.find_spec("pytest_benchmark") is None:
        raise UsageProblem(
            "the runs' results go to pytest-benchmark's storage (--benchmark-storage): "
            "pip install 'pytest-loadtest[benchmark]'"
        )
    return Options(
        base=base,
        pairs=args.pairs,
        checks=checks,
        alpha=args.alpha,
        env={"base": dict(args.base_env), "head": dict(args.head_env)},
        out=out,
        seed=args.seed,
        pytest_args=tuple(args.pytest_args),
    )
