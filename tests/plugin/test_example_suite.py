"""The example load suite catches what it claims to catch.

Each test here runs tests of ``tests/load_testing`` in an inner pytest run against a service
broken on purpose (``LOADTEST_EXAMPLE_FAULT``, see ``tests/load_testing/faults.py``): made slow,
the latency SLA fails them; made lossy (every 10th write rolled back in silence), the integrity
check does; healthy, they pass. They use SQLite and half-second runs, so they stay quick.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

# Imported here, once: pytester drops the modules an in-process run imported, and SQLAlchemy's
# compiled extensions must not be imported a second time (as numpy, see conftest.py).
sqlalchemy_orm = pytest.importorskip("sqlalchemy.orm", reason="the example suite needs SQLAlchemy")

SUITE = Path(__file__).resolve().parents[1] / "load_testing"
CREATIONS = "test_load_crud.py::test_100_simultaneous_client_creations"
READS = "test_load_crud.py::test_1000_paginated_reads"
UPDATES = "test_load_crud.py::test_50_concurrent_updates"
DELETES = "test_load_crud.py::test_delete_with_cascade_under_load"
FORMS = "test_load_concurrent.py::test_100_simultaneous_form_submissions"
KEYSET = "test_load_volume.py::test_keyset_pagination_over_a_million_rows"


def run_suite(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, fault: str, *tests: str
) -> pytest.RunResult:
    """Run the named suite tests (``file::test``) in half-second runs with ``fault``, on SQLite."""
    monkeypatch.setenv("LOADTEST_EXAMPLE_FAULT", fault)
    monkeypatch.delenv("LOADTEST_DATABASE_URL", raising=False)
    monkeypatch.setenv("LOADTEST_VOLUME_ROWS", "20000")
    return pytester.runpytest(*(str(SUITE / test) for test in tests), "--load-duration=0.5s")


def test_healthy_service_passes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: without a fault, the tests that the faults break pass."""
    tests = (CREATIONS, READS, UPDATES, DELETES, FORMS, KEYSET)
    result = run_suite(pytester, monkeypatch, "", *tests)
    result.assert_outcomes(passed=len(tests))


@pytest.mark.parametrize("test", [READS, KEYSET], ids=["reads", "keyset"])
def test_slow_service_fails_the_latency_sla(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, test: str
) -> None:
    """300ms more per transaction: the p95 target fails the test, and nothing else does."""
    result = run_suite(pytester, monkeypatch, "slow=0.3", test)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*breached its SLA*", "*p95 of all operations was *, above the limit 250.0ms*"]
    )
    result.stdout.no_fnmatch_line("*data integrity*")


def test_calls_still_running_are_named_before_the_data_check(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slow writes still running after stop_timeout: the data check says so, rather than report
    the rows they have not written yet as lost."""
    monkeypatch.setenv("LOADTEST_EXAMPLE_FAULT", "slow=0.3")
    monkeypatch.delenv("LOADTEST_DATABASE_URL", raising=False)
    result = pytester.runpytest(
        str(SUITE / UPDATES), "--load-duration=0.5s", "--load-stop-timeout=0.01s"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: data integrity not checked: * calls were still running when the "
            "run gave up waiting for them (stop_timeout): update_client x*",
            "*SLA breach: calls still running after stop_timeout*",
        ]
    )
    result.stdout.no_fnmatch_line("*data integrity broken*")


@pytest.mark.parametrize(
    ("test", "reason"),
    [
        pytest.param(
            CREATIONS, "*clients in the database, * expected from the seed*", id="creations"
        ),
        pytest.param(UPDATES, "*clients lost updates*", id="updates"),
        # which write is every 10th depends on how the threads interleave: a lost delete, a lost
        # project or a lost session each breaks the data check
        pytest.param(
            DELETES,
            "*clients are in the database that should not be*|*in the database, * expected*",
            id="deletes",
        ),
        pytest.param(FORMS, "*projects in the database, * expected*", id="forms"),
    ],
)
def test_lossy_service_fails_the_integrity_check(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, test: str, reason: str
) -> None:
    """Every 10th write rolled back while its caller hears "done": the data check fails."""
    result = run_suite(pytester, monkeypatch, "lossy", test)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: data integrity broken:*"])
    assert any(
        fnmatch.fnmatch(line, pattern) for pattern in reason.split("|") for line in result.outlines
    ), result.stdout.str()


def test_unknown_fault_is_an_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mistyped fault must not quietly test the healthy service."""
    result = run_suite(pytester, monkeypatch, "sluggish", READS)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*LOADTEST_EXAMPLE_FAULT='sluggish': expected slow*"])
