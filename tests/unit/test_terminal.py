"""The summary table, its notes, and the failure message."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pytest_loadtest._model._result import LoadResult, OperationStats
from pytest_loadtest._model._sla import parse_sla
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._model._timeline import ErrorSample
from pytest_loadtest._report._markdown import markdown_summary
from pytest_loadtest._report._terminal import failure_message, summary_lines, user_property

MS = 1_000_000


def _hist(*ms: float) -> LatencyHistogram:
    hist = LatencyHistogram()
    hist.fold_ns(np.array([round(v * MS) for v in ms], dtype=np.int64))
    return hist


def _single(name: str = "ping", sla: object = None, **kwargs: Any) -> LoadResult:
    hist = _hist(*[10.0] * 50)
    op = OperationStats(name, "task", hist, kwargs.pop("errors", 0), 1.0)
    op.errors_by_type = kwargs.pop("errors_by_type", {})
    result = LoadResult(
        name,
        hist,
        op.errors,
        1.0,
        {name: op},
        sla=parse_sla(sla) if sla is not None else None,
        users=4,
        **kwargs,
    )
    result.sla_breaches = result.evaluate_sla()
    return result


def _scenario_result() -> LoadResult:
    browse, buy, query = _hist(*[2.0] * 30), _hist(*[20.0] * 10), _hist(*[1.0] * 30)
    overall = LatencyHistogram()
    overall.add(browse)
    overall.add(buy)
    ops = {
        "browse": OperationStats("browse", "task", browse, 0, 1.0),
        "buy": OperationStats("buy", "task", buy, 0, 1.0),
        "query": OperationStats("query", "step", query, 0, 1.0, parent="browse"),
        "login": OperationStats("login", "hook", _hist(5.0, 5.0), 0, 1.0),
    }
    result = LoadResult("shop", overall, 0, 1.0, ops, users=2, test_id="t.py::test_shop")
    result.sla_breaches = result.evaluate_sla()
    return result


def _table(lines: list[str]) -> list[str]:
    return lines[: lines.index("")] if "" in lines else lines


def test_no_results_no_lines() -> None:
    assert summary_lines([]) == []


def test_header_and_one_row_for_a_single_task() -> None:
    lines = summary_lines([_single()])
    header, *rows = _table(lines)
    assert header.split() == [
        "test",
        "/",
        "operation",
        "load",
        "calls",
        "calls/s",
        "err%",
        "p50",
        "p95",
        "p99",
        "max",
        "SLA",
    ]
    assert len(rows) == 1
    assert rows[0].split() == [
        "ping",
        "4",
        "50",
        "50.0",
        "0.00",
        "10.0ms",
        "10.0ms",
        "10.0ms",
        "10.0ms",
        "-",
    ]
    assert lines == _table(lines)  # no notes


def test_one_row_per_operation() -> None:
    lines = summary_lines([_scenario_result()])
    _, *rows = _table(lines)
    # each step is listed under its own task
    labels = ["t.py::test_shop [shop]", "  browse", "    query (step)", "  buy", "  login (hook)"]
    assert len(rows) == len(labels)
    for row, label in zip(rows, labels, strict=True):
        assert row.startswith(label + " ")
    assert rows[0].split()[2:4] == ["2", "40"]  # users, calls of the whole target
    assert rows[3].split()[1] == "10"


def test_columns_are_aligned() -> None:
    lines = _table(summary_lines([_scenario_result(), _single()]))
    header = lines[0]
    calls_end = header.index("calls") + len("calls")
    for row in lines[1:]:
        assert row[calls_end - 1] != " "  # right-aligned under the header


def test_verdicts() -> None:
    passing = _single("ok", sla={"p95": 100})
    failing = _single("slow", sla={"max": 1})
    plain = _single("plain")
    rows = _table(summary_lines([passing, failing, plain]))[1:]
    assert [row.split()[-1] for row in rows] == ["pass", "FAIL", "-"]
    rows = _table(summary_lines([failing], no_sla=True))[1:]
    assert rows[0].split()[-1] == "BREACH"


def test_a_failure_resting_on_low_samples_says_so_in_the_verdict() -> None:
    low = _single("low", sla={"p95": 1})  # 50 calls: a p95 needs 200
    mixed = _single("mixed", sla={"p95": 1, "max": 2})  # max is judged on any sample
    inconclusive = _single("few", sla={"p95": 100}, settings={"min_samples": 100})
    rows = _table(summary_lines([low, mixed, inconclusive]))[1:]
    assert [row.split("  ")[-1].strip() for row in rows] == [
        "FAIL low-n",
        "FAIL",
        "INCONCLUSIVE",
    ]
    rows = _table(summary_lines([low, inconclusive], no_sla=True))[1:]
    assert [row.split("  ")[-1].strip() for row in rows] == ["BREACH low-n", "inconclusive"]
    summary = markdown_summary([low, mixed, inconclusive])
    assert "| low | ❌ fail (low sample) |" in summary
    assert "| mixed | ❌ fail |" in summary
    assert "| few | ❌ fail (inconclusive) |" in summary


def test_failure_message_of_a_low_sample_says_what_the_figure_rests_on() -> None:
    low = _single("low", sla={"p95": 1})
    inconclusive = _single("few", sla={"p95": 100}, settings={"min_samples": 100})
    lines = failure_message([low, inconclusive]).splitlines()
    assert lines[0].startswith("load test 'low' breached its SLA on a low sample (50 calls,")
    assert "p95 rests on 50 calls (< 200: too few for a p95 to mean much" in lines[1]
    assert lines[2].startswith(
        "load test 'few' is inconclusive: an SLA percentile rests on fewer calls than "
        "min_samples=100 requires (50 calls,"
    )
    assert lines[3] == (
        "  - inconclusive: p95 of all operations rests on 50 calls (< 100, min_samples): 10.0ms "
        "met the limit 100.0ms, on too few calls to judge; run longer or with more users, or "
        "lower min_samples"
    )


def test_breach_notes() -> None:
    failing = _single("slow", sla={"p95": 1, "max": 2})
    lines = summary_lines([failing])
    notes = lines[lines.index("") + 1 :]
    assert notes[:2] == [
        "slow: SLA breach: low sample: p95 of all operations was 10.0ms, above the limit 1.00ms; "
        "p95 rests on 50 calls (< 200: too few for a p95 to mean much; run longer or with more "
        "users)",
        "slow: SLA breach: max of all operations was 10.0ms, above the limit 2.00ms",
    ]
    no_sla = summary_lines([failing], no_sla=True)
    assert "slow: breach (not failing: --load-no-sla): " + failing.sla_breaches[1].message in no_sla


def test_low_sample_notes_for_passing_checks() -> None:
    result = _single("few", sla={"p99": 100, "p50": 100})
    assert result.passed
    lines = summary_lines([result], verbose=1)
    assert (
        "few: low sample: p99 <= 100.0ms rests on 50 calls (at least 1,000 give a meaningful p99)"
        in lines
    )
    assert not any("low sample: p50" in line for line in lines)  # 50 calls are enough for p50


def test_low_sample_is_one_line_for_the_session_unless_verbose() -> None:
    results = [_single(f"few{i}", sla={"p99": 100, "p95": 100, "p50": 100}) for i in range(5)]
    plain = _single("no sla")  # percentiles of a run without targets are never noted
    lines = summary_lines([*results, plain])
    low = [line for line in lines if "low sample" in line]
    assert low == [
        "low sample: 10 SLA percentile targets in 5 runs rest on fewer calls than they need to "
        "mean much (p95 200, p99 1,000); -v lists them"
    ]
    verbose = [line for line in summary_lines([*results, plain], verbose=1) if "low sample" in line]
    assert len(verbose) == 10
    assert summary_lines([plain]) == _table(summary_lines([plain]))  # no note at all


@pytest.mark.parametrize("width", [60, 80, 100, 120, 250])
def test_the_table_fits_the_terminal_width(width: int) -> None:
    long_id = "tests/load_testing/test_load_concurrent.py::test_100_simultaneous_form_submissions"
    results = [_scenario_result(), _single("ping", test_id=long_id, sla={"p95": 100})]
    wide = _table(summary_lines(results))
    assert max(map(len, wide)) > 100  # what the table needs
    lines = summary_lines(results, width=width)
    table = [line for line in _table(lines) if not line.startswith("(left out")]
    assert max(map(len, table)) <= width
    header = table[0].split()
    assert header[0:3] == ["test", "/", "operation"]
    assert {"calls/s", "err%", "p95", "SLA"} <= set(header)  # never left out
    assert len(table) == len(wide)  # one line per row: none wrapped
    p95 = table[0].index("p95") + len("p95")
    assert all(row[p95 - 1] != " " for row in table[1:])  # each row's p95 right under its head
    if width <= 80:  # the label cut to 40 characters is not enough: columns go
        note = next(line for line in lines if line.startswith("(left out to fit"))
        assert note.startswith(f"(left out to fit {width} columns: max")
        for name in note.split(": ")[1].rstrip(")").split(", "):
            assert name not in header
    elif width >= max(map(len, wide)):
        assert table == wide
    else:  # the longest labels cut
        assert any("..." in row for row in table)


def test_a_long_test_id_loses_its_directories_then_its_end() -> None:
    long_id = "tests/load_testing/test_load_concurrent.py::test_100_simultaneous_form_submissions"
    lines = summary_lines([_single("ping", test_id=long_id)], width=80)
    row = _table(lines)[1]
    # the directories go first, then the end is cut with "..."
    assert row.startswith("test_load_concurrent.py::test_100_simultaneous")
    assert row.split("  ")[0].endswith("...")
    roomy = _table(summary_lines([_single("ping", test_id=long_id)], width=140))[1]
    assert roomy.startswith(
        "test_load_concurrent.py::test_100_simultaneous_form_submissions [ping] "
    )


def test_error_notes_most_frequent_first() -> None:
    errors = {
        "KeyError": ErrorSample("KeyError", 1, "'x'", ""),
        "ValueError": ErrorSample("ValueError", 7, "bad\nsecond line", ""),
    }
    lines = summary_lines([_single("err", errors=8, errors_by_type=errors)])
    notes = lines[lines.index("") + 1 :]
    assert notes == ["err: error ValueError x7: bad", "err: error KeyError x1: 'x'"]


def test_other_notes() -> None:
    result = _single(
        "busy",
        interrupted=True,
        late_calls=3,
        gil_contention=True,
        cpu_utilisation=0.97,
        peak_active=3,
        idle_users=1,
    )
    lines = summary_lines([result])
    assert "busy: interrupted; figures cover what was measured before the stop" in lines
    assert any(line.startswith("busy: 3 calls reached the timeline after") for line in lines)
    (gil,) = [line for line in lines if "GIL contention" in line]
    assert gil.startswith("busy: GIL contention: 4 users kept the process at 97% CPU")
    assert "at most 3 active at once; 1 of 4 users never completed a call" in gil
    assert "~20ms for the GIL" in gil
    quiet = summary_lines([_single("calm")])
    assert not any("GIL" in line or "interrupted" in line for line in quiet)


def _statement(error: str | None) -> dict[str, Any]:
    return {"sql": "SELECT ...", "plan": {"dialect": "postgresql", "lines": [], "error": error}}


def test_plans_not_taken_are_a_note_per_engine() -> None:
    result = _single()
    gone = 'ProgrammingError: relation "staged" does not exist'
    result.databases = [
        {"name": "sqlite:///ok.db", "statements": [_statement(None), {"plan": None}]},
        {
            "name": "postgresql+asyncpg://app:***@db/shop",
            "statements": [
                _statement(gone),
                _statement(None),
                _statement("TimeoutError: \x1b[31m"),
                _statement(gone),
            ],
        },
    ]
    notes = [line for line in summary_lines([result]) if "query plan" in line]
    assert notes == [
        "ping: no query plan for 3 of 4 statements EXPLAINed on "
        "postgresql+asyncpg://app:***@db/shop, so missing_index could not look at them: "
        f"{gone} (and 1 other reason)"
    ]


def test_failure_message_lists_every_breach() -> None:
    failing = _single(
        "slow",
        sla={"p95": 1, "max": 2},
        errors=2,
        errors_by_type={"OSError": ErrorSample("OSError", 2, "disk full\nmore", "")},
    )
    other = _single("other", sla={"mean": 1})
    passing = _single("fine", sla={"max": 100})
    message = failure_message([failing, passing, other])
    lines = message.splitlines()
    assert lines[0].startswith(
        "load test 'slow' breached its SLA (50 calls, 4 users, 1.0s, p95 10.0ms"
    )
    assert f"  - {failing.sla_breaches[0].message}" in lines
    assert f"  - {failing.sla_breaches[1].message}" in lines
    assert "  error OSError x2, first: disk full" in lines
    assert f"  - {other.sla_breaches[0].message}" in lines
    assert "'fine'" not in message
    assert failure_message([passing]) == ""


def test_user_property() -> None:
    name, value = user_property(_single("ping"))
    assert name == "loadtest[ping]"
    assert value.startswith("calls=50 errors=0 throughput=50.00/s p50=10.000ms")
    assert value.endswith("max=10.000ms passed=True")
    empty = LoadResult("none", LatencyHistogram(), 0, 1.0, {})
    assert "p50=ms" in user_property(empty)[1]
