"""Low samples: a percentile missed on too few calls says so in its verdict and its failure;
``min_samples`` (``--load-min-samples``, ``load_min_samples``, the marker, ``run()``) makes a
percentile target on fewer calls inconclusive, and the test fails saying so."""

from __future__ import annotations

import pytest

from .test_bad_input import assert_clean

# iterations fix the number of calls exactly; the sleep makes every call at least 5 ms
TEST = """
import time
import pytest

def slow():
    time.sleep(0.005)

@pytest.mark.load(users=1, iterations=20, sla={{"p95": "1ms"}}{marker})
def test_missed(load_runner):
    load_runner.run(slow)

@pytest.mark.load(users=1, iterations=20, sla={{"p95": "10s"}}{marker})
def test_met(load_runner):
    load_runner.run(slow)

@pytest.mark.load(users=1, iterations=30, sla={{"max": "10s"}}{marker})
def test_no_percentile(load_runner):
    load_runner.run(slow)
"""


def write(pytester: pytest.Pytester, marker: str = "") -> None:
    pytester.makepyfile(test_low=TEST.format(marker=marker))


def test_a_breach_on_a_low_sample_fails_saying_so(pytester: pytest.Pytester) -> None:
    write(pytester)
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*load test 'slow' breached its SLA on a low sample (20 calls, 1 user*",
            "*- low sample: p95 of all operations was *, above the limit 1.00ms; p95 rests on 20 "
            "calls (< 200: too few for a p95 to mean much; run longer or with more users)",
        ]
    )
    result.stdout.fnmatch_lines(["*test_low.py::test_missed [[]slow[]] *FAIL low-n"])
    result.stdout.fnmatch_lines(["*test_low.py::test_met [[]slow[]] * pass"])


def _inconclusive(result: pytest.RunResult, minimum: int) -> None:
    result.assert_outcomes(passed=1, failed=2)  # test_no_percentile has no percentile target
    result.stdout.fnmatch_lines(
        [
            "*load test 'slow' is inconclusive: an SLA percentile rests on fewer calls than "
            f"min_samples={minimum} requires (20 calls*",
            f"*- inconclusive: p95 of all operations rests on 20 calls (< {minimum}, "
            "min_samples): * met the limit 10.00s, on too few calls to judge*",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(["*test_low.py::test_met [[]slow[]] *INCONCLUSIVE"])
    result.stdout.fnmatch_lines(["*test_low.py::test_missed [[]slow[]] *INCONCLUSIVE"])
    result.stdout.fnmatch_lines(["*test_low.py::test_no_percentile [[]slow[]] * pass"])


def test_the_command_line_sets_a_minimum(pytester: pytest.Pytester) -> None:
    write(pytester)
    _inconclusive(pytester.runpytest("-m", "load", "--load-min-samples=50"), 50)


def test_the_ini_sets_a_minimum(pytester: pytest.Pytester) -> None:
    pytester.makefile(".ini", pytest="[pytest]\nload_min_samples = 25\n")
    write(pytester)
    _inconclusive(pytester.runpytest("-m", "load"), 25)


def test_the_marker_sets_a_minimum_and_the_command_line_beats_it(
    pytester: pytest.Pytester,
) -> None:
    write(pytester, marker=", min_samples=21")
    _inconclusive(pytester.runpytest("-m", "load"), 21)
    # enough calls for the minimum: judged as usual (test_missed: a low-sample breach again)
    result = pytester.runpytest("-m", "load", "--load-min-samples=20")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_low.py::test_missed [[]slow[]] *FAIL low-n"])


def test_run_argument_and_results_json(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.load(users=1, iterations=10, sla={"p50": "10s"})
        def test_it(load_runner):
            result = load_runner.run(lambda: None, min_samples=11)
            (breach,) = result.sla_breaches
            assert breach.inconclusive and breach.low_sample
            assert result.settings["min_samples"] == 11
            assert load_runner.run(lambda: None, min_samples=10).passed
        """
    )
    result = pytester.runpytest("-m", "load", "--load-report=out")
    result.assert_outcomes(failed=1)  # the first run's inconclusive target fails the test
    saved = (pytester.path / "out" / "results.json").read_text()
    assert '"inconclusive": true' in saved


def test_no_sla_reports_an_inconclusive_run_without_failing(pytester: pytest.Pytester) -> None:
    write(pytester)
    result = pytester.runpytest("-m", "load", "--load-min-samples=50", "--load-no-sla")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_low.py::test_met [[]slow[]] *inconclusive"])


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("--load-min-samples=-1", "*invalid value '-1': -1 must be at least 1"),
        ("--load-min-samples=many", "*invalid value 'many': 'many' is not a whole number"),
        ("--load-min-samples=1.5", "*invalid value '1.5': '1.5' is not a whole number"),
    ],
)
def test_bad_command_line_value(pytester: pytest.Pytester, arg: str, message: str) -> None:
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest(arg)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_clean(result)
    result.stderr.fnmatch_lines([f"*error: argument --load-min-samples: {message}"])


def test_bad_ini_value(pytester: pytest.Pytester) -> None:
    pytester.makefile(".ini", pytest="[pytest]\nload_min_samples = lots\n")
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_clean(result)
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest.ini option load_min_samples: invalid min_samples='lots': 'lots' is "
            "not a whole number"
        ]
    )


def test_bad_marker_value(pytester: pytest.Pytester) -> None:
    write(pytester, marker=", min_samples=True")
    result = pytester.runpytest("-m", "load")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_clean(result)
    result.stderr.fnmatch_lines(
        ["ERROR: @pytest.mark.load of test_low.py::test_missed: invalid min_samples=True: *"]
    )


def test_assert_no_findings_fails_like_a_breach(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_loadtest import assert_no_findings
        from pytest_loadtest._model._finding import Finding

        @pytest.mark.load(users=1, iterations=5)
        def test_reads(load_runner):
            result = load_runner.run(lambda: None)
            assert_no_findings(result, "missing_index")  # none found: passes
            result.findings.append(Finding(
                "missing_index", "Full scan of clients", "SCAN clients in 12 statements",
                "CREATE INDEX ix_clients_email ON clients (email)", "high"))
            assert_no_findings(result, "missing_index", "n_plus_one")
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            '>*assert_no_findings(result, "missing_index", "n_plus_one")',
            "E *AssertionError: load test '<lambda>' found 1 bottleneck it must not have "
            "(missing_index, n_plus_one; 5 calls, 1 user, *s):",
            "E *  - missing_index (high): Full scan of clients",
            "E *    evidence: SCAN clients in 12 statements",
            "E *    advice: CREATE INDEX ix_clients_email ON clients (email)",
        ]
    )
    result.stdout.no_fnmatch_line("*Finding(kind=*")  # no repr
    result.stdout.no_fnmatch_line("*_findings.py*")  # the helper's own frame is hidden


def test_a_capacity_step_on_too_few_calls_does_not_hold(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.load(sla={"p50": "10s"})
        def test_capacity(load_runner):
            kwargs = dict(start=1, step=1, step_duration="0.2s", limit=2)
            held = load_runner.find_capacity(lambda: None, **kwargs)
            assert held.capacity == 2
            unjudged = load_runner.find_capacity(lambda: None, min_samples=10**8, **kwargs)
            assert unjudged.capacity is None
            assert unjudged.reason.startswith("inconclusive: p50 of all operations rests on")
        """
    )
    pytester.runpytest("-m", "load").assert_outcomes(passed=1)
