"""The "load test results" section, user properties, junitxml and the result hook."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

HEADER_ROW = "test / operation*load*calls*calls/s*err%*p50*p95*p99*max*SLA"


def test_section_has_a_header_and_one_row_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_rep="""
        import pytest

        def ping():
            pass

        @pytest.mark.load(users=2, duration="0.2s")
        def test_one(load_runner):
            load_runner.run(ping)

        @pytest.mark.load(users=3, duration="0.2s", sla={"p99": "1s"})
        def test_two(load_runner):
            load_runner.run(ping)

        def test_plain():
            pass
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=2, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*= load test results =*",
            HEADER_ROW,
            r"test_rep.py::test_one [[]ping[]]  * 2  *  -",
            r"test_rep.py::test_two [[]ping[]]  * 3  *  pass",
        ]
    )
    lines = result.stdout.lines
    # one row (the seeds listed under the table name the run again, indented)
    assert sum(line.startswith("test_rep.py::test_one [ping]") for line in lines) == 1
    # The section comes after the test outcomes, before the final summary line.
    section = next(i for i, line in enumerate(lines) if "load test results" in line)
    final = next(i for i, line in enumerate(lines) if "2 passed" in line)
    assert section < final


def test_columns_line_up(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_cols="""
        import pytest

        @pytest.mark.load(users=2, duration="0.2s")
        def test_a_rather_long_test_name(load_runner):
            load_runner.run({"x": lambda: None, "yy": lambda: None})
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=1)
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if line.startswith("test / operation"))
    table = lines[start : start + 4]
    # Every row ends its "max" column at the same place as the header's "max".
    header_max_end = table[0].index(" max") + len(" max")
    for row in table[1:]:
        cells = row[:header_max_end].split()
        assert cells[-1].endswith(("s", "-")), row  # a latency (µs, ms, s) or "-"
        assert row[header_max_end : header_max_end + 1] in ("", " "), row


SHOP = """
import pytest
from pytest_loadtest import Scenario

shop = Scenario("shop")

@shop.on_start
def login(vu):
    vu.state["user"] = vu.id

@shop.task(weight=2)
def browse(vu):
    with vu.step("list"):
        pass
    with vu.step("detail"):
        pass

@shop.task
def buy(vu):
    with vu.step("pay"):
        pass

@pytest.mark.load(users=2, duration="0.3s")
def test_shop(load_runner):
    result = load_runner.run(shop)
    assert set(result.operations) == {"login", "browse", "buy", "list", "detail", "pay"}
    assert result.operations["list"].parent == "browse"
    assert result.operations["pay"].parent == "buy"
"""


def test_operations_are_indented_under_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_steps=SHOP)
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([HEADER_ROW, "test_steps.py::test_shop [[]shop[]]  * 2  *  -"])
    for row in ("  browse *", "  buy *", "  login (hook) *", "    list *", "    pay *"):
        result.stdout.fnmatch_lines([HEADER_ROW, row])


def test_steps_are_listed_under_their_own_task(pytester: pytest.Pytester) -> None:
    """A step row follows the task it ran in, not whichever operation was registered before it."""
    pytester.makepyfile(test_steps=SHOP)
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["  browse *", "    list *", "    detail *", "  buy *", "    pay *"], consecutive=True
    )


def test_several_runs_in_one_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_runs="""
        import pytest

        def ping():
            pass

        @pytest.mark.load(users=1, iterations=10)
        def test_twice(load_runner):
            first = load_runner.run(ping)
            second = load_runner.run(ping, users=2)
            third = load_runner.run(ping)
            assert first.name == "ping"
            assert second.name == "ping (run 2)"
            assert third.name == "ping (run 3)"
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            HEADER_ROW,
            "test_runs.py::test_twice [[]ping[]] *10 *",
            "test_runs.py::test_twice [[]ping (run 2)[]] *10 *",
            "test_runs.py::test_twice [[]ping (run 3)[]] *10 *",
        ]
    )


def test_user_properties_reach_junitxml(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_xml="""
        import pytest

        def ping():
            pass

        @pytest.mark.load(users=1, iterations=25, sla={"p95": "1s"})
        def test_props(load_runner, request):
            load_runner.run(ping)
            load_runner.run(ping)

        def test_check_props(request):
            pass
        """
    )
    result = pytester.runpytest("--load-run-all", "--junitxml=out.xml")
    result.assert_outcomes(passed=2)
    root = ET.parse(pytester.path / "out.xml").getroot()
    cases = {case.get("name"): case for case in root.iter("testcase")}
    props = {p.get("name"): p.get("value") or "" for p in cases["test_props"].iter("property")}
    assert set(props) == {"loadtest[ping]", "loadtest[ping (run 2)]"}
    value = props["loadtest[ping]"]
    assert value.startswith("calls=25 errors=0 throughput=")
    assert "p95=" in value
    assert value.endswith("passed=True")
    assert list(cases["test_check_props"].iter("property")) == []


def test_user_properties_visible_to_other_hooks(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_runtest_logreport(report):
            if report.when == "call":
                for name, value in report.user_properties:
                    print(f"PROPERTY {name} {value}")
        """
    )
    pytester.makepyfile(
        test_props="""
        import pytest

        @pytest.mark.load(users=1, iterations=5)
        def test_p(load_runner):
            load_runner.run(lambda: 1 / 0)
        """
    )
    result = pytester.runpytest("-m", "load", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*PROPERTY loadtest[[]<lambda>[]] calls=5 errors=5 *passed=True"])


def test_result_hook_is_called_for_every_run(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_loadtest_result(item, result):
            with open("hook.log", "a") as log:
                log.write(f"{item.nodeid} {result.name} {result.total} {result.passed}\\n")
        """
    )
    pytester.makepyfile(
        test_hook="""
        import pytest

        @pytest.mark.load(users=1, iterations=7)
        def test_h(load_runner):
            load_runner.run(lambda: None)
            load_runner.run(lambda: None, iterations=3, sla={"max": 0})
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    log = (pytester.path / "hook.log").read_text().splitlines()
    assert log == [
        "test_hook.py::test_h <lambda> 7 True",
        "test_hook.py::test_h <lambda> (run 2) 3 False",
    ]


def test_hook_is_known_to_pytest(pytester: pytest.Pytester) -> None:
    """A conftest implementing the hook passes pytest's check for unknown hooks."""
    pytester.makeconftest(
        """
        def pytest_loadtest_result(item, result):
            pass
        """
    )
    pytester.makepyfile("def test_a():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "unknown hook" not in result.stdout.str()


def test_no_section_when_nothing_ran_under_load(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.load(users=1, iterations=1)
        def test_skipped(load_runner):
            load_runner.run(lambda: None)

        @pytest.mark.load(users=1, iterations=1)
        def test_no_run(load_runner):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(skipped=2)
    result.stdout.no_fnmatch_line("*load test results*")
    result = pytester.runpytest("-m", "load", "-k", "no_run")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.no_fnmatch_line("*load test results*")


def test_results_of_a_test_that_fails_are_still_shown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fail="""
        import pytest

        @pytest.mark.load(users=1, iterations=4)
        def test_f(load_runner):
            result = load_runner.run(lambda: None)
            assert result.total == 5, "expected five"
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*expected five*", "*load test results*", "test_fail.py::test_f*"])


def test_user_properties_reach_junitxml_when_the_body_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_xml_fail="""
        import pytest

        def ping():
            pass

        @pytest.mark.load(users=1, iterations=5)
        def test_props(load_runner):
            load_runner.run(ping)
            assert False, "the body's own check"
        """
    )
    result = pytester.runpytest("--load-run-all", "--junitxml=out.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the body's own check*"])
    root = ET.parse(pytester.path / "out.xml").getroot()
    names = {p.get("name") for p in root.iter("property")}
    assert names == {"loadtest[ping]"}


def test_the_table_fits_the_terminal_and_low_samples_are_one_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_a_module_with_a_rather_long_name_for_its_load_tests="""
        import time

        import pytest

        def ping():
            time.sleep(0.02)  # a few calls each: their p95 and p99 rest on a low sample

        @pytest.mark.load(users=2, duration="0.2s", sla={"p99": "1s", "p95": "1s"})
        @pytest.mark.parametrize("flow", ["work / flow", "another flow with a long name"])
        def test_a_test_function_with_a_long_name_too(load_runner, flow):
            load_runner.run({"login": ping, "browse": ping})
        """
    )
    monkeypatch.setenv("COLUMNS", "100")
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=2)
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if "load test results" in line)
    end = next(i for i, line in enumerate(lines) if "2 passed" in line)
    section = lines[start + 1 : end]
    while not section[0]:
        section.pop(0)
    table = section[: section.index("")]
    assert table[0].startswith("test / operation")
    assert max(len(line) for line in table) <= 100
    assert sum("..." in line for line in table) == 2  # both test ids cut, as pytest cuts
    low = [line for line in section if "low sample" in line]
    assert len(low) == 1
    assert low[0].startswith("low sample: 4 SLA percentile targets in 2 runs")
    verbose = pytester.runpytest("-m", "load", "-v")
    assert sum("low sample" in line for line in verbose.stdout.lines) == 4
