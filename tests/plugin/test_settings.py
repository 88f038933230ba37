"""Where settings come from: command line > run() arguments > marker > ini > default."""

from __future__ import annotations

import pytest

# Each test file below prints the resolved settings of its run as "SETTINGS <name>=<value>@<source>"
# lines (runs use -s), and the test reads them back from the output.
PRINT_SETTINGS = """
def show(result):
    for name in ("users", "duration", "iterations", "think_time", "ramp_up", "warmup",
                 "stop_timeout", "seed"):
        print(f"SETTINGS {name}={result.settings[name]}@{result.settings['sources'][name]}")
"""


def settings_of(result: pytest.RunResult) -> dict[str, tuple[str, str]]:
    """``{name: (value, source)}`` from the SETTINGS lines of a run."""
    found: dict[str, tuple[str, str]] = {}
    for line in result.outlines:
        # The first line printed shares its line with the file name ("test_prec.py SETTINGS ...").
        _, marker, text = line.partition("SETTINGS ")
        if marker:
            name, _, rest = text.partition("=")
            value, _, source = rest.partition("@")
            found[name] = (value, source)
    assert found, "the inner test printed no settings"
    return found


def make_test(
    pytester: pytest.Pytester, marker: str, call: str = "load_runner.run(target)"
) -> None:
    """Write ``test_prec.py``: one load test with ``marker`` that makes one run and shows it."""
    pytester.makepyfile(
        test_prec=PRINT_SETTINGS
        + f"""
import pytest

def target():
    pass

{marker}
def test_p(load_runner):
    result = {call}
    show(result)
"""
    )


def run(pytester: pytest.Pytester, *args: str) -> dict[str, tuple[str, str]]:
    result = pytester.runpytest("-m", "load", "-s", *args)
    result.assert_outcomes(passed=1)
    return settings_of(result)


MARKER = "@pytest.mark.load(users=3, iterations=5)"
MARKER_SOURCE = "@pytest.mark.load of test_prec.py::test_p"
RUN_SOURCE = "load_runner.run() argument"


def test_defaults(pytester: pytest.Pytester) -> None:
    make_test(pytester, "@pytest.mark.load", "load_runner.run(target, iterations=4)")
    found = run(pytester)
    assert found["users"] == ("10", "default")
    # With iterations and no duration, duration is a cap (600s), not the 5s default.
    assert found["duration"] == ("600.0", "default")
    assert found["think_time"] == ("0s", "default")
    assert found["stop_timeout"] == ("5.0", "default")
    assert found["ramp_up"] == ("0.0", "default")
    assert found["seed"][1] == "default"


def test_marker_sets_values(pytester: pytest.Pytester) -> None:
    make_test(pytester, MARKER)
    found = run(pytester)
    assert found["users"] == ("3", MARKER_SOURCE)
    assert found["iterations"] == ("5", MARKER_SOURCE)


def test_marker_beats_pytest_ini(pytester: pytest.Pytester) -> None:
    pytester.makefile(".ini", pytest="[pytest]\nload_users = 5\nload_stop_timeout = 2s\n")
    make_test(pytester, MARKER)
    found = run(pytester)
    assert found["users"] == ("3", MARKER_SOURCE)
    # What the marker leaves unset still comes from the ini file.
    assert found["stop_timeout"] == ("2.0", "pytest.ini option load_stop_timeout")


def test_pytest_ini_beats_default(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".ini", pytest="[pytest]\nload_users = 5\nload_iterations = 7\nload_seed = 42\n"
    )
    make_test(pytester, "@pytest.mark.load")
    found = run(pytester)
    assert found["users"] == ("5", "pytest.ini option load_users")
    assert found["iterations"] == ("7", "pytest.ini option load_iterations")
    assert found["seed"] == ("42", "pytest.ini option load_seed")


def test_pyproject_toml_ini_options(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        """
        [tool.pytest.ini_options]
        load_users = "6"
        load_iterations = "8"
        load_ramp_up = "10ms"
        """
    )
    make_test(pytester, "@pytest.mark.load")
    found = run(pytester)
    assert found["users"] == ("6", "pyproject.toml option load_users")
    assert found["iterations"] == ("8", "pyproject.toml option load_iterations")
    assert found["ramp_up"] == ("0.01", "pyproject.toml option load_ramp_up")


def test_run_arguments_beat_marker(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nload_users = 5\n")  # tox.ini
    make_test(pytester, MARKER, "load_runner.run(target, users=4)")
    found = run(pytester)
    assert found["users"] == ("4", RUN_SOURCE)
    assert found["iterations"] == ("5", MARKER_SOURCE)


def test_command_line_beats_run_arguments(pytester: pytest.Pytester) -> None:
    make_test(pytester, MARKER, "load_runner.run(target, users=4, iterations=9)")
    found = run(pytester, "--load-users=2")
    assert found["users"] == ("2", "command line option --load-users")
    assert found["iterations"] == ("9", RUN_SOURCE)


def test_command_line_iterations_and_duration(pytester: pytest.Pytester) -> None:
    make_test(
        pytester,
        '@pytest.mark.load(users=1, duration="30s", iterations=1000)',
        "load_runner.run(target, iterations=500)",
    )
    found = run(pytester, "--load-iterations=6", "--load-duration=20s")
    assert found["iterations"] == ("6", "command line option --load-iterations")
    assert found["duration"] == ("20.0", "command line option --load-duration")


def test_command_line_iterations_limit_the_calls(pytester: pytest.Pytester) -> None:
    make_test(
        pytester,
        "@pytest.mark.load(users=2, iterations=1000)",
        "load_runner.run(target, iterations=500)",
    )
    pytester.makeconftest(
        """
        def pytest_loadtest_result(item, result):
            print(f"CALLS {result.total}")
        """
    )
    result = pytester.runpytest("-m", "load", "-s", "--load-iterations=6")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*CALLS 6*"])


def test_command_line_duration_limits_the_run(pytester: pytest.Pytester) -> None:
    make_test(pytester, "@pytest.mark.load(users=1)", 'load_runner.run(target, duration="10s")')
    result = pytester.runpytest("-m", "load", "-s", "--load-duration=200ms", "--durations=1")
    result.assert_outcomes(passed=1)
    found = settings_of(result)
    assert found["duration"] == ("0.2", "command line option --load-duration")
    # The 10s of run() were overridden: the whole run takes well under them.
    assert result.duration < 5


def test_command_line_think_time(pytester: pytest.Pytester) -> None:
    make_test(pytester, "@pytest.mark.load(users=1, iterations=3, think_time=0.5)")
    found = run(pytester, "--load-think-time=1ms..2ms")
    assert found["think_time"] == ("0.001..0.002s", "command line option --load-think-time")


def test_command_line_constant_think_time(pytester: pytest.Pytester) -> None:
    make_test(pytester, "@pytest.mark.load(users=1, iterations=3)")
    found = run(pytester, "--load-think-time=1ms")
    assert found["think_time"] == ("0.001s", "command line option --load-think-time")


def test_ini_think_time(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nload_think_time = 1ms..2ms\n")
    make_test(pytester, "@pytest.mark.load(users=1, iterations=3)")
    found = run(pytester)
    assert found["think_time"] == ("0.001..0.002s", "tox.ini option load_think_time")


def test_marker_and_run_think_time(pytester: pytest.Pytester) -> None:
    make_test(
        pytester,
        '@pytest.mark.load(users=1, iterations=3, think_time="1ms..2ms")',
        'load_runner.run(target, think_time="1ms")',
    )
    found = run(pytester)
    assert found["think_time"] == ("0.001s", RUN_SOURCE)


def test_remaining_command_line_options(pytester: pytest.Pytester) -> None:
    # No iterations here: a few quick calls could all fall inside the warm-up and leave nothing
    # measured, which fails the run.
    make_test(pytester, "@pytest.mark.load(users=1)")
    found = run(
        pytester,
        "--load-ramp-up=10ms",
        "--load-warmup=1ms",
        "--load-stop-timeout=3s",
        "--load-seed=123",
        "--load-duration=0.2",
    )
    assert found["ramp_up"] == ("0.01", "command line option --load-ramp-up")
    assert found["warmup"] == ("0.001", "command line option --load-warmup")
    assert found["stop_timeout"] == ("3.0", "command line option --load-stop-timeout")
    assert found["seed"] == ("123", "command line option --load-seed")


def test_closest_marker_wins(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_prec=PRINT_SETTINGS
        + """
import pytest

pytestmark = pytest.mark.load(users=7, iterations=2, seed=1)

@pytest.mark.load(users=5, seed=2)
class TestClass:
    @pytest.mark.load(users=3)
    def test_p(self, load_runner):
        show(load_runner.run(lambda: None))
"""
    )
    found = run(pytester)
    source = "@pytest.mark.load of test_prec.py::TestClass::test_p"
    assert found["users"] == ("3", source)
    assert found["seed"] == ("2", source)
    assert found["iterations"] == ("2", source)


def test_settings_reach_the_virtual_users(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import threading
        import pytest

        @pytest.mark.load(users=3, duration="0.3s")
        def test_users(load_runner):
            seen = set()
            lock = threading.Lock()

            def target(vu):
                with lock:
                    seen.add(vu.id)

            result = load_runner.run(target, seed=99)
            assert seen == {0, 1, 2}
            assert result.users == 3
            assert result.settings["seed"] == 99
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=1)


def test_load_runner_settings_are_those_a_run_would_use(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_scaled="""
        import pytest

        @pytest.mark.load(users=3, iterations=2)
        def test_sized(load_runner):
            planned = load_runner.settings()
            print("PLANNED", planned.users, planned.peak_users, load_runner.settings(users=5).users)
            result = load_runner.run(lambda: None)
            assert result.users == planned.users

        @pytest.mark.load(users=1, iterations=1)
        def test_confirm_is_per_test(load_runner):
            load_runner.settings(confirm=1)
        """
    )
    result = pytester.runpytest("-m", "load", "-s")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*PLANNED 3 3 5*", "*confirm is set per test*"])
    result = pytester.runpytest("-m", "load", "-s", "--load-users=7", "-k", "sized")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*PLANNED 7 7 7*"])  # the command line beats run() arguments
