"""The settings table's command-line options and ini keys as plain data, and the
markers: what ``plugin.py`` registers in every pytest run, without importing the table, its
parsers or the model (the table stays the one source: ``tests/unit/test_cli_snapshot.py``
checks this file against it and regenerates it).

GENERATED from ``_table.py`` by ``python tests/unit/test_cli_snapshot.py``: do not edit.
"""

# ruff: noqa: E501
from __future__ import annotations

from typing import Final

__all__ = ["MARKERS", "MARKER_SIGNATURE", "SETTING_OPTIONS"]

#: One row per setting with a flag or an ini key, in ``pytest --help`` order:
#: ``(name, flag, metavar, flag help, ini key, ini help)``; flag and ini key ``""`` when absent,
#: metavar ``BOOL`` for a ``--load-x/--no-load-x`` flag.
# fmt: off
SETTING_OPTIONS: Final[tuple[tuple[str, str, str, str, str, str], ...]] = (
    ('users', '--load-users', 'N', 'number of virtual users (threads), at most 100,000. Default 10. Overrides markers and run() arguments.', 'load_users', 'load testing: number of virtual users (threads), at most 100,000. Default 10.'),
    ('duration', '--load-duration', 'DURATION', "how long a run lasts: seconds or '500ms', '30s', '10m', '1h30m'. Default 5s (with iterations set: at most 600s). Overrides markers and run() arguments.", 'load_duration', "load testing: how long a run lasts: seconds or '500ms', '30s', '10m', '1h30m'. Default 5s (with iterations set: at most 600s)."),
    ('iterations', '--load-iterations', 'N', 'total iterations shared by all users; the run ends at whichever of duration and iterations comes first. Default: no limit. Overrides markers and run() arguments.', 'load_iterations', 'load testing: total iterations shared by all users; the run ends at whichever of duration and iterations comes first. Default: no limit.'),
    ('ramp_up', '--load-ramp-up', 'DURATION', 'start the users linearly over this time. Default 0. Overrides markers and run() arguments.', 'load_ramp_up', 'load testing: start the users linearly over this time. Default 0.'),
    ('think_time', '--load-think-time', 'DURATION[..MAX]', "pause between a user's iterations: '0.5', '100ms' or a range '10ms..50ms'. Default 0. Overrides markers and run() arguments.", 'load_think_time', "load testing: pause between a user's iterations: '0.5', '100ms' or a range '10ms..50ms'. Default 0."),
    ('warmup', '--load-warmup', 'DURATION', 'seconds at the start left out of the statistics. Default 0. Overrides markers and run() arguments.', 'load_warmup', 'load testing: seconds at the start left out of the statistics. Default 0.'),
    ('stop_timeout', '--load-stop-timeout', 'DURATION', 'how long in-flight calls may finish after the end; later ones are reported as hung. Default 5s. Overrides markers and run() arguments.', 'load_stop_timeout', 'load testing: how long in-flight calls may finish after the end; later ones are reported as hung. Default 5s.'),
    ('ramp_down', '--load-ramp-down', 'DURATION', 'stop the users (or lower the rate) linearly over the last DURATION of the run. Default 0. Overrides markers and run() arguments.', 'load_ramp_down', 'load testing: stop the users (or lower the rate) linearly over the last DURATION of the run. Default 0.'),
    ('stages', '--load-stages', 'STAGES', "closed-model profile: 'DURATION:USERS,...', each stage moving linearly from the previous target (0 at the start) to its own, like k6's ramping-vus; e.g. '30s:100,2m:100,10s:0'. Overrides markers and run() arguments.", 'load_stages', "load testing: closed-model profile: 'DURATION:USERS,...', each stage moving linearly from the previous target (0 at the start) to its own, like k6's ramping-vus; e.g. '30s:100,2m:100,10s:0'."),
    ('pacing', '--load-pacing', 'DURATION', "closed model: each user starts an iteration at most every DURATION (Locust's constant_pacing). Default 0 (off). Overrides markers and run() arguments.", 'load_pacing', "load testing: closed model: each user starts an iteration at most every DURATION (Locust's constant_pacing). Default 0 (off)."),
    ('rate', '--load-rate', 'PER_SECOND', "open model: iterations started per second, whatever earlier ones take; latency is measured from each iteration's intended start (coordinated omission corrected). Overrides markers and run() arguments.", 'load_rate', "load testing: open model: iterations started per second, whatever earlier ones take; latency is measured from each iteration's intended start (coordinated omission corrected)."),
    ('rate_stages', '--load-rate-stages', 'STAGES', "open-model profile: 'DURATION:RATE,...' from rate 0 at the start, e.g. '30s:100,1m:1000'. Overrides markers and run() arguments.", 'load_rate_stages', "load testing: open-model profile: 'DURATION:RATE,...' from rate 0 at the start, e.g. '30s:100,1m:1000'."),
    ('max_users', '--load-max-users', 'N', 'open model: most virtual users serving iterations at once; an iteration due when all are busy is dropped and counted. Default 1000. Overrides markers and run() arguments.', 'load_max_users', 'load testing: open model: most virtual users serving iterations at once; an iteration due when all are busy is dropped and counted. Default 1000.'),
    ('abort_on_breach', '--load-abort-on-breach', 'BOOL', "stop a run early once the SLA, evaluated over a rolling window, stays breached for longer than abort_grace (k6's abortOnFail). Default off. Overrides markers and run() arguments.", 'load_abort_on_breach', "load testing: stop a run early once the SLA, evaluated over a rolling window, stays breached for longer than abort_grace (k6's abortOnFail). Default off."),
    ('abort_grace', '--load-abort-grace', 'DURATION', "how long a rolling SLA breach may last before abort_on_breach stops the run (k6's delayAbortEval). Default 0. Overrides markers and run() arguments.", 'load_abort_grace', "load testing: how long a rolling SLA breach may last before abort_on_breach stops the run (k6's delayAbortEval). Default 0."),
    ('abort_window', '--load-abort-window', 'DURATION', 'length of the rolling window abort_on_breach evaluates the SLA over. Default 5s. Overrides markers and run() arguments.', 'load_abort_window', 'load testing: length of the rolling window abort_on_breach evaluates the SLA over. Default 5s.'),
    ('seed', '--load-seed', 'INT', 'base seed of the per-user random generators (vu.random); reported with each result so a run can be repeated. Default: random. Overrides markers and run() arguments.', 'load_seed', 'load testing: base seed of the per-user random generators (vu.random); reported with each result so a run can be repeated. Default: random.'),
    ('monitor_interval', '--load-monitor-interval', 'DURATION', "seconds between samples of the process's CPU, memory, threads, files and IO; 0 turns the resource monitor off. Default 1s. Overrides markers and run() arguments.", 'load_monitor_interval', "load testing: seconds between samples of the process's CPU, memory, threads, files and IO; 0 turns the resource monitor off. Default 1s."),
    ('tracemalloc', '--load-tracemalloc', 'BOOL', 'trace allocations to name the top growing allocation sites by file:line (slows allocation-heavy code several-fold). Default off. Overrides markers and run() arguments.', 'load_tracemalloc', 'load testing: trace allocations to name the top growing allocation sites by file:line (slows allocation-heavy code several-fold). Default off.'),
    ('min_samples', '--load-min-samples', 'N', 'fewest calls an SLA percentile target (p50 ... p99.9, overall or of an operation) must rest on: on fewer, the target is inconclusive and the test fails, saying so, whatever the figure; a percentile missed on fewer calls than it needs to mean much (p95 200, p99 1,000) fails as a low-sample breach either way. Default 0 (no minimum). Overrides markers and run() arguments.', 'load_min_samples', 'load testing: fewest calls an SLA percentile target (p50 ... p99.9, overall or of an operation) must rest on: on fewer, the target is inconclusive and the test fails, saying so, whatever the figure; a percentile missed on fewer calls than it needs to mean much (p95 200, p99 1,000) fails as a low-sample breach either way. Default 0 (no minimum).'),
    ('confirm', '--load-confirm', 'N', "run a run that breached its SLA again, up to N more times: the test fails only when every one of them breaches (a busy machine's false alarm passes on a second run, a real breach fails each time). At most 10. Default 0. Overrides markers and run() arguments.", 'load_confirm', "load testing: run a run that breached its SLA again, up to N more times: the test fails only when every one of them breaches (a busy machine's false alarm passes on a second run, a real breach fails each time). At most 10. Default 0."),
)

#: The markers of load tests.
MARKERS: Final = ('load', 'soak')

#: The keyword arguments of ``@pytest.mark.load`` / ``soak`` with defaults.
MARKER_SIGNATURE: Final = "users=10, duration='5s', iterations=None, ramp_up=0, ramp_down=0, stages=None, think_time=0, pacing=0, rate=None, rate_stages=None, max_users=1000, warmup=0, stop_timeout='5s', seed=None, sla=None, abort_on_breach=False, abort_grace=0, abort_window='5s', monitor_interval='1s', tracemalloc=False, watch=(), detectors=None, min_samples=0, confirm=0"
# fmt: on
