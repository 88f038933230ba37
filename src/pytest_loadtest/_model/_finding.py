"""Findings of the detectors: plain data.

A :class:`Finding` is plain data: what kind of problem, a one-line title, the evidence (numbers),
the recommendation, a severity and a JSON-ready ``data`` mapping for reports and tools.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, final

__all__ = ["SEVERITIES", "Finding", "Severity"]

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
