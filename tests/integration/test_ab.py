"""``pytest-loadtest-ab`` (issue 16, point 7): base and head load tests in turns, judged in pairs.
Runs real pytest sessions in subprocesses, each a load test of 40 calls of one user."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pytest_loadtest._ab._cli import main
from pytest_loadtest._ab._options import parse_options
from pytest_loadtest._ab._runs import order, side_env
from pytest_loadtest._baseline._benchmark_compat import benchmark_version

needs_benchmark = pytest.mark.skipif(
    benchmark_version() is None, reason="pytest-benchmark is not installed"
)

# every call fails with AB_ERRORS set (an error rate of 100% against 0%: no clock in the verdict);
# AB_FAIL fails the test after the run, AB_SETUP_ERROR before it; AB_STARTED names a file
# written when the run starts, AB_TORN_DOWN one written after a teardown of AB_TEARDOWN seconds
TEST_FILE = """
import os, time
from pathlib import Path
import pytest

@pytest.fixture
def slow_teardown():
    if os.environ.get("AB_SETUP_ERROR"):
        raise RuntimeError("set-up broke")
    yield
    time.sleep(float(os.environ.get("AB_TEARDOWN", "0")))
    if os.environ.get("AB_TORN_DOWN"):
        Path(os.environ["AB_TORN_DOWN"]).write_text("done")

def call():
    if os.environ.get("AB_ERRORS"):
        raise ValueError("broken")

@pytest.mark.load(users=1, duration="60s")
def test_calls(load_runner, slow_teardown):
    if os.environ.get("AB_STARTED"):
        Path(os.environ["AB_STARTED"]).write_text("go")
        load_runner.run(call)  # 60 seconds, unless interrupted
    load_runner.run(call, iterations=40)
    assert not os.environ.get("AB_FAIL")
"""
ENV = (
    "AB_ERRORS",
    "AB_FAIL",
    "AB_SETUP_ERROR",
    "AB_STARTED",
    "AB_TEARDOWN",
    "AB_TORN_DOWN",
    "PYTEST_ADDOPTS",
)
ERRORS = ["--fail", "error_rate:+0.5%"]
PYTEST_ARGS = ["--", "-p", "no:randomly", "-p", "no:cacheprovider", "-q", "test_calls.py"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "test_calls.py").write_text(textwrap.dedent(TEST_FILE))
    monkeypatch.chdir(tmp_path)
    for name in ENV:
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
def test_a_head_worse_in_every_pair_fails_and_keeps_its_runs(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--base", ".", "--pairs", "1", "--alpha", "0.5", "--head-env", "AB_ERRORS=1", *ERRORS]
    assert main([*args, "--out", "out", *PYTEST_ARGS]) == 1
    out = capsys.readouterr().out
    assert "base run 1: passed" in out
    assert "head run 1: passed" in out
    assert (
        "REGRESSION test_calls.py::test_calls [call] error_rate +0.5 points: 1 of 1 pairs worse"
        in out
    )
    assert "median change +100.00 points" in out
    assert "FAILED: 1 of 1 checks regressed (1 judged)" in out
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
    args = ["--base", ".", "--pairs", "1", "--alpha", "0.5", *ERRORS, *PYTEST_ARGS]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "ok test_calls.py::test_calls [call] error_rate +0.5 points: 0 of 1 pairs worse" in out
    assert "passed: no check regressed (1 judged)" in out

    assert main(["--head-env", "AB_FAIL=1", *args]) == 1
    captured = capsys.readouterr()
    assert "head run 1: failed its tests" in captured.out
    assert "FAILED: head runs failed their tests in rounds 1" in captured.out
    assert "logs and saved runs kept in" in captured.err


@needs_benchmark
def test_a_head_run_that_fails_before_saving_fails_the_comparison(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--base", ".", "--pairs", "1", "--alpha", "0.5", *ERRORS]
    assert main([*args, "--head-env", "AB_SETUP_ERROR=1", *PYTEST_ARGS]) == 1
    err = capsys.readouterr().err
    assert re.search(
        r"FAILED: head run 1 failed before it saved any load result: see .*head-1", err
    )
    # the base failing so is no verdict on the head: the comparison cannot be made
    assert main([*args, "--base-env", "AB_SETUP_ERROR=1", *PYTEST_ARGS]) == 2
    err = capsys.readouterr().err
    assert "error: base run 1 failed before it saved any load result" in err


@needs_benchmark
def test_ctrl_c_lets_the_run_under_way_tear_down_and_keeps_the_logs(tmp_path: Path) -> None:
    (tmp_path / "test_calls.py").write_text(textwrap.dedent(TEST_FILE))
    started, torn_down = tmp_path / "started", tmp_path / "torn-down"
    env = {**os.environ, "AB_STARTED": str(started), "AB_TORN_DOWN": str(torn_down)}
    env.update(AB_TEARDOWN="1", PYTEST_ADDOPTS="")
    command = [
        sys.executable,
        "-c",
        "import sys; from pytest_loadtest._ab._cli import main; sys.exit(main())",
        "--base",
        ".",
        *PYTEST_ARGS,
    ]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the first run never started"
        os.killpg(process.pid, signal.SIGINT)  # as a terminal sends it: to every process
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130
    assert torn_down.read_text() == "done"  # the teardown's second ran to its end
    assert "interrupted" in err
    assert "logs and saved runs kept in" in err


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
