"""SLA verdicts: a breach fails the test with a message saying what was missed, and by how much."""

from __future__ import annotations

import pytest

HEADER = """
import itertools
import time
import pytest

def fast():
    pass

def slow():
    time.sleep(0.005)
"""


def make_test(pytester: pytest.Pytester, body: str) -> None:
    """Write ``test_sla.py``: HEADER (``fast`` and ``slow`` targets) followed by ``body``."""
    pytester.makepyfile(test_sla=HEADER + body)


def test_sla_met_passes_and_shows_pass(pytester: pytest.Pytester) -> None:
    make_test(
        pytester,
        """
@pytest.mark.load(users=2, duration="0.3s",
                  sla={"p95": "1s", "p99": 1000, "max": "5s", "mean": "1s",
                       "error_rate": "1%", "throughput_min": 1})
def test_ok(load_runner):
    result = load_runner.run(fast)
    assert result.passed
    assert result.sla_breaches == []
""",
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_sla.py::test_ok [[]fast[]]*  pass"])
    result.stdout.no_fnmatch_line("*breach*")


def test_latency_breach_fails_with_metric_operation_value_and_limit(
    pytester: pytest.Pytester,
) -> None:
    make_test(
        pytester,
        """
@pytest.mark.load(users=2, duration="0.3s", sla={"p95": "1ms", "max": 2, "p50": "4ms"})
def test_slow(load_runner):
    load_runner.run(slow)
""",
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_slow _*",
            "load test 'slow' breached its SLA (* calls, 2 users, 0.3s, p95 *, errors 0.00%):",
            # at most 120 calls of 5 ms in 0.3 s: a p95 on a low sample (max is exact)
            "  - low sample: p95 of all operations was *, above the limit 1.00ms; p95 rests on *",
            "  - max of all operations was *ms, above the limit 2.00ms",
        ]
    )
    # p50 of a 5ms sleep is above 4ms too: listed as well, in the order the SLA gave.
    result.stdout.fnmatch_lines(["  - p50 of all operations was *, above the limit 4.00ms*"])
    result.stdout.fnmatch_lines(["*test_sla.py::test_slow [[]slow[]]*FAIL"])
    # The verdict is the plugin's own failure: no traceback into the plugin.
    assert "pytest_loadtest" not in result.stdout.str()


def test_sla_given_to_run(pytester: pytest.Pytester) -> None:
    make_test(
        pytester,
        """
@pytest.mark.load(users=1, duration="0.2s", sla={"p95": "1s"})
def test_run_sla(load_runner):
    result = load_runner.run(slow, sla={"mean": "1ms"})
    # run()'s SLA replaces the marker's.
    assert [b.metric for b in result.sla_breaches] == ["mean"]
""",
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  - mean of all operations was *, above the limit 1.00ms"])


def test_per_operation_sla(pytester: pytest.Pytester) -> None:
    make_test(
        pytester,
        """
@pytest.mark.load(users=2, duration="0.3s")
def test_ops(load_runner):
    load_runner.run(
        {"fast": fast, "slow": slow},
        sla={"p95": "1s", "operations": {"slow": {"p50": "1ms"}, "fast": {"p50": "1s"}}},
    )
""",
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "load test 'fast+slow' breached its SLA*",
            "  - p50 of operation slow was *, above the limit 1.00ms*",
        ]
    )
    result.stdout.no_fnmatch_line("*of operation fast *was*")
    result.stdout.no_fnmatch_line("*of all operations*")


def test_operation_in_sla_that_never_ran(pytester: pytest.Pytester) -> None:
    make_test(
        pytester,
        """
@pytest.mark.load(users=1, duration="0.2s", sla={"operations": {"checkout": {"p95": 100}}})
def test_missing(load_runner):
    load_runner.run({"browse": fast})
""",
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["  - operation 'checkout' named in the SLA never ran (operations: browse)"]
    )


def test_error_rate_breach(pytester: pytest.Pytester) -> None:
    make_test(
        pytester,
        """
counter = itertools.count()

def flaky():
    if next(counter) % 2:
        raise ValueError("boom")

@pytest.mark.load(users=2, duration="0.3s", sla={"error_rate": "1%"})
def test_errors(load_runner):
    result = load_runner.run(flaky)
    assert 0.4 < result.error_rate < 0.6
""",
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "load test 'flaky' breached its SLA (* calls, 2 users, *, errors *%):",
            "  - error_rate of all operations was *%, above the limit 1.00%",
            "  error ValueError x*, first: boom",
        ]
    )


def test_throughput_min_breach(pytester: pytest.Pytester) -> None:
    make_test(
        pytester,
        """
@pytest.mark.load(users=1, duration="0.3s", sla={"throughput_min": 10000})
def test_tput(load_runner):
    load_runner.run(slow)
""",
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["  - throughput_min of all operations was * calls/s, below the minimum 10,000 calls/s"]
    )


def test_no_sla_option_passes_but_reports_the_breach(pytester: pytest.Pytester) -> None:
    make_test(
        pytester,
        """
@pytest.mark.load(users=2, duration="0.3s", sla={"p95": "1ms"})
def test_slow(load_runner):
    result = load_runner.run(slow)
    assert not result.passed
""",
    )
    result = pytester.runpytest("-m", "load", "--load-no-sla")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*load test results*",
            "*test_sla.py::test_slow [[]slow[]]*BREACH low-n",  # at most 120 calls for a p95
            "*test_sla.py::test_slow [[]slow[]]: breach (not failing: --load-no-sla): "
            "low sample: p95 of all operations was *, above the limit 1.00ms*",
        ]
    )


def test_same_breach_fails_without_no_sla(pytester: pytest.Pytester) -> None:
    """The twin of the test above: the summary note differs when the breach fails the test."""
    make_test(
        pytester,
        """
@pytest.mark.load(users=2, duration="0.3s", sla={"p95": "1ms"})
def test_slow(load_runner):
    load_runner.run(slow)
""",
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*test_sla.py::test_slow [[]slow[]]: SLA breach: low sample: p95 of all operations was *"]
    )


def test_low_sample_percentile_is_flagged(pytester: pytest.Pytester) -> None:
    make_test(
        pytester,
        """
@pytest.mark.load(users=1, iterations=20, sla={"p99": "1s", "max": "1s"})
def test_few(load_runner):
    result = load_runner.run(fast)
    assert result.total == 20
    assert result.passed
""",
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=1)
    # one line for the session; -v lists each target
    result.stdout.fnmatch_lines(["low sample: 1 SLA percentile target in 1 run rests on *"])
    result = pytester.runpytest("-m", "load", "-v")
    result.stdout.fnmatch_lines(
        [
            "*test_sla.py::test_few [[]fast[]]: low sample: p99 <= 1.00s rests on 20 calls "
            "(at least 1,000 give a meaningful p99)"
        ]
    )
    # Only percentiles rest on a sample; max is exact.
    result.stdout.no_fnmatch_line("*low sample: max*")


def test_low_sample_breach_says_so_in_the_failure(pytester: pytest.Pytester) -> None:
    make_test(
        pytester,
        """
@pytest.mark.load(users=1, iterations=10, sla={"p95": "1ms"})
def test_few(load_runner):
    load_runner.run(slow)
""",
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "load test 'slow' breached its SLA on a low sample (10 calls, 1 user, *",
            "  - low sample: p95 of all operations was *, above the limit 1.00ms; p95 rests on 10 "
            "calls (< 200: too few for a p95 to mean much; run longer or with more users)",
        ]
    )
    result.stdout.fnmatch_lines(["*test_sla.py::test_few [[]slow[]] *FAIL low-n"])


def test_run_without_measured_calls_fails(pytester: pytest.Pytester) -> None:
    make_test(
        pytester,
        """
@pytest.mark.load(users=1, duration="0.3s", warmup="0.25s")
def test_nothing(load_runner):
    # The one call starts in the warm-up and ends after the run: nothing is measured.
    load_runner.run(lambda: time.sleep(0.5))
""",
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  - no call of the target completed in the measured period"])


HOOKS = """
import itertools
import pytest
from pytest_loadtest import Scenario

logins = itertools.count()
shop = Scenario("shop")

@shop.on_start
def login(vu):
    if next(logins) % 10:  # 9 users of 10 cannot log in
        raise ConnectionError("refused")

@shop.task
def browse(vu):
    pass
"""


@pytest.mark.parametrize("warmup", ["0", "0.3s"])  # the logins fall in the warm-up: still count
def test_a_failed_hook_fails_the_run_though_the_tasks_error_rate_is_zero(
    pytester: pytest.Pytester, warmup: str
) -> None:
    pytester.makepyfile(
        test_hooks=HOOKS
        + f"""
@pytest.mark.load(users=10, duration="0.6s", think_time="5ms", warmup="{warmup}",
                  sla={{"error_rate": "1%"}})
def test_shop(load_runner):
    result = load_runner.run(shop)
    assert result.error_rate == 0.0
    assert result.operations["login"].errors == 9
"""
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "load test 'shop' breached its SLA (*errors 0.00%):",
            "  - hook 'login' failed 9 of 10 times; first: ConnectionError: refused (a user whose "
            "on_start fails does not run*",
        ]
    )


def test_a_hook_with_its_own_target_is_judged_by_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_hooks=HOOKS
        + """
@pytest.mark.load(users=10, duration="0.5s", think_time="5ms",
                  sla={"operations": {"login": {"error_rate": "95%"}}})
def test_tolerant(load_runner):
    load_runner.run(shop)

@pytest.mark.load(users=10, duration="0.5s", think_time="5ms",
                  sla={"operations": {"login": {"error_rate": "50%"}}})
def test_strict(load_runner):
    load_runner.run(shop)
"""
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*error_rate of operation login (hook) was 90.00%, above the limit*"]
    )
    result.stdout.no_fnmatch_line("*hook 'login' failed*")
