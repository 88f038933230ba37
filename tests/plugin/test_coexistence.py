"""Installed, the plugin loads in every pytest run of the environment: it must leave alone what
it does not own (other projects' ``load``/``soak`` markers) and honour what pytest and other
plugins decide (``--lf``, ``--ff``, ``--sw``, pytest-xdist's own configs)."""

from __future__ import annotations

import os
import shutil
import sys
from types import SimpleNamespace

import pytest

from pytest_loadtest import plugin

# Another project's own markers, as public repositories use them: no load_runner anywhere.
FOREIGN = """
import pytest

@pytest.mark.load
def test_loads_config():
    print("RAN test_loads_config")

@pytest.mark.load("fixtures.json")
def test_load_with_argument():
    print("RAN test_load_with_argument")

@pytest.mark.soak(hours=1)
def test_soak_with_own_arguments():
    print("RAN test_soak_with_own_arguments")

@pytest.fixture
def uses_nothing_of_ours():
    return 1

@pytest.mark.load(users=0)
def test_through_a_fixture(uses_nothing_of_ours):
    print("RAN test_through_a_fixture")
"""


def test_foreign_load_and_soak_markers_run_as_without_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmarkers =\n    load: ours\n    soak: ours\n")
    pytester.makepyfile(test_foreign=FOREIGN)
    with_plugin = pytester.runpytest("-s", "--strict-markers")
    with_plugin.assert_outcomes(passed=4)
    for name in ("loads_config", "load_with_argument", "soak_with_own_arguments", "through"):
        with_plugin.stdout.fnmatch_lines([f"*RAN test_{name}*"])
    without = pytester.runpytest("-s", "-p", "no:loadtest", "--strict-markers")
    without.assert_outcomes(passed=4)
    # -m load selects them as pytest would; nothing of ours runs or reports
    selected = pytester.runpytest("-m", "load")
    selected.assert_outcomes(passed=3, deselected=1)
    selected.stdout.no_fnmatch_line("*load test results*")


def test_a_load_test_using_load_runner_through_a_fixture_is_ours(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def shop(load_runner):
            return load_runner

        @pytest.mark.load(users=1, iterations=2)
        def test_through_fixture(shop):
            assert shop.run(lambda: None).total == 2

        @pytest.mark.load("positional")
        def test_bad(load_runner):
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_bad takes keyword arguments only*"])
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def shop(load_runner):
            return load_runner

        @pytest.mark.load(users=1, iterations=2)
        def test_through_fixture(shop):
            assert shop.run(lambda: None).total == 2
        """
    )
    pytester.runpytest().assert_outcomes(skipped=1)
    pytester.runpytest("-m", "load").assert_outcomes(passed=1)


def test_markers_help_says_how_foreign_markers_coexist(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.load(*Only tests that use load_runner are*"])


FAILING_LOAD = """
import pytest

@pytest.mark.load(users=1, iterations=3)
def test_failing_load(load_runner):
    load_runner.run(lambda: None)
    assert False, "the load test failed"

@pytest.mark.load(users=1, iterations=3)
def test_passing_load(load_runner):
    load_runner.run(lambda: None)

def test_plain():
    pass
"""


@pytest.fixture
def cached(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """``pytester`` with pytest's cache on (``--lf``, ``--ff`` and ``--sw`` read it)."""
    addopts = os.environ["PYTEST_ADDOPTS"].replace("-p no:cacheprovider", "")
    monkeypatch.setenv("PYTEST_ADDOPTS", addopts)
    pytester.makepyfile(test_lf=FAILING_LOAD)
    first = pytester.runpytest("-m", "load")
    first.assert_outcomes(passed=1, failed=1, deselected=1)
    return pytester


def test_last_failed_reruns_a_failed_load_test_and_keeps_its_failure(
    cached: pytest.Pytester,
) -> None:
    again = cached.runpytest("--lf")
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines(["*the load test failed*", "*load test results*"])
    # the failure is still remembered: a second --lf runs it once more
    cached.runpytest("--lf").assert_outcomes(failed=1)


def test_failed_first_runs_the_failed_load_test_and_skips_the_others(
    cached: pytest.Pytester,
) -> None:
    result = cached.runpytest("--ff")
    result.assert_outcomes(failed=1, passed=1, skipped=1)


def test_stepwise_resumes_from_a_failed_load_test(cached: pytest.Pytester) -> None:
    cached.runpytest("-m", "load", "--sw").assert_outcomes(failed=1)
    resumed = cached.runpytest("--sw")
    resumed.assert_outcomes(failed=1)
    resumed.stdout.fnmatch_lines(["*the load test failed*"])


def test_configure_node_without_our_state_does_nothing(pytester: pytest.Pytester) -> None:
    """pytest-xdist's own tests make configs that pytest_configure never saw."""
    config = pytester.parseconfig()
    node = SimpleNamespace(config=config, workerinput={})
    plugin.pytest_configure_node(node)
    assert node.workerinput == {}


TIMED_OUT = """
import time
import pytest

state = {"torn_down": False, "after_teardown": 0, "calls": 0}

@pytest.fixture
def service():
    yield state
    state["torn_down"] = True

def call(service):
    service["calls"] += 1
    if service["torn_down"]:
        service["after_teardown"] += 1

@pytest.mark.load(users=4, duration="60s")
def test_long_load(load_runner, service):
    load_runner.run(lambda: call(service))

def test_after():
    calls = state["calls"]
    time.sleep(0.5)  # users left running would go on calling (hundreds of calls)
    assert calls > 0
    assert state["after_teardown"] == 0, state
    assert state["calls"] == calls, state
"""


def test_pytest_timeout_stops_the_users_before_teardown(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_timeout")
    pytester.makepyfile(test_timed=TIMED_OUT)
    result = pytester.runpytest_subprocess("--timeout=2", "test_timed.py", timeout=120)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*Timeout*"])


RANDOM_CHOICES = """
import pytest

@pytest.mark.load(users=1, iterations=20)
def test_choices(load_runner):
    drawn = []
    load_runner.run(lambda vu: drawn.append((vu.id, vu.random.random())))
    print("DRAWN", sorted(drawn))
"""


def _drawn(result: pytest.RunResult) -> str:
    return next(line.split("DRAWN", 1)[1] for line in result.outlines if "DRAWN" in line)


def test_pytest_randomly_seed_repeats_vu_random(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pytest_randomly")
    addopts = os.environ["PYTEST_ADDOPTS"].replace("-p no:randomly", "")
    monkeypatch.setenv("PYTEST_ADDOPTS", addopts)
    pytester.makepyfile(test_random=RANDOM_CHOICES)
    first = pytester.runpytest("-m", "load", "-s", "-p", "randomly", "--randomly-seed=1")
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(
        ["seed 1 for the run (pytest-randomly (--randomly-seed=1)): --load-seed=1 repeats it"]
    )
    again = pytester.runpytest("-m", "load", "-s", "-p", "randomly", "--randomly-seed=1")
    assert _drawn(again) == _drawn(first)
    other = pytester.runpytest("-m", "load", "-s", "-p", "randomly", "--randomly-seed=2")
    assert _drawn(other) != _drawn(first)
    # --load-seed beats pytest-randomly's; the same seed draws the same choices
    mine = pytester.runpytest("-m", "load", "-s", "--randomly-seed=2", "--load-seed=1")
    mine.stdout.fnmatch_lines(["seed 1 for the run (command line option --load-seed)*"])
    assert _drawn(mine) == _drawn(first)
    # without pytest-randomly, each run draws its own seed, printed so it can be repeated
    plain = pytester.runpytest("-m", "load", "-s", "-p", "no:randomly")
    plain.stdout.fnmatch_lines(["seed * for the run (chosen at random): --load-seed=* repeats it"])


def test_xdist_auto_honours_cpu_affinity_with_the_plugin_installed(
    pytester: pytest.Pytester,
) -> None:
    """The plugin itself changes nothing in ``-n auto`` (psutil, our dependency, does: installed,
    it makes xdist count physical cores and ignore affinity; README). This conftest stands for an
    environment where psutil cannot be imported: the monitor then reads /proc, and
    ``taskset -c 0`` means one worker with the plugin as without it."""
    pytest.importorskip("xdist")
    taskset = shutil.which("taskset")
    if taskset is None or not hasattr(os, "sched_getaffinity"):
        pytest.skip("needs taskset and CPU affinity (Linux)")
    pytester.makeconftest("import sys\nsys.modules['psutil'] = None  # not installed\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.load(users=1, duration="0.3s", monitor_interval="0.1s")
        def test_monitored(load_runner):
            result = load_runner.run(lambda: None)
            assert result.resources["samples"][0]["rss_bytes"] > 0

        def test_plain():
            pass
        """
    )
    command = [
        taskset,
        "-c",
        "0",
        sys.executable,
        "-m",
        "pytest",
        "-n",
        "auto",
        "-p",
        "no:randomly",
    ]
    with_plugin = pytester.run(*command, "-m", "load or not load", "--load-run-all", timeout=120)
    assert with_plugin.ret == 0, with_plugin.stdout.str()
    with_plugin.stdout.fnmatch_lines(["*1 worker [[]2 items[]]*", "*2 passed*"])
    without = pytester.run(*command, "-p", "no:loadtest", timeout=120)
    without.stdout.fnmatch_lines(["*1 worker [[]2 items[]]*"])


HEAVY = (
    "numpy",
    "hdrh",
    "pytest_loadtest._session",
    "pytest_loadtest._settings._table",
    "pytest_loadtest._settings._layers",
    "pytest_loadtest._model._sla",
    "pytest_loadtest._report._progress",
    "pytest_loadtest._engine._engine",
)


def test_a_run_without_load_tests_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    """Start-up cost: the plugin loads in every run of the environment (issue 18)."""
    pytester.makeconftest(
        f"""
        import sys

        def pytest_sessionfinish(session):
            print("LOADED", sorted(m for m in {HEAVY!r} if m in sys.modules))
        """
    )
    pytester.makepyfile(FOREIGN)
    result = pytester.runpytest_subprocess("-s", "-p", "no:randomly", timeout=120)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*LOADED []*"])


def test_a_bad_ini_value_stops_a_run_without_load_tests(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nload_users = many\n")
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*load_users*many*"])


def test_an_xdist_run_without_load_tests_imports_neither_numpy_nor_hdrh(
    pytester: pytest.Pytester,
) -> None:
    """The controller makes its state for xdist (the spool of interrupted runs), but loads no
    C extension: pytest-xdist's own suite re-runs pytest in one process, and numpy cannot be
    imported twice."""
    pytest.importorskip("xdist")
    pytester.makeconftest(
        """
        import sys

        def pytest_sessionfinish(session):
            if not hasattr(session.config, "workerinput"):
                print("LOADED", sorted(m for m in ("numpy", "hdrh") if m in sys.modules))
        """
    )
    pytester.makepyfile(FOREIGN)
    result = pytester.runpytest_subprocess("-n", "1", "-s", "-p", "no:randomly", timeout=120)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*LOADED []*"])
