"""Findings of the detectors, and the "BOTTLENECKS IDENTIFIED / RECOMMENDATIONS" block.

A :class:`Finding` is plain data: what kind of problem, a one-line title, the evidence (numbers),
the recommendation, a severity and a JSON-ready ``data`` mapping for reports and tools.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, final

__all__ = [
    "SEVERITIES",
    "Finding",
    "Severity",
    "format_bytes",
    "format_findings",
    "format_resources",
]

Severity = Literal["high", "medium", "low"]
#: Severities, most severe first: the order findings are listed in.
SEVERITIES: Final[tuple[Severity, ...]] = ("high", "medium", "low")


@final
@dataclass(frozen=True)
class Finding:
    """One bottleneck: ``kind`` names the detector (``"missing_index"``, ``"n_plus_one"``...)."""

    kind: str
    title: str
    evidence: str
    recommendation: str
    severity: Severity = "medium"
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "title": self.title,
            "evidence": self.evidence,
            "recommendation": self.recommendation,
            "severity": self.severity,
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """Inverse of :meth:`to_dict`; ``ValueError`` for an unknown severity."""
        severity = str(data.get("severity", "medium"))
        if severity not in SEVERITIES:
            raise ValueError(f"unknown finding severity {severity!r}")
        return cls(
            kind=str(data["kind"]),
            title=str(data["title"]),
            evidence=str(data.get("evidence", "")),
            recommendation=str(data.get("recommendation", "")),
            severity=severity,  # narrowed by the membership test above
            data=dict(data.get("data") or {}),
        )


def format_bytes(n: float) -> str:
    """``1.2GB``, ``350MB``, ``12KB``: decimal units, as the seed's ``Memory Peak: 1.2GB``."""
    if not math.isfinite(n):
        return "-"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(n) >= size:
            value = n / size
            return f"{value:.1f}{unit}" if abs(value) < 100 else f"{value:.0f}{unit}"
    return f"{n:.0f}B"


def format_resources(
    *,
    cpu_peak_percent: float | None = None,
    rss_peak_bytes: float | None = None,
    connections: tuple[int, int | None] | None = None,
) -> str:
    """``RESOURCES:   CPU Peak: 67%   Memory Peak: 1.2GB   DB Connections: 8/10``.

    CPU is the process's, 100% being one core (as ``top`` shows it); ``connections`` is the
    pool's checked-out peak and its capacity (``None``: no fixed capacity). Missing parts are
    left out; ``""`` when nothing is known.
    """
    parts = []
    if cpu_peak_percent is not None and math.isfinite(cpu_peak_percent):
        parts.append(f"CPU Peak: {cpu_peak_percent:.0f}%")
    if rss_peak_bytes is not None and math.isfinite(rss_peak_bytes):
        parts.append(f"Memory Peak: {format_bytes(rss_peak_bytes)}")
    if connections is not None:
        peak, capacity = connections
        parts.append(f"DB Connections: {peak}/{capacity if capacity is not None else '-'}")
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
    for number, finding in enumerate(ordered, 1):
        evidence = f" - {finding.evidence}" if finding.evidence else ""
        lines.append(f"{number}. {finding.title}{evidence}")
    lines.append("RECOMMENDATIONS:")
    lines.extend(f"{n}. {f.recommendation}" for n, f in enumerate(ordered, 1))
    return lines
