"""Exceptions raised by a target are counted, the run goes on, and the summary names them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest


def test_errors_are_counted_and_the_run_goes_on(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_err="""
        import itertools
        import pytest

        counter = itertools.count()

        def target():
            n = next(counter)
            if n % 4 == 0:
                raise ValueError(f"bad value {n}")
            if n % 4 == 1:
                assert n < 0, "negative expected"

        @pytest.mark.load(users=2, iterations=40)
        def test_err(load_runner):
            result = load_runner.run(target)
            assert result.total == 40
            assert result.errors == 20
            assert result.error_rate == 0.5
            by_type = result.errors_by_type
            assert by_type["ValueError"].count == 10
            assert by_type["AssertionError"].count == 10
            assert "Traceback" in by_type["ValueError"].traceback
            assert result.passed  # errors alone do not fail the test without an SLA
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*load test results*",
            "test_err.py::test_err [[]target[]] * 40 * 50.00 *",
        ]
    )
    result.stdout.fnmatch_lines(["test_err.py::test_err [[]target[]]: error ValueError x10: bad *"])
    result.stdout.fnmatch_lines(
        ["test_err.py::test_err [[]target[]]: error AssertionError x10: negative expected"]
    )


def test_errors_in_steps_are_counted_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_steps="""
        import pytest

        def target(vu):
            with vu.step("save"):
                raise KeyError("missing")

        @pytest.mark.load(users=1, iterations=12)
        def test_steps(load_runner):
            result = load_runner.run(target)
            assert result.errors == 12
            assert result.operations["save"].errors == 12
            assert result.errors_by_type["KeyError"].count == 12
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*: error KeyError x12: 'missing'"])


def test_html_in_an_exception_message(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_xss="""
        import pytest

        def target():
            raise ValueError("<script>alert(1)</script>\\nsecond line & more")

        @pytest.mark.load(users=1, iterations=5, sla={"error_rate": 0.5})
        def test_xss(load_runner):
            load_runner.run(target)
        """
    )
    result = pytester.runpytest("-m", "load", "--junitxml=out.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "load test 'target' breached its SLA*",
            "  - error_rate of all operations was 100.00%, above the limit 50.00%",
            "  error ValueError x5, first: <script>alert(1)</script>",
        ]
    )
    # Only the first line of the message goes into the summary.
    result.stdout.fnmatch_lines(["*: error ValueError x5: <script>alert(1)</script>"])
    result.stdout.no_fnmatch_line("*second line & more*")
    # The report files still parse, and carry the text as text.
    root = ET.parse(pytester.path / "out.xml").getroot()
    failure = next(root.iter("failure"))
    assert "<script>alert(1)</script>" in (failure.get("message") or "") + (failure.text or "")


def test_empty_exception_message(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_empty="""
        import pytest

        def target():
            raise RuntimeError

        @pytest.mark.load(users=1, iterations=3)
        def test_empty(load_runner):
            load_runner.run(target)
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["test_empty.py::test_empty [[]target[]]: error RuntimeError x3:*"])


def test_long_exception_message_is_cut(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_long="""
        import pytest

        def target():
            raise ValueError("x" * 1000)

        @pytest.mark.load(users=1, iterations=2)
        def test_long(load_runner):
            load_runner.run(target)
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=1)
    line = next(line for line in result.outlines if ": error ValueError x2: " in line)
    assert line.endswith(": " + "x" * 200)


def test_errors_in_a_mapping_are_reported_per_operation(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_map="""
        import pytest

        def good():
            pass

        def bad():
            raise OSError("disk full")

        @pytest.mark.load(users=2, duration="0.3s",
                          sla={"operations": {"bad": {"error_rate": "10%"}}})
        def test_map(load_runner):
            result = load_runner.run({"good": good, "bad": bad})
            assert result.operations["good"].errors == 0
            assert result.operations["bad"].error_rate == 1.0
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "  - error_rate of operation bad was 100.00%, above the limit 10.00%",
            "  error OSError x*, first: disk full",
        ]
    )
    result.stdout.fnmatch_lines(["  good  * 0.00 *", "  bad  * 100.00 *"])
