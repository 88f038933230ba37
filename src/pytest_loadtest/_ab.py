"""``pytest-loadtest-ab``: the base and the changed code's load tests run in turns, compared in
pairs (:mod:`pytest_loadtest._baseline._paired`).

::

    git worktree add ../base origin/main
    pytest-loadtest-ab --base ../base --fail p50:10% -- -m load tests/load_testing

Each round runs ``python -m pytest PYTEST-ARGS`` once in the base directory and once here, in an
order drawn at random (``--seed``), each saving its load results into one storage folder
(``--load-save=ab-base`` / ``ab-head``, ``--load-save-failed``); then every ``--fail`` check of
every test and operation is judged over the pairs. Rounds: ``--pairs``, or the fewest with which
every check can fail at ``--alpha``, known once the first round shows how many there are.

Exit status: 0 when no check regressed and every head run passed; 1 when a check regressed or a
head run failed its tests; 2 for bad arguments, a run that ended with pytest's status 2 or more
(interrupted, internal error, usage error, nothing collected) or saved no load results; 130 on
Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, final

from pytest_loadtest._baseline._checks import CheckSpecError, RegressionCheck, parse_checks
from pytest_loadtest._baseline._paired import (
    DEFAULT_ALPHA,
    PairedVerdict,
    checks_judged,
    judge_pairs,
    pairs_needed,
)
from pytest_loadtest._baseline._storage import Baseline, BaselineError, load_run, saved_runs

__all__ = ["main"]

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
        epilog=f"example: {PROG} --base ../base --pairs 5 --fail p50:10% -- -m load tests",
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
        help="most chance that the same code on both sides fails the comparison, split evenly "
        f"over the checks judged (default {DEFAULT_ALPHA})",
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
        help="keep the runs' logs and saved results in DIR (default: a temporary folder, "
        "removed at the end unless a run failed)",
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
    if importlib.util.find_spec("pytest_benchmark") is None:
        raise UsageProblem(
            "the runs' results go to pytest-benchmark's storage (--benchmark-storage): "
            "pip install 'pytest-loadtest[benchmark]'"
        )
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and any(out.iterdir()):
        raise UsageProblem(f"--out: {args.out!r} is not empty (its saved runs would mix in)")
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


@final
@dataclass
class Session:
    """The runs so far: their saved results by side, and which head runs failed their tests."""

    options: Options
    folder: Path
    total: int | None = None  # rounds, once known
    runs: dict[str, list[Baseline]] = field(default_factory=lambda: {s: [] for s in SIDES})
    failed: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in SIDES})

    @property
    def storage(self) -> Path:
        """Where the runs save their results."""
        return self.folder / "storage"

    def _saved(self, side: str) -> set[Path]:
        found: set[Path] = set()
        if self.storage.is_dir():
            for machine in sorted(self.storage.iterdir()):
                if machine.is_dir():
                    runs = saved_runs(self.storage, machine.name)
                    found.update(run.path for run in runs if run.name == f"ab-{side}")
        return found

    def run(self, side: str, index: int) -> None:
        """Run pytest once for ``side`` and read back what it saved."""
        options = self.options
        log = self.folder / f"{side}-{index}.log"
        command = [
            sys.executable,
            "-m",
            "pytest",
            *options.pytest_args,
            f"--load-save=ab-{side}",
            "--load-save-failed",
            f"--benchmark-storage={self.storage.resolve()}",
        ]
        cwd = options.base if side == "base" else Path.cwd()
        env = side_env(cwd, options.env[side])
        before = self._saved(side)
        began = time.monotonic()
        with log.open("wb") as output:
            status = subprocess.call(command, cwd=cwd, env=env, stdout=output, stderr=output)
        took = time.monotonic() - began
        if status >= 2:
            raise UsageProblem(
                f"{side} run {index} ended with pytest's exit status {status} (interrupted, "
                f"internal or usage error, or no tests collected): see {log}"
            )
        new = sorted(self._saved(side) - before)
        if len(new) != 1:
            raise UsageProblem(f"{side} run {index} saved no load results: see {log}")
        try:
            saved = load_run(self.storage, new[0].parent.name, new[0], include_failed=True)
        except BaselineError as exc:
            raise UsageProblem(f"{side} run {index}: {exc}") from None
        self.runs[side].append(saved)
        shown = "passed"
        if status == 1:
            self.failed[side].append(index)
            shown = f"failed its tests (see {log})"
        of = f" of {self.total}" if self.total else ""
        print(f"{PROG}: {side} run {index}{of}: {shown} in {took:.0f}s", flush=True)

    def plan(self) -> None:
        """After the first round: how many rounds the checks need, and whether ``--pairs``
        gives them (:class:`UsageProblem` if not)."""
        options = self.options
        judged = checks_judged(self.runs["head"][0], options.checks)
        needed = pairs_needed(options.alpha / max(judged, 1))
        if options.pairs is not None and options.pairs < needed:
            raise UsageProblem(
                f"--pairs: {options.pairs} pairs can never fail any of the {judged} checks "
                f"(tests and operations x checks) at --alpha {options.alpha:g}, each judged at "
                f"{options.alpha / judged:.2g}: needs at least {needed} (or fewer checks)"
            )
        self.total = options.pairs or needed
        print(
            f"{PROG}: {judged} checks, each judged at alpha {options.alpha / judged:.2g}: "
            f"{self.total} pairs",
            flush=True,
        )

    def pairs(self) -> list[tuple[Baseline, Baseline]]:
        """(base run, head run) of each round."""
        return list(zip(self.runs["base"], self.runs["head"], strict=True))


def side_env(folder: Path, given: dict[str, str]) -> dict[str, str]:
    """The environment of a side's runs: ours, ``given`` over it, and ``folder/src`` first on
    ``PYTHONPATH`` when it exists and ``given`` sets no ``PYTHONPATH``, so that a src-layout
    project installed in editable mode (which points at the head's ``src``) imports each side's
    own code."""
    env = {**os.environ, **given}
    src = folder / "src"
    if "PYTHONPATH" not in given and src.is_dir():
        paths = [str(src.resolve()), *filter(None, [os.environ.get("PYTHONPATH")])]
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def order(rng: random.Random) -> tuple[str, str]:
    """The sides of a round in the order they run, drawn at random: whatever a machine does to
    the first or the second run of a round, the same code on both sides is then as likely to be
    worse as better in each pair, which the sign test assumes."""
    return SIDES if rng.random() < 0.5 else (SIDES[1], SIDES[0])


def report(session: Session, verdicts: Sequence[PairedVerdict]) -> int:
    """Print the verdicts and what failed; the exit status."""
    options = session.options
    print(
        f"{PROG}: {session.total} pairs, base {options.base}, checks "
        f"{', '.join(str(check) for check in options.checks)}; a check fails when so many pairs "
        "are past its threshold that the same code on both sides would fail any check at most "
        f"{options.alpha:g} of the time (sign test, Bonferroni)"
    )
    for verdict in verdicts:
        print(verdict.line())
    regressed = [v for v in verdicts if v.regressed]
    failed = session.failed["head"]
    if session.failed["base"]:
        rounds = ", ".join(map(str, session.failed["base"]))
        print(f"{PROG}: the base failed its tests too, in rounds {rounds}")
    if failed:
        print(
            f"{PROG}: FAILED: head runs failed their tests in rounds {', '.join(map(str, failed))}"
        )
    if regressed:
        print(f"{PROG}: FAILED: {len(regressed)} of {len(verdicts)} checks regressed")
    elif not failed:
        print(f"{PROG}: passed: no check regressed ({len(verdicts)} judged)")
    return 1 if regressed or failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """The command line entry point; returns the exit status."""
    try:
        options = parse_options(sys.argv[1:] if argv is None else argv)
    except UsageProblem as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    if options.out is not None:
        options.out.mkdir(parents=True, exist_ok=True)
        folder, temporary = options.out, False
    else:
        folder, temporary = Path(tempfile.mkdtemp(prefix="loadtest-ab-")), True
    session = Session(options, folder, total=options.pairs)
    seed = options.seed if options.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    print(f"{PROG}: order of each round drawn with --seed {seed}", flush=True)
    keep = False
    try:
        index = 1
        while index <= (session.total or 1):
            for side in order(rng):
                session.run(side, index)
            if index == 1:
                session.plan()
            index += 1
        status = report(session, judge_pairs(session.pairs(), options.checks, options.alpha))
        keep = status != 0
        return status
    except UsageProblem as exc:
        keep = True
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        if temporary and not keep:
            shutil.rmtree(folder, ignore_errors=True)
        elif keep:
            print(f"{PROG}: logs and saved runs kept in {folder}", file=sys.stderr)
