"""Where and with what a run was measured: machine, Python, plugin version, commit, time."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, final

from pytest_loadtest._baseline import _benchmark_compat as compat
from pytest_loadtest._baseline._entry import plugin_version

__all__ = ["RunMetadata"]

#: machine_info fields whose change makes timings incomparable, with how to name them.
_MACHINE_FIELDS = (
    ("system", "operating system"),
    ("release", "OS release"),
    ("machine", "architecture"),
    ("cpu_brand", "CPU"),
    ("cpu_count", "CPU count"),
)


@final
@dataclass(frozen=True)
class RunMetadata:
    """What a saved run says about how it was measured (the run file's ``loadtest`` section)."""

    machine_id: str
    machine_info: dict[str, Any] = field(default_factory=dict)
    commit_info: dict[str, Any] = field(default_factory=dict)
    python_version: str = ""
    python_implementation: str = ""
    plugin_version: str = ""
    datetime: str = ""  # ISO 8601, UTC
    passed: bool = True

    @classmethod
    def collect(
        cls,
        machine_id: str | None = None,
        *,
        machine_info: Mapping[str, Any] | None = None,
        commit_info: Mapping[str, Any] | None = None,
        passed: bool = True,
    ) -> RunMetadata:
        """This process's metadata. ``machine_info``/``commit_info`` may come from
        pytest-benchmark's hooks (the plugin has them); by default they are computed here, the
        commit from ``git`` (a few milliseconds, once per save)."""
        return cls(
            machine_id=machine_id or compat.machine_id(),
            machine_info=dict(machine_info if machine_info is not None else compat.machine_info()),
            commit_info=dict(commit_info if commit_info is not None else compat.commit_info()),
            python_version=platform.python_version(),
            python_implementation=platform.python_implementation(),
            plugin_version=plugin_version(),
            datetime=datetime.now(timezone.utc).isoformat(),
            passed=passed,
        )

    def to_dict(self) -> dict[str, Any]:
        """The run file's ``loadtest`` section (machine and commit info live at top level)."""
        return {
            "format": compat.FORMAT,
            "machine_id": self.machine_id,
            "python_version": self.python_version,
            "python_implementation": self.python_implementation,
            "plugin_version": self.plugin_version,
            "datetime": self.datetime,
            "passed": self.passed,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> RunMetadata:
        """Read back from a run file; a file pytest-benchmark wrote itself has no ``loadtest``
        section, and its ``machine_info`` fills in what it can."""
        section = document.get("loadtest")
        ours: Mapping[str, Any] = section if isinstance(section, Mapping) else {}
        machine = document.get("machine_info")
        info: dict[str, Any] = dict(machine) if isinstance(machine, Mapping) else {}
        commit = document.get("commit_info")
        return cls(
            machine_id=str(ours.get("machine_id", "")),
            machine_info=info,
            commit_info=dict(commit) if isinstance(commit, Mapping) else {},
            python_version=str(ours.get("python_version") or info.get("python_version", "")),
            python_implementation=str(
                ours.get("python_implementation") or info.get("python_implementation", "")
            ),
            plugin_version=str(ours.get("plugin_version", "")),
            datetime=str(ours.get("datetime") or document.get("datetime", "")),
            passed=ours.get("passed") is not False,
        )

    def _machine(self) -> dict[str, str]:
        info = self.machine_info
        cpu = info.get("cpu")
        cpu_info: Mapping[str, Any] = cpu if isinstance(cpu, Mapping) else {}
        flat = {
            "system": info.get("system"),
            "release": info.get("release"),
            "machine": info.get("machine"),
            "cpu_brand": cpu_info.get("brand_raw"),
            "cpu_count": cpu_info.get("count"),
        }
        return {key: str(value) for key, value in flat.items() if value not in (None, "")}

    def differences(self, current: RunMetadata) -> list[str]:
        """What changed from this (baseline) run to ``current``, one phrase each."""
        changes = []
        if self.python_implementation and current.python_implementation:
            old = f"{self.python_implementation} {self.python_version}".strip()
            new = f"{current.python_implementation} {current.python_version}".strip()
            if old != new:
                changes.append(f"Python {old} -> {new}")
        old_machine, new_machine = self._machine(), current._machine()
        for key, name in _MACHINE_FIELDS:
            if key in old_machine and key in new_machine and old_machine[key] != new_machine[key]:
                changes.append(f"{name} {old_machine[key]} -> {new_machine[key]}")
        if (
            self.plugin_version
            and current.plugin_version
            and self.plugin_version != current.plugin_version
        ):
            changes.append(f"pytest-loadtest {self.plugin_version} -> {current.plugin_version}")
        return changes

    def describe(self) -> str:
        """``2024-05-01 12:00 UTC, commit 1a2b3c4d, CPython 3.11.7 on Linux-...``."""
        parts = []
        if self.datetime:
            try:
                when = datetime.fromisoformat(self.datetime)
                parts.append(when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
            except ValueError:
                parts.append(self.datetime)
        commit = str(self.commit_info.get("id") or "")
        if commit and commit not in ("unversioned", "unknown"):
            dirty = "+" if self.commit_info.get("dirty") else ""
            parts.append(f"commit {commit[:10]}{dirty}")
        if self.machine_id:
            parts.append(self.machine_id)
        if not self.passed:
            parts.append("saved from a failed run")
        return ", ".join(parts)
