"""``--load-report``, ``--load-progress`` and the GitHub job summary, as a user drives them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SUITE = """
import pytest

def ping():
    pass

def broken():
    raise ValueError("<script>alert(1)</script>")

@pytest.mark.load(users=2, duration="0.3s", sla={"p95": "1s"})
def test_ping(load_runner):
    load_runner.run(ping)

@pytest.mark.load(users=1, duration="0.3s", sla={"error_rate": "1%"})
def test_broken(load_runner):
    load_runner.run(broken)
"""


def test_report_dir_gets_every_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_rep=SUITE)
    result = pytester.runpytest("-m", "load", "--load-report=out/report")
    result.assert_outcomes(passed=1, failed=1)
    report = pytester.path / "out" / "report"
    assert sorted(p.name for p in report.iterdir()) == [
        "index.html",
        "results.json",
        "summary.csv",
        "timeline.csv",
    ]
    result.stdout.fnmatch_lines([f"load report: {report / 'index.html'}"])
    data = json.loads((report / "results.json").read_text())
    assert data["report_schema_version"] == 1
    assert [r["test_id"] for r in data["results"]] == [
        "test_rep.py::test_ping",
        "test_rep.py::test_broken",
    ]
    assert data["metadata"]["args"][:3] == ["-m", "load", "--load-report=out/report"]
    page = (report / "index.html").read_text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    summary = (report / "summary.csv").read_text().splitlines()
    assert any("test_rep.py::test_broken" in line for line in summary[1:])


def test_report_from_ini(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_rep=SUITE)
    pytester.makeini("[pytest]\nload_report = ini-report\n")
    pytester.runpytest("-m", "load", "-k", "ping").assert_outcomes(passed=1)
    assert (pytester.path / "ini-report" / "results.json").is_file()


def test_no_report_without_load_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    pytester.runpytest("--load-report=rep").assert_outcomes(passed=1)
    assert not (pytester.path / "rep").exists()


def test_report_dir_that_is_a_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_rep=SUITE)
    (pytester.path / "taken").write_text("keep me")
    result = pytester.runpytest("-m", "load", "--load-report=taken")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --load-report: 'taken' is a file, not a directory"])
    assert (pytester.path / "taken").read_text() == "keep me"


def test_unwritable_report_is_said_and_results_still_shown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_rep=SUITE)
    (pytester.path / "afile").write_text("not a directory")
    result = pytester.runpytest("-m", "load", "-k", "ping", "--load-report=afile/sub")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*load test results*", "test_rep.py::test_ping*", "load report not written: *afile*"]
    )


def test_github_step_summary_is_appended(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_rep=SUITE)
    summary = pytester.path / "step-summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.runpytest("-m", "load").assert_outcomes(passed=1, failed=1)
    text = summary.read_text()
    assert text.startswith("# earlier step\n")  # appended, not overwritten
    assert "test&#95;ping" in text  # Markdown punctuation is escaped
    assert "<script>" not in text
    assert "&#60;script&#62;alert" in text


def test_progress_line_mode_prints_a_plain_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_long="""
        import time
        import pytest

        @pytest.mark.load(users=1, duration="1.3s")
        def test_long(load_runner):
            load_runner.run(lambda: time.sleep(0.01))
        """
    )
    # a subprocess: progress goes to a descriptor of the real output, which fd capture skips
    result = pytester.runpytest_subprocess(
        "-m", "load", "--load-progress=line", "--load-progress-interval=0.5s"
    )
    result.assert_outcomes(passed=1)
    # each progress line on a line of its own, headed by the test id; pytest's line resumes
    # after them, headed by its file again
    progress = "load test_long.py::test_long [[]<lambda>[]] {}/1.3s *% | users 1/1 | * calls/s"
    result.stdout.fnmatch_lines(
        [
            "test_long.py ",
            progress.format("0.?s") + " | err 0.00% | p95 *ms",
            progress.format("1.?s") + " | err 0.00% | p95 *ms",
            "test_long.py .*[[]100%[]]",
        ]
    )
    assert "\r" not in result.stdout.str()
    assert all(line.startswith("load ") for line in result.stdout.lines if "calls/s |" in line)


def test_progress_lines_leave_pytest_lines_whole(pytester: pytest.Pytester) -> None:
    """Between dots of other tests, and with -v between a test id and its outcome."""
    pytester.makepyfile(
        test_mixed="""
        import time
        import pytest

        def test_before():
            pass

        @pytest.mark.load(users=1, duration="0.8s")
        def test_long(load_runner):
            load_runner.run(lambda: time.sleep(0.01))

        def test_after():
            pass
        """
    )
    args = ["test_mixed.py", "--load-progress=line", "--load-progress-interval=0.3s"]  # named
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["test_mixed.py .", "load test_mixed.py::test_long *", "test_mixed.py ..*[[]100%[]]"]
    )
    verbose = pytester.runpytest_subprocess(*args, "-v")
    verbose.stdout.fnmatch_lines(
        [
            "test_mixed.py::test_before PASSED*",
            "load test_mixed.py::test_long *",
            "test_mixed.py::test_long PASSED*",
            "test_mixed.py::test_after PASSED*",
        ]
    )
    quiet = pytester.runpytest_subprocess(*args, "-q")
    quiet.stdout.fnmatch_lines([".", "load test_mixed.py::test_long *", "..*[[]100%[]]"])


def test_a_run_no_longer_than_the_interval_prints_no_progress(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_short="""
        import time
        import pytest

        @pytest.mark.load(users=1, duration="0.6s")
        def test_short(load_runner):
            load_runner.run(lambda: time.sleep(0.01))
        """
    )
    result = pytester.runpytest_subprocess(
        "-m", "load", "--load-progress=line", "--load-progress-interval=0.6s"
    )
    result.assert_outcomes(passed=1)
    assert "calls/s |" not in result.stdout.str()


def test_progress_live_mode_rewrites_one_line_and_wipes_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_live="""
        import time
        import pytest

        @pytest.mark.load(users=2, duration="1.5s")
        def test_live(load_runner):
            load_runner.run(lambda: time.sleep(0.01))
        """
    )
    result = pytester.runpytest_subprocess("-m", "load", "--load-progress=live")
    result.assert_outcomes(passed=1)
    # LineMatcher splits at "\r" too: each in-place update is a line of its own here
    head = "load test_live.py::test_live [<lambda>] "
    updates = [line for line in result.stdout.lines if line.startswith(head)]
    assert len(updates) >= 3
    assert all("| users 2/2 |" in line for line in updates)
    assert "calls/s | err 0.00% | p95 " in updates[-1]


@pytest.mark.parametrize("args", [["--load-progress=off"], ["-q"]])
def test_progress_off(pytester: pytest.Pytester, args: list[str]) -> None:
    """Off when asked, and by default under -q."""
    pytester.makepyfile(
        test_quiet="""
        import pytest

        @pytest.mark.load(users=1, duration="0.6s")
        def test_quiet(load_runner):
            load_runner.run(lambda: None)
        """
    )
    result = pytester.runpytest_subprocess("-m", "load", *args)
    result.assert_outcomes(passed=1)
    assert "load <lambda>" not in result.stdout.str().split("load test results")[0]


def test_progress_mode_is_checked(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--load-progress=loud")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--load-progress: invalid choice: 'loud'*"])


def test_progress_mode_from_ini_is_checked(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makeini("[pytest]\nload_progress = loud\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: tox.ini option load_progress: progress mode must be*"])


def test_progress_interval_is_checked(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--load-progress-interval=soon")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --load-progress-interval: *soon*"])
