"""Which load and soak tests run: skipped by default, selected by -m, by name or --load-run-all."""

from __future__ import annotations

import pytest

# Three tests: a load test, a soak test and a plain one. Each load test records that it ran by
# printing a marker line (runs use -s), so a test can tell "ran" from "skipped" beyond outcomes.
SUITE = """
import pytest

@pytest.mark.load(users=1, iterations=3, duration="1s")
def test_load(load_runner):
    result = load_runner.run(lambda: None)
    assert result.total == 3
    print("RAN test_load")

@pytest.mark.soak(users=1, iterations=3, duration="1s")
def test_soak(load_runner):
    load_runner.run(lambda: None)
    print("RAN test_soak")

def test_plain():
    print("RAN test_plain")
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project holding ``test_suite.py`` (SUITE)."""
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def test_plain_run_skips_load_and_soak_tests_with_how_to_run_them(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-rs", "-s")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED * load test: run it with `pytest -m load`, by naming it*--load-run-all",
            "SKIPPED * soak test: run it with `pytest -m soak`, by naming it*--load-run-all",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(["*RAN test_plain*"])
    result.stdout.no_fnmatch_line("*RAN test_load*")
    result.stdout.no_fnmatch_line("*RAN test_soak*")
    # Nothing ran under load, so the session summary stays as it was.
    result.stdout.no_fnmatch_line("*load test results*")


def test_dash_m_load_runs_load_tests_only(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-m", "load", "-s")
    result.assert_outcomes(passed=1, deselected=2)
    result.stdout.fnmatch_lines(["*RAN test_load*", "*load test results*"])
    result.stdout.no_fnmatch_line("*RAN test_soak*")


def test_dash_m_soak_runs_soak_tests_only(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-m", "soak", "-s")
    result.assert_outcomes(passed=1, deselected=2)
    result.stdout.fnmatch_lines(["*RAN test_soak*"])
    result.stdout.no_fnmatch_line("*RAN test_load*")


def test_dash_m_load_or_soak_runs_both(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-m", "load or soak", "-s")
    result.assert_outcomes(passed=2, deselected=1)


def test_dash_m_not_soak_keeps_load_tests_skipped(suite: pytest.Pytester) -> None:
    """``-m "not soak"`` asks to leave soak tests out, not to run every load test.

    The expression matches every test that is not a soak test, including unmarked ones, so it
    does not select load tests in particular; they should stay skipped as in a plain run.
    """
    result = suite.runpytest("-m", "not soak", "-s")
    result.assert_outcomes(passed=1, skipped=1, deselected=1)
    result.stdout.no_fnmatch_line("*RAN test_load*")


def test_dash_m_not_load_keeps_soak_tests_skipped(suite: pytest.Pytester) -> None:
    """``-m "not load"`` must not start soak tests, which may run for hours."""
    result = suite.runpytest("-m", "not load", "-s")
    result.assert_outcomes(passed=1, skipped=1, deselected=1)
    result.stdout.no_fnmatch_line("*RAN test_soak*")


def test_naming_the_file_runs_its_load_and_soak_tests(suite: pytest.Pytester) -> None:
    result = suite.runpytest("test_suite.py", "-s")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*RAN test_load*", "*RAN test_soak*", "*RAN test_plain*"])


def test_naming_the_node_id_runs_that_load_test(suite: pytest.Pytester) -> None:
    path = suite.path / "test_suite.py"
    result = suite.runpytest(f"{path}::test_load", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*RAN test_load*"])


def test_naming_a_relative_node_id_runs_that_soak_test(suite: pytest.Pytester) -> None:
    result = suite.runpytest("test_suite.py::test_soak", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*RAN test_soak*"])


def test_naming_another_file_does_not_select_load_tests_elsewhere(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(test_other="def test_other():\n    pass\n")
    suite.mkdir("sub")
    suite.path.joinpath("sub", "test_more.py").write_text(
        SUITE.replace("def test_", "def test_more_")
    )
    result = suite.runpytest("test_other.py", "sub")
    # A directory is not a file: its load tests stay skipped.
    result.assert_outcomes(passed=2, skipped=2)


def test_load_run_all_runs_everything(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--load-run-all", "-s")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*RAN test_load*", "*RAN test_soak*"])


def test_tests_without_markers_are_unaffected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_one():
            pass

        @pytest.mark.parametrize("n", [1, 2])
        def test_two(n):
            assert n

        def test_fails():
            assert False
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.no_fnmatch_line("*load test*")


def test_marker_on_class_and_module_skips_their_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marks="""
        import pytest

        pytestmark = pytest.mark.soak(users=1, iterations=1)

        def test_module_level(load_runner):
            load_runner.run(lambda: None)

        @pytest.mark.load(users=1, iterations=1)
        class TestClass:
            def test_in_class(self, load_runner):
                load_runner.run(lambda: None)
        """,
        test_runner="""
        def test_other():
            pass
        """,
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*soak test: run it with `pytest -m soak`*"])


def test_markers_are_registered_with_their_signature(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.load(users=10, duration='5s', iterations=None, ramp_up=0, ramp_down=0, "
            "stages=None, think_time=0, pacing=0, rate=None, rate_stages=None, max_users=1000, "
            "warmup=0, stop_timeout='5s', seed=None, sla=None, abort_on_breach=False, "
            "abort_grace=0, abort_window='5s', monitor_interval='1s', tracemalloc=False, "
            "watch=(), detectors=None, min_samples=0, confirm=0, loops=1, loop='asyncio', "
            "base_url=None, app=None, processes=1): a load test*",
            "@pytest.mark.soak(users=10, duration='5s', *processes=1): a soak (endurance) test*",
        ],
        consecutive=False,
    )


def test_markers_pass_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.load(users=1, iterations=1)
        def test_a(load_runner):
            load_runner.run(lambda: None)

        @pytest.mark.soak(users=1, iterations=1)
        def test_b(load_runner):
            load_runner.run(lambda: None)
        """
    )
    result = pytester.runpytest("--strict-markers", "--load-run-all")
    result.assert_outcomes(passed=2)


def test_options_are_listed_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "load testing:",
            "*--load-users=N*",
            "*--load-duration=DURATION*",
            "*--load-iterations=N*",
            "*--load-ramp-up=DURATION*",
            "*--load-think-time=DURATION*",
            "*--load-warmup=DURATION*",
            "*--load-stop-timeout=DURATION*",
            "*--load-seed=INT*",
            "*--load-run-all*",
            "*--load-no-sla*",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(["*load_users (string):*load testing: number of virtual users*"])
