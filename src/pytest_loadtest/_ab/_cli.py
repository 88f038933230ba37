"""``pytest-loadtest-ab``'s entry point: the rounds, then the verdicts (see the package's
docstring)."""

from __future__ import annotations

import random
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pytest_loadtest._ab._options import PROG, UsageProblem, parse_options
from pytest_loadtest._ab._runs import HeadFailed, Session, order
from pytest_loadtest._baseline._paired import PairedVerdict, judge_pairs, one_sided

__all__ = ["main", "report"]


def _rounds(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers))


def report(session: Session, verdicts: Sequence[PairedVerdict]) -> int:
    """Print the verdicts and what failed; the exit status: 1 when a check regressed or a head
    run failed its tests, 2 when no check could be judged, else 0."""
    options = session.options
    print(
        f"{PROG}: {len(session.pairs())} pairs, base {options.base}, checks "
        f"{', '.join(str(check) for check in options.checks)}; a check fails when so many pairs "
        "have the head worse that the same code on both sides would fail any check at most "
        f"{options.alpha:g} of the time (sign test, Bonferroni), and the pairs' median change is "
        "past its threshold"
    )
    for verdict in verdicts:
        print(verdict.line())
    only_base, only_head = one_sided(session.pairs())
    for side, labels in (("base", only_base), ("head", only_head)):
        if labels:
            print(f"{PROG}: not compared, only the {side}'s runs hold: {'; '.join(labels)}")
    judged = [v for v in verdicts if v.needed is not None]
    regressed = [v for v in judged if v.regressed]
    failed = session.failed["head"]
    if session.failed["base"]:
        print(f"{PROG}: the base failed its tests in rounds {_rounds(session.failed['base'])}")
    if failed:
        print(f"{PROG}: FAILED: head runs failed their tests in rounds {_rounds(failed)}")
    low = sum(not v.base for v in verdicts)
    unjudged = len(verdicts) - len(judged) - low
    held = f"{len(judged)} judged" + (f", {unjudged} held by too few pairs" if unjudged else "")
    held += f", {low} on too few calls" if low else ""
    if regressed:
        print(f"{PROG}: FAILED: {len(regressed)} of {len(judged)} checks regressed ({held})")
    elif not judged:
        print(f"{PROG}: error: no check could be judged ({held})", file=sys.stderr)
        return 1 if failed else 2
    elif not failed:
        print(f"{PROG}: passed: no check regressed ({held})")
    return 1 if regressed or failed else 0


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) ends the comparison as Ctrl-C does: the run under way is
    interrupted and waited for, not left running."""
    try:
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    except ValueError:  # not the main thread: leave SIGTERM alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line entry point; returns the exit status."""
    try:
        options = parse_options(sys.argv[1:] if argv is None else argv)
        if options.out is not None:
            try:
                options.out.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UsageProblem(f"--out: cannot create {str(options.out)!r}: {exc}") from None
    except UsageProblem as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    if options.out is not None:
        folder, temporary = options.out, False
    else:
        folder, temporary = Path(tempfile.mkdtemp(prefix="loadtest-ab-")), True
    session = Session(options, folder)
    seed = options.seed if options.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    print(f"{PROG}: order of each round drawn with --seed {seed}", flush=True)
    keep = True
    try:
        with _terminate_as_interrupt():
            index = 1
            while index <= (session.total or 1):
                for side in order(rng):
                    session.run(side, index)
                session.plan()
                index += 1
        verdicts = judge_pairs(session.pairs(), options.checks, options.alpha)
        status = report(session, verdicts)
        keep = status != 0
        return status
    except (UsageProblem, HeadFailed) as exc:
        print(
            f"{PROG}: {'error: ' if isinstance(exc, UsageProblem) else 'FAILED: '}{exc}",
            file=sys.stderr,
        )
        return 2 if isinstance(exc, UsageProblem) else 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        if temporary and not keep:
            shutil.rmtree(folder, ignore_errors=True)
        elif keep:
            print(f"{PROG}: logs and saved runs kept in {folder}", file=sys.stderr)
