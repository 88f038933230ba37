"""The "RESOURCES / BOTTLENECKS IDENTIFIED / RECOMMENDATIONS" block of a run's findings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pytest_loadtest._model._finding import SEVERITIES, Finding
from pytest_loadtest._model._units import format_bytes
from pytest_loadtest._report._escape import LINE_LIMIT, NAME_LIMIT, cut, one_line

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult

__all__ = ["assert_no_findings", "findings_failure", "format_findings", "format_resources"]


def format_resources(
    *,
    cpu_peak_percent: float | None = None,
    rss_peak_bytes: float | None = None,
    connections: tuple[int, int | None] | None = None,
    missed: int = 0,
) -> str:
    """``RESOURCES:   CPU Peak: 67%   Memory Peak: 1.2GB   DB Connections: 8/10``.

    CPU is the process's, 100% being one core (as ``top`` shows it); ``connections`` is the
    pool's checked-out peak and its capacity (``None``: no fixed capacity); ``missed`` samples
    that were due and not taken. Missing parts are left out; ``""`` when nothing is known.
    """
    parts = []
    if cpu_peak_percent is not None and math.isfinite(cpu_peak_percent):
        parts.append(f"CPU Peak: {cpu_peak_percent:.0f}%")
    if rss_peak_bytes is not None and math.isfinite(rss_peak_bytes):
        parts.append(f"Memory Peak: {format_bytes(rss_peak_bytes)}")
    if connections is not None:
        peak, capacity = connections
        parts.append(f"DB Connections: {peak}/{capacity if capacity is not None else '-'}")
    if parts and missed:  # the sampler's thread was starved: its peaks may miss the worst
        parts.append(f"({missed:,} samples missed: the sampler was starved)")
    return "RESOURCES:   " + "   ".join(parts) if parts else ""


def _ordered(findings: Sequence[Finding]) -> list[Finding]:
    # most severe first; stable, so each detector's own order is kept within a severity
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))


def format_findings(findings: Sequence[Finding], *, resources: str = "") -> list[str]:
    """Terminal lines: an optional ``RESOURCES:`` line, then the numbered bottlenecks and the
    recommendations in the same order (recommendation *n* answers bottleneck *n*).

    ``resources`` is a line from :func:`format_resources`. No findings: only that line (or
    nothing).
    """
    lines = [resources] if resources else []
    if not findings:
        return lines
    ordered = _ordered(findings)
    lines.append("BOTTLENECKS IDENTIFIED:")
    # findings quote user code (operation names, SQL): one line each, escaped
    for number, finding in enumerate(ordered, 1):
        evidence = f" - {finding.evidence}" if finding.evidence else ""
        lines.append(one_line(f"{number}. {finding.title}{evidence}", LINE_LIMIT))
    lines.append("RECOMMENDATIONS:")
    lines.extend(one_line(f"{n}. {f.recommendation}", LINE_LIMIT) for n, f in enumerate(ordered, 1))
    return lines


def findings_failure(result: LoadResult, kinds: Sequence[str] = ()) -> str:
    """The message that fails a test whose run found what it must not: each finding of
    ``kinds`` (every finding when none is named) with its evidence and advice; ``""`` when the
    run found none of them. ``ValueError`` for a kind no detector reports."""
    from pytest_loadtest._monitor._detectors import DEFAULT_RULES

    known = [rule.name for rule in DEFAULT_RULES]
    unknown = [kind for kind in kinds if kind not in known]
    if unknown:
        raise ValueError(
            f"assert_no_findings(): no detector reports {', '.join(map(repr, unknown))} "
            f"(kinds: {', '.join(known)})"
        )
    found = [f for f in _ordered(result.findings) if not kinds or f.kind in kinds]
    if not found:
        return ""
    which = ", ".join(kinds) if kinds else "any"
    lines = [
        # repr escapes what a terminal would act on; the name is cut first
        f"load test {cut(result.name, NAME_LIMIT)!r} found {len(found)} bottleneck"
        f"{'s' if len(found) != 1 else ''} it must not have ({which}; {result.total:,} calls, "
        f"{result.users} user{'s' if result.users != 1 else ''}, {result.duration:.1f}s):"
    ]
    for finding in found:
        lines.append(f"  - {finding.kind} ({finding.severity}): {finding.title}")
        if finding.evidence:
            lines.append(f"    evidence: {finding.evidence}")
        if finding.recommendation:
            lines.append(f"    advice: {finding.recommendation}")
    # findings quote user code (operation names, SQL): one line each, escaped
    return "\n".join(one_line(line, LINE_LIMIT) for line in lines)


def assert_no_findings(result: LoadResult, *kinds: str) -> None:
    """Fail the test, as an SLA breach does, if ``result`` has a finding of one of ``kinds``
    (``"missing_index"``, ``"n_plus_one"``, ``"pool_saturation"``...; none named: any finding):
    the message gives each one's title, evidence and advice.

    ``assert_no_findings(result, "slow_statement", "missing_index")``; a kind no detector
    reports is a ``ValueError`` (a typo would otherwise pass every time)."""
    __tracebackhide__ = True  # pytest shows the test's line, not this one
    message = findings_failure(result, kinds)
    if message:
        raise AssertionError(message)
