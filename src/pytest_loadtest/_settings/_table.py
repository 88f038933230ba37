"""The table of settings: the one place a setting is declared.

Each row gives a setting's name, default, parser, help text, metavar, whether it has a
command-line flag (``--load-ramp-up``), an ini key (``load_ramp_up``) and a marker argument, and
how its value shows in ``LoadSettings.to_dict()``. Everything else is derived from the rows: the
resolver's defaults, the ``LoadSettings`` field defaults, the options and ini keys the plugin
registers, the marker signature of ``pytest --markers``. A new setting is one row here, a field
of ``LoadSettings`` (same place, same default: a test compares them) and its use.

The rows are in ``LoadSettings``' order, which is also the order of ``to_dict()`` (and so of
``results.json``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from pytest_loadtest._model._units import parse_duration
from pytest_loadtest._settings._parsers import (
    ThinkTime,
    parse_app,
    parse_base_url,
    parse_bool,
    parse_confirm,
    parse_detectors,
    parse_loop,
    parse_loops,
    parse_min_samples,
    parse_optional_count,
    parse_positive_duration,
    parse_processes,
    parse_rate,
    parse_rate_stages,
    parse_seed,
    parse_setting_sla,
    parse_think_time,
    parse_user_stages,
    parse_users,
    parse_watch,
)
from pytest_loadtest._settings._spec import (
    SettingSpec,
    app_text,
    detectors_dict,
    engine_names,
    sla_dict,
    stages_text,
    think_time_text,
)

__all__ = [
    "DEFAULTS",
    "DEFAULT_DURATION",
    "DEFAULT_MAX_DURATION",
    "OPTIONS",
    "SETTINGS",
    "SettingSpec",
    "marker_signature",
]

#: Default length of a run: short enough for a click in an IDE.
DEFAULT_DURATION: Final = 5.0
#: Default cap when ``iterations`` is set and no duration is: like k6's ``maxDuration``.
DEFAULT_MAX_DURATION: Final = 600.0


SETTINGS: Final[tuple[SettingSpec, ...]] = (
    SettingSpec(
        "users",
        10,
        parse_users,
        "number of virtual users (threads), at most 100,000. Default 10.",
        "N",
    ),
    SettingSpec(
        "duration",
        DEFAULT_DURATION,  # with iterations set: DEFAULT_MAX_DURATION; with stages: theirs
        parse_positive_duration,
        "how long a run lasts: seconds or '500ms', '30s', '10m', '1h30m'. Default 5s "
        f"(with iterations set: at most {DEFAULT_MAX_DURATION:g}s).",
        "DURATION",
    ),
    SettingSpec(
        "iterations",
        None,
        parse_optional_count,
        "total iterations shared by all users; the run ends at whichever of duration and "
        "iterations comes first. Default: no limit.",
        "N",
    ),
    SettingSpec(
        "ramp_up",
        0.0,
        parse_duration,
        "start the users linearly over this time. Default 0.",
        "DURATION",
    ),
    SettingSpec(
        "think_time",
        ThinkTime(),
        parse_think_time,
        "pause between a user's iterations: '0.5', '100ms' or a range '10ms..50ms'. Default 0.",
        "DURATION[..MAX]",
        show=think_time_text,
    ),
    SettingSpec(
        "warmup",
        0.0,
        parse_duration,
        "seconds at the start left out of the statistics. Default 0.",
        "DURATION",
    ),
    SettingSpec(
        "stop_timeout",
        5.0,
        parse_duration,
        "how long in-flight calls may finish after the end; later ones are reported as hung. "
        "Default 5s.",
        "DURATION",
    ),
    SettingSpec(
        "seed",
        None,  # the resolver draws one at random
        parse_seed,
        "base seed of the per-user random generators (vu.random); reported with each result "
        "so a run can be repeated. Default: random.",
        "INT",
    ),
    SettingSpec(
        "sla",
        None,
        parse_setting_sla,
        "service-level targets",
        cli=False,
        ini=False,
        show=sla_dict,
    ),
    SettingSpec(
        "ramp_down",
        0.0,
        parse_duration,
        "stop the users (or lower the rate) linearly over the last DURATION of the run. Default 0.",
        "DURATION",
    ),
    SettingSpec(
        "stages",
        None,
        parse_user_stages,
        "closed-model profile: 'DURATION:USERS,...', each stage moving linearly from the previous "
        "target (0 at the start) to its own, like k6's ramping-vus; e.g. '30s:100,2m:100,10s:0'.",
        "STAGES",
        show=stages_text,
    ),
    SettingSpec(
        "pacing",
        0.0,
        parse_duration,
        "closed model: each user starts an iteration at most every DURATION (Locust's "
        "constant_pacing). Default 0 (off).",
        "DURATION",
    ),
    SettingSpec(
        "rate",
        None,
        parse_rate,
        "open model: iterations started per second, whatever earlier ones take; latency is "
        "measured from each iteration's intended start (coordinated omission corrected).",
        "PER_SECOND",
    ),
    SettingSpec(
        "rate_stages",
        None,
        parse_rate_stages,
        "open-model profile: 'DURATION:RATE,...' from rate 0 at the start, e.g. '30s:100,1m:1000'.",
        "STAGES",
        show=stages_text,
    ),
    SettingSpec(
        "max_users",
        1000,
        parse_users,
        "open model: most virtual users serving iterations at once; an iteration due when all "
        "are busy is dropped and counted. Default 1000.",
        "N",
    ),
    SettingSpec(
        "abort_on_breach",
        False,
        parse_bool,
        "stop a run early once the SLA, evaluated over a rolling window, stays breached for "
        "longer than abort_grace (k6's abortOnFail). Default off.",
        "BOOL",
    ),
    SettingSpec(
        "abort_grace",
        0.0,
        parse_duration,
        "how long a rolling SLA breach may last before abort_on_breach stops the run "
        "(k6's delayAbortEval). Default 0.",
        "DURATION",
    ),
    SettingSpec(
        "abort_window",
        5.0,
        parse_positive_duration,
        "length of the rolling window abort_on_breach evaluates the SLA over. Default 5s.",
        "DURATION",
    ),
    SettingSpec(
        "monitor_interval",
        1.0,
        parse_duration,
        "seconds between samples of the process's CPU, memory, threads, files and IO; 0 turns "
        "the resource monitor off. Default 1s.",
        "DURATION",
    ),
    SettingSpec(
        "tracemalloc",
        False,
        parse_bool,
        "trace allocations to name the top growing allocation sites by file:line (slows "
        "allocation-heavy code several-fold). Default off.",
        "BOOL",
    ),
    SettingSpec(
        "watch",
        (),
        parse_watch,
        "SQLAlchemy engines to watch",
        cli=False,
        ini=False,
        show=engine_names,
    ),
    SettingSpec(
        "detectors",
        None,
        parse_detectors,
        "bottleneck detector thresholds",
        cli=False,
        ini=False,
        show=detectors_dict,
    ),
    SettingSpec(
        "min_samples",
        0,
        parse_min_samples,
        "fewest calls an SLA percentile target (p50 ... p99.9, overall or of an operation) must "
        "rest on: on fewer, the target is inconclusive and the test fails, saying so, whatever "
        "the figure; a percentile missed on fewer calls than it needs to mean much (p95 200, "
        "p99 1,000) fails as a low-sample breach either way. Default 0 (no minimum).",
        "N",
    ),
    SettingSpec(
        "confirm",
        0,
        parse_confirm,
        "run a run that breached its SLA again, up to N more times: the test fails only when "
        "every one of them breaches (a busy machine's false alarm passes on a second run, a real "
        "breach fails each time). At most 10. Default 0.",
        "N",
    ),
    SettingSpec(
        "loops",
        1,
        parse_loops,
        "async targets: event-loop threads their users run on, round-robin (closed model). More "
        "than 1 only for code that shares no loop-bound object (a lock, an async pool) between "
        "users. Default 1.",
        "N",
    ),
    SettingSpec(
        "loop",
        "asyncio",
        parse_loop,
        "async targets: the event loop of their users, 'asyncio' or 'uvloop' (the uvloop extra). "
        "Default asyncio.",
        "NAME",
    ),
    SettingSpec(
        "base_url",
        None,
        parse_base_url,
        "where vu.http sends requests: an http:// or https:// URL; given on the command line it "
        "also replaces a test's app=, turning an in-process test into a networked one.",
        "URL",
    ),
    SettingSpec(
        "app",
        None,
        parse_app,
        "an ASGI or WSGI app that vu.http calls in process",
        cli=False,
        ini=False,
        show=app_text,
    ),
    SettingSpec(
        "processes",
        1,
        parse_processes,
        "worker processes the run is spread over (users i on worker i % N; results merged "
        "exactly), or 'auto' for one per core; with --load-tx, where they start. Needs execnet "
        "(pytest-loadtest[scale]). Default 1 (the test's own process).",
        "N|auto",
    ),
)

_BY_NAME: Final = {spec.name: spec for spec in SETTINGS}

#: Every setting's default, by name: what the resolver starts from.
DEFAULTS: Final[Mapping[str, Any]] = MappingProxyType({s.name: s.default for s in SETTINGS})


def _in_order(names: tuple[str, ...]) -> tuple[SettingSpec, ...]:
    """The rows named, in that order, then the others in table order."""
    listed = [_BY_NAME[name] for name in names]
    return (*listed, *(spec for spec in SETTINGS if spec.name not in names))


#: The rows in the order ``pytest --help`` has always listed their options and ini keys.
OPTIONS: Final = _in_order(
    (
        *("users", "duration", "iterations", "ramp_up", "think_time", "warmup", "stop_timeout"),
        *("ramp_down", "stages", "pacing", "rate", "rate_stages", "max_users"),
        *("abort_on_breach", "abort_grace", "abort_window", "seed"),
    )
)

#: The order ``pytest --markers`` has always listed the marker's arguments in: the load
#: profile first.
_MARKER_ORDER: Final = _in_order(
    (
        *("users", "duration", "iterations", "ramp_up", "ramp_down", "stages", "think_time"),
        *("pacing", "rate", "rate_stages", "max_users", "warmup", "stop_timeout", "seed", "sla"),
    )
)


def marker_signature() -> str:
    """The keyword arguments of ``@pytest.mark.load`` with their defaults, for ``--markers``."""
    return ", ".join(f"{spec.name}={spec.literal}" for spec in _MARKER_ORDER if spec.marker)
