"""``pytest-loadtest-ab`` (issue 16, point 7): base and head load tests in turns, judged in pairs.
Runs real pytest sessions in subprocesses, each a load test of 40 calls of one user."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_loadtest._ab import main, order, parse_options, side_env
from pytest_loadtest._baseline._benchmark_compat import benchmark_version

needs_benchmark = pytest.mark.skipif(
    benchmark_version() is None, reason="pytest-benchmark is not installed"
)

# sleeps AB_SLEEP_MS (default 1) per call; AB_FAIL fails the test after the run
TEST_FILE = """
import os, time
import pytest

@pytest.mark.load(users=1, iterations=40, duration="60s")
def test_sleepy(load_runner):
    pause = float(os.environ.get("AB_SLEEP_MS", "1")) / 1000
    load_runner.run(lambda: time.sleep(pause))
    assert not os.environ.get("AB_FAIL")
"""
PYTEST_ARGS = ["--", "-p", "no:randomly", "-p", "no:cacheprovider", "-q", "test_sleepy.py"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "test_sleepy.py").write_text(textwrap.dedent(TEST_FILE))
    monkeypatch.chdir(tmp_path)
    for name in ("AB_SLEEP_MS", "AB_FAIL", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_the_order_of_each_round_is_drawn_from_the_seed() -> None:
    drawn = [order(random.Random(seed)) for seed in range(400)]
    assert set(drawn) == {("base", "head"), ("head", "base")}
    assert 150 < drawn.count(("base", "head")) < 250  # fair: 200 +- 5 standard deviations
    rng, again = random.Random(7), random.Random(7)
    assert [order(rng) for _ in range(20)] == [order(again) for _ in range(20)]


def test_each_side_imports_its_own_src_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    (tmp_path / "src").mkdir()
    env = side_env(tmp_path, {"OTHER": "1"})
    assert env["PYTHONPATH"] == os.pathsep.join([str((tmp_path / "src").resolve()), "/elsewhere"])
    assert env["OTHER"] == "1"
    # a PYTHONPATH given for the side is left as given; no src folder: nothing added
    assert side_env(tmp_path, {"PYTHONPATH": "mine"})["PYTHONPATH"] == "mine"
    assert side_env(tmp_path / "src", {})["PYTHONPATH"] == "/elsewhere"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "missing"], "--base: 'missing' is not a directory"),
        (["--base", ".", "--fail", "p95:-10%"], "--fail: bad regression check 'p95:-10%'"),
        (
            ["--base", ".", "--pairs", "4"],
            "--pairs: 4 pairs can never fail a check at --alpha 0.05",
        ),
        (["--base", ".", "--alpha", "1.5"], "--alpha: 1.5 is not between 0 and 1"),
    ],
)
def test_bad_arguments_exit_2_naming_the_option_and_value(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_a_bad_environment_pair_is_an_argparse_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_options(["--base", ".", "--head-env", "NOVALUE"])
    assert exit_info.value.code == 2
    assert "expected NAME=VALUE, got 'NOVALUE'" in capsys.readouterr().err


def test_out_must_be_empty(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "out").mkdir()
    (project / "out" / "old.json").write_text("{}")
    assert main(["--base", ".", "--out", "out"]) == 2
    assert "--out: 'out' is not empty" in capsys.readouterr().err


@needs_benchmark
def test_a_head_slower_in_every_pair_fails_and_keeps_its_runs(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 1 ms against 40 ms a call: the medians differ 40-fold however busy the machine is
    args = ["--base", ".", "--pairs", "1", "--alpha", "0.5", "--head-env", "AB_SLEEP_MS=40"]
    assert main([*args, "--out", "out", *PYTEST_ARGS]) == 1
    out = capsys.readouterr().out
    assert "base run 1 of 1: passed" in out
    assert "head run 1 of 1: passed" in out
    assert "REGRESSION test_sleepy.py::test_sleepy [<lambda>] p50 +10%: 1 of 1 pairs past it" in out
    assert "FAILED: 1 of 1 checks regressed" in out
    saved = sorted(path.name for path in (project / "out" / "storage").rglob("*.json"))
    assert saved in (
        ["0001_ab-base.json", "0002_ab-head.json"],
        ["0001_ab-head.json", "0002_ab-base.json"],
    )
    assert (project / "out" / "head-1.log").is_file()


@needs_benchmark
def test_no_regression_passes_and_a_failing_head_run_fails(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the same code: no median grows by a second, however busy the machine is
    args = ["--base", ".", "--pairs", "1", "--alpha", "0.5", "--fail", "p50:+1s", *PYTEST_ARGS]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "ok test_sleepy.py::test_sleepy [<lambda>] p50 +1.00s: 0 of 1 pairs past it" in out
    assert "passed: no check regressed (1 judged)" in out

    assert main(["--head-env", "AB_FAIL=1", *args]) == 1
    captured = capsys.readouterr()
    assert "head run 1 of 1: failed its tests" in captured.out
    assert "FAILED: head runs failed their tests in rounds 1" in captured.out
    assert "logs and saved runs kept in" in captured.err


@needs_benchmark
def test_a_run_that_collects_nothing_stops_the_comparison(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "--base",
        ".",
        "--pairs",
        "1",
        "--alpha",
        "0.5",
        "--",
        "-p",
        "no:randomly",
        "-k",
        "nothing",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert re.search(r"(base|head) run 1 ended with pytest's exit status 5 .* see .*-1\.log", err)


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "pytest-loadtest-ab"
    if not script.exists():
        pytest.skip("not installed as a package (no console script)")
    done = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, check=False, env=dict(os.environ)
    )
    assert done.returncode == 0
    assert "--base DIR" in done.stdout
