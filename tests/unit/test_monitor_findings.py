"""Findings as data and as the "BOTTLENECKS IDENTIFIED / RECOMMENDATIONS" block."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pytest_loadtest._model._finding import Finding
from pytest_loadtest._model._result import LoadResult, OperationStats
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._model._units import format_bytes
from pytest_loadtest._report._findings import (
    assert_no_findings,
    findings_failure,
    format_findings,
    format_resources,
)


def test_finding_round_trips_through_json() -> None:
    finding = Finding(
        kind="missing_index",
        title="Full scan of projects",
        evidence="plan: SCAN projects",
        recommendation="Add an index on projects(client_id)",
        severity="high",
        data={"table": "projects", "columns": ["client_id"]},
    )
    again = Finding.from_dict(json.loads(json.dumps(finding.to_dict())))
    assert again == finding


def test_finding_from_dict_rejects_an_unknown_severity() -> None:
    with pytest.raises(ValueError, match="severity 'urgent'"):
        Finding.from_dict({"kind": "x", "title": "t", "severity": "urgent"})


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0B"),
        (999, "999B"),
        (12_300, "12.3KB"),
        (350_000_000, "350MB"),
        (1_200_000_000, "1.2GB"),
        (-4_000_000, "-4.0MB"),
        (math.nan, "-"),
    ],
)
def test_format_bytes(n: float, text: str) -> None:
    assert format_bytes(n) == text


def test_resources_line_matches_the_seed_example() -> None:
    line = format_resources(
        cpu_peak_percent=67.2, rss_peak_bytes=1_200_000_000, connections=(8, 10)
    )
    assert line == "RESOURCES:   CPU Peak: 67%   Memory Peak: 1.2GB   DB Connections: 8/10"


def test_resources_line_leaves_out_what_is_unknown() -> None:
    assert format_resources(rss_peak_bytes=50e6) == "RESOURCES:   Memory Peak: 50.0MB"
    assert format_resources(connections=(3, None)) == "RESOURCES:   DB Connections: 3/-"
    assert format_resources(cpu_peak_percent=math.nan) == ""


def test_resources_line_says_when_samples_were_missed() -> None:
    line = format_resources(cpu_peak_percent=150.0, missed=6)
    assert line == "RESOURCES:   CPU Peak: 150%   (6 samples missed: the sampler was starved)"


def _finding(kind: str, severity: str) -> Finding:
    return Finding.from_dict(
        {
            "kind": kind,
            "title": f"{kind} title",
            "evidence": f"{kind} evidence",
            "recommendation": f"{kind} advice",
            "severity": severity,
        }
    )


def test_block_numbers_bottlenecks_and_recommendations_alike_most_severe_first() -> None:
    findings = [_finding("pool", "low"), _finding("index", "high"), _finding("n1", "medium")]
    assert format_findings(findings, resources="RESOURCES:   CPU Peak: 67%") == [
        "RESOURCES:   CPU Peak: 67%",
        "BOTTLENECKS IDENTIFIED:",
        "1. index title - index evidence",
        "2. n1 title - n1 evidence",
        "3. pool title - pool evidence",
        "RECOMMENDATIONS:",
        "1. index advice",
        "2. n1 advice",
        "3. pool advice",
    ]


def test_no_findings_no_block() -> None:
    assert format_findings([]) == []
    assert format_findings([], resources="RESOURCES:   CPU Peak: 5%") == [
        "RESOURCES:   CPU Peak: 5%"
    ]


def _result_with(*findings: Finding) -> LoadResult:
    histogram = LatencyHistogram()
    histogram.fold_ns(np.full(40, 5_000_000, dtype=np.int64))
    op = OperationStats("read_page", "task", histogram, 0, 2.0)
    result = LoadResult("read_page", histogram, 0, 2.0, {"read_page": op}, users=200)
    result.findings = list(findings)
    return result


POOL = Finding(
    kind="pool_saturation",
    title="Connection pool at its limit",
    evidence="checked out 30/30 at peak, up to 181 callers waiting",
    recommendation="Grow the pool to 263 connections",
    severity="high",
)
LEAK = Finding("soak_leak", "RSS grows", "12 MB/h", "Look at the allocation sites", "low")


def test_no_findings_of_the_kinds_named_passes() -> None:
    assert_no_findings(_result_with(LEAK), "pool_saturation", "missing_index")
    assert_no_findings(_result_with())
    assert findings_failure(_result_with(LEAK), ["n_plus_one"]) == ""


def test_a_finding_fails_with_its_title_evidence_and_advice() -> None:
    with pytest.raises(AssertionError) as failed:
        assert_no_findings(_result_with(LEAK, POOL), "pool_saturation", "missing_index")
    assert str(failed.value).splitlines() == [
        "load test 'read_page' found 1 bottleneck it must not have (pool_saturation, "
        "missing_index; 40 calls, 200 users, 2.0s):",
        "  - pool_saturation (high): Connection pool at its limit",
        "    evidence: checked out 30/30 at peak, up to 181 callers waiting",
        "    advice: Grow the pool to 263 connections",
    ]


def test_no_kind_named_fails_on_any_finding_most_severe_first() -> None:
    message = findings_failure(_result_with(LEAK, POOL))
    assert message.startswith("load test 'read_page' found 2 bottlenecks it must not have (any;")
    kinds = [line.split()[1] for line in message.splitlines() if line.startswith("  - ")]
    assert kinds == ["pool_saturation", "soak_leak"]


def test_a_kind_no_detector_reports_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"no detector reports 'missing_indx' \(kinds: .*"):
        assert_no_findings(_result_with(), "missing_indx")


def test_user_text_in_a_finding_stays_on_its_line() -> None:
    hostile = Finding("slow_statement", "slow\nstatement\x1b[31m", "SELECT 1\r\n", "index it")
    lines = findings_failure(_result_with(hostile)).splitlines()
    assert len(lines) == 4
    assert "\x1b" not in "".join(lines)


def test_the_helper_is_public() -> None:
    import pytest_loadtest

    assert pytest_loadtest.assert_no_findings is assert_no_findings
