"""The lines on runs spread over worker processes, and the note on load tests that overlapped."""

from __future__ import annotations

from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._report._workers import overlap_lines, worker_lines


def _result(test_id: str, start: float, duration: float, warmup: float = 0.0) -> LoadResult:
    return LoadResult(
        name="work",
        histogram=LatencyHistogram(),
        errors=0,
        duration=duration,
        operations={},
        started_at=start,
        test_id=test_id,
        settings={"warmup": warmup},
    )


def test_runs_one_after_another_need_no_note() -> None:
    assert overlap_lines([_result("a", 100.0, 5.0), _result("b", 105.0, 5.0)]) == []
    assert overlap_lines([_result("a", 100.0, 5.0), _result("a", 102.0, 5.0)]) == []


def test_overlapping_tests_are_named_with_how_long_they_overlapped() -> None:
    lines = overlap_lines(
        [_result("t.py::b", 103.0, 5.0), _result("t.py::a", 100.0, 2.0, warmup=2.0)]
    )
    assert len(lines) == 1
    assert "t.py::a and t.py::b for 1.0s." in lines[0]
    assert "--load-xdist-parallel" in lines[0]
    assert "processes=N" in lines[0]


def test_worker_lines_show_each_part_and_a_lost_worker() -> None:
    result = _result("t.py::a", 100.0, 5.0)
    result.workers = [
        {
            "worker": 0,
            "place": "popen",
            "pid": 11,
            "users": 2,
            "calls": 1500,
            "errors": 1,
            "cpu_s": 1.25,
            "rss_mb": 70.4,
            "skew_ms": 0.5,
            "lost": None,
        },
        {
            "worker": 1,
            "place": "socket=h:1",
            "pid": 12,
            "users": 2,
            "calls": 700,
            "errors": 0,
            "cpu_s": 0.5,
            "rss_mb": 60.0,
            "skew_ms": 2.0,
            "lost": "1.2s into the run: \x1b[31mgone",
        },
    ]
    lines = worker_lines([result, _result("t.py::b", 0.0, 1.0)])
    assert lines[0] == "work: 2 worker processes, start skew 1.5 ms"
    assert lines[1] == (
        "  worker 0 popen pid 11: 2 users, 1,500 calls, 1 errors, CPU 1.2s, RSS 70 MB"
    )
    assert lines[2].endswith("LOST 1.2s into the run: \\x1b[31mgone")
    assert len(lines) == 3
