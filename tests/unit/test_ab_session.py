"""``pytest-loadtest-ab`` without subprocesses (issue 16, point 7): how many rounds the checks
need as they appear, and the exit status the verdicts give."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_loadtest._ab._cli import report
from pytest_loadtest._ab._options import Options, UsageProblem
from pytest_loadtest._ab._runs import Session
from pytest_loadtest._baseline._checks import parse_checks
from pytest_loadtest._baseline._paired import judge_pairs

from helpers.baseline_samples import saved_run

OPS = {"browse": 2.0, "buy": 4.0}  # a total and two operations: 3 checks of one metric


def _session(pairs: int | None = None, checks: str = "p50:10%") -> Session:
    options = Options(
        base=Path("../base"),
        pairs=pairs,
        checks=parse_checks(checks),
        alpha=0.05,
        env={"base": {}, "head": {}},
        out=None,
        seed=None,
        pytest_args=(),
    )
    return Session(options, Path("unused"))


def _round(session: Session, seed: int, slower: float, ops: dict[str, float]) -> None:
    session.runs["base"].append(saved_run(seed, operations=ops))
    session.runs["head"].append(saved_run(1000 + seed, slower, operations=ops))
    session.plan()


def test_the_rounds_follow_the_checks_held_and_grow_when_more_appear(
    capsys: pytest.CaptureFixture[str],
) -> None:
    session = _session()
    _round(session, 1, 1.0, {"browse": 2.0})  # one operation: the total alone, 1 check
    assert session.total == 5
    # an operation first seen in round 2: 3 checks, each at 0.05 / 3, need 6 rounds
    _round(session, 2, 1.0, OPS)
    assert session.total == 6
    _round(session, 3, 1.0, OPS)
    assert session.total == 6
    out = capsys.readouterr().out
    assert "1 checks, each judged at alpha 0.05: 5 pairs" in out
    assert "3 checks, each judged at alpha 0.017: 6 pairs" in out


def test_pairs_given_too_few_for_the_checks_of_the_first_round_are_refused() -> None:
    session = _session(pairs=5, checks="p50:10%,p95:10%")
    with pytest.raises(UsageProblem, match=r"--pairs: 5 pairs can never fail any of the 6 checks"):
        _round(session, 1, 1.0, OPS)
    enough = _session(pairs=7, checks="p50:10%,p95:10%")
    _round(enough, 1, 1.0, OPS)
    assert enough.total == 7


def _report(session: Session) -> int:
    checks = session.options.checks
    return report(session, judge_pairs(session.pairs(), checks, session.options.alpha))


def test_a_slowdown_in_every_round_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    session = _session()
    for seed in range(1, 7):
        _round(session, seed, 1.5, OPS)
    assert _report(session) == 1
    out = capsys.readouterr().out
    assert out.count("REGRESSION ") == 3
    assert "FAILED: 3 of 3 checks regressed (3 judged)" in out


def test_the_same_figures_exit_0_and_a_failed_base_is_told(
    capsys: pytest.CaptureFixture[str],
) -> None:
    session = _session()
    for seed in range(1, 6):
        session.runs["base"].append(saved_run(seed))
        session.runs["head"].append(saved_run(seed))
    session.failed["base"].append(2)
    assert _report(session) == 0
    out = capsys.readouterr().out
    assert "the base failed its tests in rounds 2" in out
    assert "passed: no check regressed (1 judged)" in out


def test_nothing_judged_is_an_error_not_a_pass(capsys: pytest.CaptureFixture[str]) -> None:
    # the pull request renamed the test's operations: no pair compares anything
    session = _session()
    for seed in range(1, 6):
        session.runs["base"].append(saved_run(seed, operations={"old": 2.0, "gone": 1.0}))
        session.runs["head"].append(saved_run(seed, operations={"new": 2.0, "added": 1.0}))
    verdicts = judge_pairs(session.pairs(), session.options.checks)
    # only the totals are compared (same test and run name): judge without them
    without_total = [v for v in verdicts if v.key.operation is not None]
    assert report(session, without_total) == 2
    captured = capsys.readouterr()
    assert "not compared, only the base's runs hold:" in captured.out
    assert "[shop] old" in captured.out
    assert "not compared, only the head's runs hold:" in captured.out
    assert "error: no check could be judged (0 judged)" in captured.err


def test_checks_too_few_pairs_hold_are_counted_apart(capsys: pytest.CaptureFixture[str]) -> None:
    session = _session()
    for seed in range(1, 7):
        ops = {**OPS, "rare": 1.0} if seed == 6 else OPS
        session.runs["base"].append(saved_run(seed, operations=ops))
        session.runs["head"].append(saved_run(seed, operations=ops))
    assert _report(session) == 0
    out = capsys.readouterr().out
    assert "UNJUDGED " in out
    assert "passed: no check regressed (3 judged, 1 held by too few pairs)" in out
