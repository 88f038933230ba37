"""Session-wide command-line options (the per-test settings are the rows of :mod:`._table`), and
how ``plugin.py`` registers the settings' flags (:func:`setting_option_kwargs`) and tells
whether a run sets any option of ours (:func:`any_option_set`) without importing the table.

Plain data and plain functions: ``plugin.py`` adds each option to pytest's "load testing" group,
with an ini twin where ``ini`` names one.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, final

from pytest_loadtest._settings._cli import SETTING_OPTIONS

__all__ = [
    "SESSION_OPTIONS",
    "ConfigReader",
    "OptionSpec",
    "any_option_set",
    "session_option",
    "setting_option_kwargs",
]


class ConfigReader(Protocol):
    """What the session reads options through: ``pytest.Config`` is one."""

    def getoption(self, name: str, default: Any = ..., skip: bool = ...) -> Any:
        """The value of a command-line option (``default`` when the option does not exist)."""

    def getini(self, name: str) -> Any:
        """The value of an ini key."""


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
    OptionSpec(
        "--load-compare-history",
        "judge each --load-compare-fail check against the last N saved runs of this machine up "
        "to the baseline that passed with the same load (their median and between-run spread), "
        "once 3 or more hold its figure; 0: against the baseline alone. Default 10.",
        {"metavar": "N"},
        ini="load_compare_history",
    ),
    OptionSpec(
        "--load-xdist-parallel",
        "under pytest-xdist, let load tests on different workers run at the same time (by "
        "default they take turns: each one's figures would include the others' load).",
        _FLAG,
    ),
    OptionSpec(
        "--load-tx",
        "start load tests' worker processes (processes=N) at SPEC, pytest-xdist's --tx syntax: "
        "popen, ssh=HOST//python=PATH, socket=HOST:PORT, N*SPEC; repeatable. With it, a test "
        "that sets no processes uses one worker per place. Needs pytest-loadtest[scale].",
        {"metavar": "SPEC", "action": "append"},
        ini="load_tx",
    ),
)


def setting_option_kwargs(row: tuple[str, str, str, str, str, str]) -> dict[str, Any]:
    """``group.addoption`` keywords of a setting's flag (a row of ``_cli.SETTING_OPTIONS``):
    the table's, with a parser that imports the table only when the flag is given."""
    name, _, metavar, help_text, _, _ = row
    kwargs: dict[str, Any] = {"dest": "load_" + name, "default": None, "help": help_text}
    if metavar == "BOOL":  # --load-x / --no-load-x: a flag never takes a value
        kwargs["action"] = argparse.BooleanOptionalAction
    else:
        kwargs.update(metavar=metavar, type=_lazy_type(name))
    return kwargs


def _lazy_type(name: str) -> Callable[[str], object]:
    """The argparse type of setting ``name``: the settings table's parser, loaded on first use."""

    def parse(text: str) -> object:
        from pytest_loadtest._settings._table import OPTIONS

        spec = next(spec for spec in OPTIONS if spec.name == name)
        return spec.option_kwargs()["type"](text)

    parse.__name__ = name  # argparse names the type in some messages
    return parse


def any_option_set(option: Callable[[str], Any], ini: Callable[[str], Any]) -> bool:
    """Is a command-line option (``option(dest)``) or ini key (``ini(name)``) of ours set?"""
    for name, flag, _, _, ini_name, _ in SETTING_OPTIONS:
        if (flag and option("load_" + name) is not None) or (ini_name and ini(ini_name)):
            return True
    for spec in SESSION_OPTIONS:
        if option(spec.dest) not in (None, False) or (spec.ini and ini(spec.ini)):
            return True
    return False


def session_option(config: ConfigReader, flag: str, inifile: str) -> tuple[Any, str]:
    """The value of session option ``flag`` and where it came from, for messages: the command
    line's (``--load-x``), else the ini file's (``<inifile> option load_x``); ``(None, "")``
    when neither sets it."""
    spec = next(spec for spec in SESSION_OPTIONS if spec.flag == flag)
    value = config.getoption(spec.dest)
    if value is not None:
        return value, flag
    if spec.ini and (text := config.getini(spec.ini)):
        return text, f"{inifile} option {spec.ini}"
    return None, ""
