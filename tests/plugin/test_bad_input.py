"""Bad settings give a clean error that names the value and where it came from; no traceback."""

from __future__ import annotations

import pytest


def output(result: pytest.RunResult) -> str:
    return result.stdout.str() + "\n" + result.stderr.str()


def assert_clean(result: pytest.RunResult) -> None:
    """No traceback from the plugin's internals, no internal error."""
    text = output(result)
    assert "Traceback" not in text
    assert "INTERNALERROR" not in text
    assert "pytest_loadtest/" not in text  # no frame of ours shown either


def usage_error(pytester: pytest.Pytester, marker: str, *args: str) -> pytest.RunResult:
    """Run a suite whose load test carries ``marker``; expect a usage error at collection."""
    pytester.makepyfile(
        test_bad=f"""
        import pytest

        {marker}
        def test_bad(load_runner):
            load_runner.run(lambda: None)

        def test_fine():
            pass
        """
    )
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_clean(result)
    # Nothing runs when a marker is wrong, the fine test included.
    result.stdout.no_fnmatch_line("*passed*")
    return result


# -- markers: checked at collection, in every run (not only when load tests are selected) --------
def test_unknown_marker_kwarg(pytester: pytest.Pytester) -> None:
    result = usage_error(pytester, "@pytest.mark.load(users=1, userz=3)")
    result.stderr.fnmatch_lines(
        [
            "ERROR: @pytest.mark.load of test_bad.py::test_bad: unknown setting 'userz' "
            "(known: abort_grace, abort_on_breach, abort_window, app, base_url, confirm, "
            "detectors, duration, "
            "iterations, loop, loops, max_users, min_samples, monitor_interval, pacing, processes, "
            "ramp_down, ramp_up, "
            "rate, rate_stages, seed, sla, stages, stop_timeout, think_time, tracemalloc, users, "
            "warmup, watch)"
        ]
    )


def test_unknown_marker_kwarg_when_load_tests_are_selected(pytester: pytest.Pytester) -> None:
    result = usage_error(pytester, "@pytest.mark.soak(duraton='1s')", "-m", "soak")
    result.stderr.fnmatch_lines(
        ["ERROR: @pytest.mark.soak of test_bad.py::test_bad: unknown setting 'duraton'*"]
    )


def test_positional_marker_arguments(pytester: pytest.Pytester) -> None:
    result = usage_error(pytester, "@pytest.mark.load(5, '1s')")
    result.stderr.fnmatch_lines(
        [
            "ERROR: @pytest.mark.load of test_bad.py::test_bad takes keyword arguments only, "
            "got positional (5, '1s')"
        ]
    )


def test_zero_users_in_marker(pytester: pytest.Pytester) -> None:
    result = usage_error(pytester, "@pytest.mark.load(users=0)")
    result.stderr.fnmatch_lines(
        ["ERROR: @pytest.mark.load of test_bad.py::test_bad: invalid users=0: 0 must be at least 1"]
    )


def test_unparsable_duration_in_marker(pytester: pytest.Pytester) -> None:
    result = usage_error(pytester, "@pytest.mark.load(duration='5 parsecs')")
    result.stderr.fnmatch_lines(
        [
            "ERROR: @pytest.mark.load of test_bad.py::test_bad: invalid duration='5 parsecs': "
            "'5 parsecs' is not a duration*"
        ]
    )


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            "@pytest.mark.load(rate=10, think_time=1)",
            "think_time=1s does not apply to rate= (from @pytest.mark.load of *); it goes with "
            "users= or stages=",
        ),
        (
            "@pytest.mark.load(pacing='1s', think_time='5ms')",
            "pacing=1s and think_time=0.005s both set the pause between iterations; give one",
        ),
        (
            "@pytest.mark.load(users=5, rate=10)",
            "users and rate are different load profiles; give one*",
        ),
    ],
)
def test_contradicting_marker_arguments_stop_collection(
    pytester: pytest.Pytester, marker: str, message: str
) -> None:
    result = usage_error(pytester, marker)
    result.stderr.fnmatch_lines([f"ERROR: @pytest.mark.load of test_bad.py::test_bad: {message}"])


def test_marker_arguments_that_other_layers_complete_are_not_judged_alone(
    pytester: pytest.Pytester,
) -> None:
    """A warm-up longer than the default duration is fine when run() gives the duration."""
    pytester.makepyfile(
        test_ok="""
import pytest

@pytest.mark.load(warmup="6s", users=1)
def test_ok(load_runner):
    load_runner.run(lambda: None, duration="6.5s")
"""
    )
    result = pytester.runpytest("--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK


def test_bad_marker_on_a_class(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_cls="""
        import pytest

        @pytest.mark.load(stop_timeout="soon")
        class TestService:
            def test_a(self, load_runner):
                pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_clean(result)
    result.stderr.fnmatch_lines(
        [
            "ERROR: @pytest.mark.load of test_cls.py::TestService::test_a: "
            "invalid stop_timeout='soon'*"
        ]
    )


def test_unknown_sla_key_in_marker(pytester: pytest.Pytester) -> None:
    result = usage_error(pytester, "@pytest.mark.load(sla={'p96': 100})")
    result.stderr.fnmatch_lines(
        [
            "ERROR: @pytest.mark.load of test_bad.py::test_bad: invalid sla={'p96': 100}: "
            "unknown SLA key 'p96' (allowed: p50, *, error_rate, throughput_min, memory_growth, "
            "operations)"
        ]
    )


def test_bad_sla_value_in_marker(pytester: pytest.Pytester) -> None:
    result = usage_error(pytester, "@pytest.mark.load(sla={'p95': 'fast'})")
    result.stderr.fnmatch_lines(
        ["ERROR: *test_bad.py::test_bad: invalid sla=*: SLA p95: 'fast' is not a latency*"]
    )


@pytest.mark.parametrize(
    ("sla", "message"),
    [
        ("{'error_rate': '150%'}", "SLA error_rate: '150%' is outside 0..1*"),
        ("{'throughput_min': 0}", "SLA throughput_min: 0 must be greater than 0"),
        ("{'operations': {'a': {'p97': 1}}}", "unknown SLA key 'p97' of operation 'a'*"),
        ("{'operations': ['a']}", "SLA 'operations' must map operation names to targets*"),
        ("'p95<200'", "SLA must be a mapping like {'p95': 200}, got 'p95<200'"),
    ],
)
def test_other_bad_sla_values(pytester: pytest.Pytester, sla: str, message: str) -> None:
    result = usage_error(pytester, f"@pytest.mark.load(sla={sla})")
    result.stderr.fnmatch_lines([f"ERROR: *test_bad.py::test_bad: invalid sla=*: {message}"])


# -- command line: argparse errors that name the option ------------------------------------------
@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("--load-users=0", "argument --load-users: invalid value '0': 0 must be at least 1"),
        ("--load-users=many", "argument --load-users: invalid value 'many': *not a whole number"),
        ("--load-duration=abc", "argument --load-duration: invalid value 'abc': *not a duration*"),
        ("--load-duration=0", "argument --load-duration: invalid value '0': *longer than 0"),
        ("--load-iterations=-1", "argument --load-iterations: invalid value '-1'*"),
        ("--load-think-time=2s..1s", "argument --load-think-time: invalid value '2s..1s'*"),
        ("--load-seed=x", "argument --load-seed: invalid value 'x': 'x' is not an integer seed"),
    ],
)
def test_bad_command_line_value(pytester: pytest.Pytester, arg: str, message: str) -> None:
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest(arg)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_clean(result)
    result.stderr.fnmatch_lines([f"*error: {message}"])


# -- ini options: a usage error naming the file and the option -----------------------------------
@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("load_users = 0", "pytest.ini option load_users: invalid users='0': 0 must be at least 1"),
        (
            "load_duration = 5 parsecs",
            "pytest.ini option load_duration: invalid duration='5 parsecs': *not a duration*",
        ),
        ("load_stop_timeout = later", "pytest.ini option load_stop_timeout: invalid*'later'*"),
    ],
)
def test_bad_ini_value(pytester: pytest.Pytester, line: str, message: str) -> None:
    pytester.makefile(".ini", pytest=f"[pytest]\n{line}\n")
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_clean(result)
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_bad_pyproject_value(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nload_seed = "abc"\n')
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_clean(result)
    result.stderr.fnmatch_lines(
        ["ERROR: pyproject.toml option load_seed: invalid seed='abc': 'abc' is not an integer seed"]
    )


# -- run(): the test fails with a message; the session goes on ------------------------------------
def run_fails(pytester: pytest.Pytester, call: str) -> pytest.RunResult:
    pytester.makepyfile(
        test_run=f"""
        import pytest

        def target():
            pass

        @pytest.mark.load(users=1, duration="0.2s")
        def test_run(load_runner):
            {call}

        def test_after():
            pass
        """
    )
    result = pytester.runpytest("test_run.py")
    result.assert_outcomes(failed=1, passed=1)
    assert_clean(result)
    return result


def test_run_with_non_callable_target(pytester: pytest.Pytester) -> None:
    result = run_fails(pytester, "load_runner.run(42)")
    result.stdout.fnmatch_lines(
        [
            "*_ test_run _*",
            "load target 42 is not callable (give a function, a mapping of names to functions, "
            "or a Scenario)",
        ]
    )


def test_run_error_is_reported_once(pytester: pytest.Pytester) -> None:
    """The message appears once in the failure section, not again as a chained exception."""
    result = run_fails(pytester, "load_runner.run(target, userz=3)")
    assert "During handling of the above exception" not in result.stdout.str()
    section = result.stdout.str().split("short test summary info")[0]
    assert section.count("unknown setting 'userz'") == 1


def test_run_with_non_callable_in_mapping(pytester: pytest.Pytester) -> None:
    result = run_fails(pytester, "load_runner.run({'ok': target, 'broken': 'nope'})")
    result.stdout.fnmatch_lines(["load target 'broken': 'nope' is not callable*"])


def test_run_with_target_taking_two_arguments(pytester: pytest.Pytester) -> None:
    result = run_fails(pytester, "load_runner.run(lambda a, b: None)")
    result.stdout.fnmatch_lines(
        ["target '<lambda>' takes 2 arguments; a load target takes none, or one: the virtual user"]
    )


def test_run_with_unknown_kwarg(pytester: pytest.Pytester) -> None:
    result = run_fails(pytester, "load_runner.run(target, userz=3)")
    result.stdout.fnmatch_lines(
        ["load_runner.run() argument: unknown setting 'userz' (known: abort_grace, *)"]
    )


def test_run_with_bad_value(pytester: pytest.Pytester) -> None:
    result = run_fails(pytester, "load_runner.run(target, duration='5 parsecs')")
    result.stdout.fnmatch_lines(
        ["load_runner.run() argument: invalid duration='5 parsecs': *not a duration*"]
    )


def test_run_with_bad_sla(pytester: pytest.Pytester) -> None:
    result = run_fails(pytester, "load_runner.run(target, sla={'p95': 'quick'})")
    result.stdout.fnmatch_lines(
        ["load_runner.run() argument: invalid sla=*: SLA p95: 'quick' is not a latency*"]
    )


def test_run_with_warmup_longer_than_duration(pytester: pytest.Pytester) -> None:
    result = run_fails(pytester, "load_runner.run(target, warmup='1s')")
    result.stdout.fnmatch_lines(
        [
            "load_runner.run() argument: warmup=1s leaves nothing to measure in duration=0.2s "
            "(from @pytest.mark.load of test_run.py::test_run)"
        ]
    )
