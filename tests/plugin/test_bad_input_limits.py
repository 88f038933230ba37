"""Issue 12, bad input: numbers that are not finite or are absurdly large, seeds that are not
integers, paths the system refuses. Each gives a usage error at collection or start-up (or a
failed test for ``run()`` arguments), naming the setting, the value and its source."""

from __future__ import annotations

import pytest

from plugin.test_bad_input import assert_clean, output, usage_error


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ("sla={'p95': '9' * 400}", "invalid sla=*: SLA p95: *is not a finite number"),
        ("sla={'p95': 10**400}", "invalid sla=*: SLA p95: *is not a finite number (too large)"),
        ("sla={'p95': '9999999999999ms'}", "*above the limit of 2,592,000,000ms (30 days)"),
        ("sla={'throughput_min': 'inf'}", "*SLA throughput_min: 'inf' is not a finite number"),
        ("sla={'throughput_min': 'nan'}", "*SLA throughput_min: 'nan' is not a finite number"),
        ("seed=float('inf')", "invalid seed=inf: inf is not an integer seed"),
        ("seed=1.5", "invalid seed=1.5: 1.5 is not an integer seed"),
        ("rate='nan'", "invalid rate='nan': *(accepted: 0.001 to 1,000,000 per second)"),
        ("rate='inf'", "invalid rate='inf': *(accepted: 0.001 to 1,000,000 per second)"),
        ("rate='1e400'", "invalid rate='1e400': *not a finite number*"),
        ("rate=1e-300", "invalid rate=1e-300: 1e-300 is below the lowest rate, 0.001 per second*"),
        ("duration='1e400'", "invalid duration='1e400': '1e400' is not a finite number"),
        ("duration=float('inf')", "invalid duration=inf: inf is not a finite number"),
        ("think_time=float('inf')", "invalid think_time=inf: inf is not a finite number"),
        ("monitor_interval=float('inf')", "invalid monitor_interval=inf: *not a finite number"),
        ("users=10**7", "invalid users=10000000: 10000000 is above the limit of 100,000"),
        ("stages='10s:1e300'", "invalid stages=*: stage 1: target '1e300' is above the limit*"),
        ("rate_stages=[('1s', 1e300)]", "invalid rate_stages=*: stage 1: target 1e+300 is above*"),
        (
            "detectors={'n_plus_one': {'per_call': float('nan')}}",
            "invalid detectors=*: detector 'n_plus_one': threshold 'per_call' must be a number, "
            "got nan (finite*",
        ),
        (
            "detectors={'slow_statement': {'p95_ms': float('inf')}}",
            "invalid detectors=*threshold 'p95_ms' must be a number, got inf (finite*",
        ),
        (
            "detectors={'n_plus_one': {'per_call': 10**400}}",
            "invalid detectors=*(431 characters): *threshold 'per_call' must be a number*",
        ),
    ],
)
def test_non_finite_or_huge_marker_values(
    pytester: pytest.Pytester, kwargs: str, message: str
) -> None:
    result = usage_error(pytester, f"@pytest.mark.load({kwargs})")
    result.stderr.fnmatch_lines([f"ERROR: @pytest.mark.load of test_bad.py::test_bad: {message}"])
    assert len(output(result)) < 5000  # a 400-digit value is cut, not quoted in full


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("--load-rate=nan", "argument --load-rate: invalid value 'nan': *not a finite number*"),
        ("--load-users=10000000", "argument --load-users: invalid value '10000000': *limit*"),
        ("--load-seed=1.5", "argument --load-seed: invalid value '1.5': *not an integer seed"),
        ("--load-duration=1e400", "argument --load-duration: invalid value '1e400': *finite*"),
        ("--load-monitor-interval=inf", "argument --load-monitor-interval: invalid value 'inf'*"),
    ],
)
def test_non_finite_or_huge_command_line_values(
    pytester: pytest.Pytester, arg: str, message: str
) -> None:
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest(arg)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_clean(result)
    result.stderr.fnmatch_lines([f"*error: {message}"])


def test_bad_ini_values_stop_the_session_before_any_test(pytester: pytest.Pytester) -> None:
    pytester.makefile(".ini", pytest="[pytest]\nload_duration = nope\n")
    pytester.makepyfile("def test_a():\n    print('RAN')\n")
    result = pytester.runpytest("-s")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_clean(result)
    assert "RAN" not in output(result)
    result.stderr.fnmatch_lines(
        ["ERROR: pytest.ini option load_duration: invalid duration='nope'*"]
    )


def test_infinite_seed_in_pyproject(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\nload_seed = inf\n")
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_clean(result)
    result.stderr.fnmatch_lines(["ERROR: pyproject.toml option load_seed: invalid seed=*inf*"])


def test_report_path_too_long(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest("--load-report=" + "r" * 5000)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_clean(result)
    result.stderr.fnmatch_lines(
        ["ERROR: --load-report: 'rrr*(5000 characters)' is too long for a directory path*"]
    )


def run_fails(pytester: pytest.Pytester, body: str) -> pytest.RunResult:
    pytester.makepyfile(
        test_run=f"""
        import pytest

        def target():
            pass

        @pytest.mark.load(users=1, duration="0.3s")
        def test_run(load_runner):
            {body}

        def test_after():
            pass
        """
    )
    result = pytester.runpytest("test_run.py")
    result.assert_outcomes(failed=1, passed=1)
    assert_clean(result)
    return result


def test_think_time_callable_returning_text(pytester: pytest.Pytester) -> None:
    result = run_fails(pytester, "load_runner.run(target, think_time=lambda vu: 'soon')")
    result.stdout.fnmatch_lines(
        ["*think_time callable <lambda> returned 'soon', not a number of seconds*"]
    )


def test_think_time_callable_returning_infinity(pytester: pytest.Pytester) -> None:
    result = run_fails(pytester, "load_runner.run(target, think_time=lambda vu: float('inf'))")
    result.stdout.fnmatch_lines(["*think_time callable <lambda> returned inf: *finite*"])
