"""The table of settings: each one's parser, command-line flag, ini key and help text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, final

from pytest_loadtest._model._shapes import parse_stages
from pytest_loadtest._model._units import parse_count, parse_duration
from pytest_loadtest._settings._parsers import (
    parse_bool,
    parse_detectors,
    parse_optional_count,
    parse_positive_duration,
    parse_rate,
    parse_seed,
    parse_setting_sla,
    parse_think_time,
    parse_watch,
)

__all__ = ["DEFAULT_DURATION", "DEFAULT_MAX_DURATION", "SETTINGS", "SettingSpec"]

#: Default length of a run: short enough for a click in an IDE.
DEFAULT_DURATION: Final = 5.0
#: Default cap when ``iterations`` is set and no duration is: like k6's ``maxDuration``.
DEFAULT_MAX_DURATION: Final = 600.0


@final
@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One setting: its parser, its command-line and ini names, and its help text."""

    name: str
    parse: Callable[[object], Any]
    help: str
    metavar: str = ""
    cli: bool = True
    ini: bool = True

    @property
    def option(self) -> str:
        """The command-line flag, ``--load-ramp-up`` for ``ramp_up``."""
        return "--load-" + self.name.replace("_", "-")

    @property
    def ini_name(self) -> str:
        """The ini key, ``load_ramp_up`` for ``ramp_up``."""
        return "load_" + self.name

    @property
    def dest(self) -> str:
        """The ``config.option`` attribute."""
        return "load_" + self.name


SETTINGS: Final[tuple[SettingSpec, ...]] = (
    SettingSpec("users", parse_count, "number of virtual users (threads). Default 10.", "N"),
    SettingSpec(
        "duration",
        parse_positive_duration,
        "how long a run lasts: seconds or '500ms', '30s', '10m', '1h30m'. Default 5s "
        f"(with iterations set: at most {DEFAULT_MAX_DURATION:g}s).",
        "DURATION",
    ),
    SettingSpec(
        "iterations",
        parse_optional_count,
        "total iterations shared by all users; the run ends at whichever of duration and "
        "iterations comes first. Default: no limit.",
        "N",
    ),
    SettingSpec(
        "ramp_up", parse_duration, "start the users linearly over this time. Default 0.", "DURATION"
    ),
    SettingSpec(
        "think_time",
        parse_think_time,
        "pause between a user's iterations: '0.5', '100ms' or a range '10ms..50ms'. Default 0.",
        "DURATION[..MAX]",
    ),
    SettingSpec(
        "warmup",
        parse_duration,
        "seconds at the start left out of the statistics. Default 0.",
        "DURATION",
    ),
    SettingSpec(
        "stop_timeout",
        parse_duration,
        "how long in-flight calls may finish after the end; later ones are reported as hung. "
        "Default 5s.",
        "DURATION",
    ),
    SettingSpec(
        "ramp_down",
        parse_duration,
        "stop the users (or lower the rate) linearly over the last DURATION of the run. Default 0.",
        "DURATION",
    ),
    SettingSpec(
        "stages",
        parse_stages,
        "closed-model profile: 'DURATION:USERS,...', each stage moving linearly from the previous "
        "target (0 at the start) to its own, like k6's ramping-vus; e.g. '30s:100,2m:100,10s:0'.",
        "STAGES",
    ),
    SettingSpec(
        "pacing",
        parse_duration,
        "closed model: each user starts an iteration at most every DURATION (Locust's "
        "constant_pacing). Default 0 (off).",
        "DURATION",
    ),
    SettingSpec(
        "rate",
        parse_rate,
        "open model: iterations started per second, whatever earlier ones take; latency is "
        "measured from each iteration's intended start (coordinated omission corrected).",
        "PER_SECOND",
    ),
    SettingSpec(
        "rate_stages",
        parse_stages,
        "open-model profile: 'DURATION:RATE,...' from rate 0 at the start, e.g. '30s:100,1m:1000'.",
        "STAGES",
    ),
    SettingSpec(
        "max_users",
        parse_count,
        "open model: most virtual users serving iterations at once; an iteration due when all "
        "are busy is dropped and counted. Default 1000.",
        "N",
    ),
    SettingSpec(
        "abort_on_breach",
        parse_bool,
        "stop a run early once the SLA, evaluated over a rolling window, stays breached for "
        "longer than abort_grace (k6's abortOnFail). Default off.",
        "BOOL",
    ),
    SettingSpec(
        "abort_grace",
        parse_duration,
        "how long a rolling SLA breach may last before abort_on_breach stops the run "
        "(k6's delayAbortEval). Default 0.",
        "DURATION",
    ),
    SettingSpec(
        "abort_window",
        parse_positive_duration,
        "length of the rolling window abort_on_breach evaluates the SLA over. Default 5s.",
        "DURATION",
    ),
    SettingSpec(
        "seed",
        parse_seed,
        "base seed of the per-user random generators (vu.random); reported with each result "
        "so a run can be repeated. Default: random.",
        "INT",
    ),
    SettingSpec(
        "monitor_interval",
        parse_duration,
        "seconds between samples of the process's CPU, memory, threads, files and IO; 0 turns "
        "the resource monitor off. Default 1s.",
        "DURATION",
    ),
    SettingSpec(
        "tracemalloc",
        parse_bool,
        "trace allocations to name the top growing allocation sites by file:line (slows "
        "allocation-heavy code several-fold). Default off.",
        "BOOL",
    ),
    SettingSpec("watch", parse_watch, "SQLAlchemy engines to watch", cli=False, ini=False),
    SettingSpec(
        "detectors", parse_detectors, "bottleneck detector thresholds", cli=False, ini=False
    ),
    SettingSpec("sla", parse_setting_sla, "service-level targets", cli=False, ini=False),
)
