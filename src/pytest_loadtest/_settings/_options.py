"""Session-wide command-line options (the per-test settings are the rows of :mod:`._table`).

Plain data: ``plugin.py`` adds each to pytest's "load testing" group, with an ini twin where
``ini`` names one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, final

__all__ = ["SESSION_OPTIONS", "OptionSpec"]


@final
@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option: its flag, argparse keywords, help, and the ini key of its twin (if any)."""

    flag: str
    help: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    ini: str = ""

    @property
    def dest(self) -> str:
        """The ``config.option`` attribute: ``load_compare_fail`` for ``--load-compare-fail``."""
        return self.flag.lstrip("-").replace("-", "_")


_FLAG: Final = {"action": "store_true", "default": False}

SESSION_OPTIONS: Final[tuple[OptionSpec, ...]] = (
    OptionSpec(
        "--load-run-all",
        "run load and soak tests even when -m does not select them and they are not named.",
        _FLAG,
    ),
    OptionSpec("--load-no-sla", "report SLA breaches without failing the tests.", _FLAG),
    OptionSpec(
        "--load-report",
        "write index.html, results.json, timeline.csv and summary.csv of the session's load "
        "tests into DIR (charts need pytest-loadtest[report]).",
        {"metavar": "DIR"},
        ini="load_report",
    ),
    OptionSpec(
        "--load-progress",
        "progress of a running load test: live (one line updated in place), line (a line every "
        "10s), off. Default: live on a terminal, line otherwise, off under -q.",
        {"metavar": "MODE", "choices": ("live", "line", "off")},
        ini="load_progress",
    ),
    OptionSpec(
        "--load-progress-interval",
        "seconds between two progress lines in line mode. Default 10s.",
        {"metavar": "DURATION"},
        ini="load_progress_interval",
    ),
    OptionSpec(
        "--load-save",
        "save the session's load results as a new run NAME in pytest-benchmark's storage "
        "(--benchmark-storage, default .benchmarks/<machine>/NNNN_NAME.json).",
        {"metavar": "NAME"},
    ),
    OptionSpec(
        "--load-autosave", "save the load results under an automatic name (commit, time).", _FLAG
    ),
    OptionSpec(
        "--load-save-failed",
        "save even when the session failed (marked failed; --load-compare passes over it).",
        _FLAG,
    ),
    OptionSpec(
        "--load-compare",
        "compare load results with a saved run: the latest by default, or run NUM, the latest "
        "run NAME, or a file.",
        {"metavar": "NUM|NAME|PATH", "nargs": "?", "const": ""},
    ),
    OptionSpec(
        "--load-compare-fail",
        "fail a load test that regressed against the baseline beyond sampling noise, e.g. "
        "'p95:10%,p99:15%,throughput:-5%,error_rate:+0.5%'.",
        {"metavar": "CHECKS"},
    ),
)
