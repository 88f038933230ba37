"""Load profiles as users drive them: stages, the open model, dropped iterations, coordinated-
omission correction, recovery time, aborts, the breaking-point search and scenario files."""

from __future__ import annotations

import re

import pytest

# A target whose latency rises with concurrency: PER_CALL seconds per call in flight, its own
# included.
CROWDED = """
import threading
import time

_lock = threading.Lock()
_in_flight = [0]
PER_CALL = 0.003


def crowded():
    with _lock:
        _in_flight[0] += 1
        n = _in_flight[0]
    try:
        time.sleep(PER_CALL * n)
    finally:
        with _lock:
            _in_flight[0] -= 1
"""


def _output(result: pytest.RunResult) -> str:
    return result.stdout.str() + result.stderr.str()


def _assert_no_traceback(result: pytest.RunResult) -> None:
    text = _output(result)
    assert "Traceback" not in text
    assert "INTERNALERROR" not in text
    assert "pytest_loadtest/" not in text  # no frame of ours


def _printed(result: pytest.RunResult, key: str) -> str:
    """The value the inner test printed as ``<key>=<value>`` (runs use -s)."""
    for line in result.outlines:
        match = re.search(rf"\b{re.escape(key)}=(\S+)", line)
        if match:
            return match.group(1)
    raise AssertionError(f"the inner test printed no {key}=")


# -- stages -----------------------------------------------------------------------------------


def test_stages_from_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_stages="""
        import pytest

        @pytest.mark.load(stages=[("100ms", 3), ("150ms", 3), ("50ms", 0)])
        def test_ramp(load_runner):
            result = load_runner.run(lambda: None)
            print(f"users={result.users} duration={result.settings['duration']}")
            print(f"spike_end={result.spike_end} peak={result.peak_active}")
            print(f"source={result.settings['sources']['stages'].split(' of ')[0]}")
            assert result.total > 0
        """
    )
    result = pytester.runpytest("-m", "load", "-s")
    result.assert_outcomes(passed=1)
    assert _printed(result, "users") == "3"
    assert _printed(result, "duration") == "0.3"
    assert float(_printed(result, "spike_end")) == pytest.approx(0.3)
    assert _printed(result, "peak") == "3"
    assert _printed(result, "source") == "@pytest.mark.load"
    result.stdout.fnmatch_lines(["test_stages.py::test_ramp [[]<lambda>[]]  * 3  *"])


def test_load_stages_on_the_command_line_beat_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_cli="""
        import pytest

        @pytest.mark.load(users=5, duration="5s", ramp_up="1s")
        def test_cli(load_runner):
            result = load_runner.run(lambda: None)
            sources = result.settings["sources"]
            print(f"users={result.users} stages={result.settings['stages']}")
            print(f"duration={result.settings['duration']} ramp_up={result.settings['ramp_up']}")
            print(f"from={sources['stages']!r}".replace(" ", "_"))
        """
    )
    result = pytester.runpytest("-m", "load", "-s", "--load-stages", "100ms:2,100ms:0")
    result.assert_outcomes(passed=1)
    assert _printed(result, "users") == "2"
    assert _printed(result, "stages") == "0.1s:2,0.1s:0"
    # the marker's users, ramp-up and duration belong to its own profile: they give way
    assert _printed(result, "duration") == "0.2"
    assert _printed(result, "ramp_up") == "0.0"
    assert _printed(result, "from") == "'command_line_option_--load-stages'"


def test_pacing_and_ramp_down_from_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_pace="""
        import pytest

        @pytest.mark.load(users=2, duration="300ms")
        def test_pace(load_runner):
            result = load_runner.run(lambda: None)
            print(f"total={result.total} pacing={result.settings['pacing']}")
            print(f"ramp_down={result.settings['ramp_down']}")
        """
    )
    result = pytester.runpytest(
        "-m", "load", "-s", "--load-pacing", "100ms", "--load-ramp-down=100ms"
    )
    result.assert_outcomes(passed=1)
    assert _printed(result, "pacing") == "0.1"
    assert _printed(result, "ramp_down") == "0.1"
    # each user starts an iteration every 100 ms for 0.3 s: at most 3 each
    assert 2 <= int(_printed(result, "total")) <= 6


# -- the open model ---------------------------------------------------------------------------


OPEN_NOTE = (
    "*test_open.py::test_open [[]<lambda>[]]: open model: * iterations/s started, * dropped "
    "(*%*5 *busy*; latency from the intended start (coordinated omission corrected) p99 *, "
    "service time p99 *, start lag p50/p99 */*"
)


def test_open_model_from_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_open="""
        import pytest

        @pytest.mark.load(rate=100, duration="300ms", max_users=5)
        def test_open(load_runner):
            result = load_runner.run(lambda: None)
            print(f"model={result.model} scheduled={result.scheduled} users={result.users}")
            assert result.service_time is not None and result.start_lag is not None
        """
    )
    result = pytester.runpytest("-m", "load", "-s")
    result.assert_outcomes(passed=1)
    assert _printed(result, "model") == "open"
    assert _printed(result, "scheduled") == "30"
    assert _printed(result, "users") == "5"
    result.stdout.fnmatch_lines(["test_open.py::test_open [[]<lambda>[]]  *100/s  *", OPEN_NOTE])


def test_load_rate_on_the_command_line_turns_a_users_test_open(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_cli="""
        import pytest

        @pytest.mark.load(users=3, think_time="10ms", duration="200ms")
        def test_cli(load_runner):
            result = load_runner.run(lambda: None)
            print(f"model={result.model} rate={result.settings['rate']}")
            print(f"max_users={result.users} think={result.settings['think_time']}")
        """
    )
    result = pytester.runpytest("-m", "load", "-s", "--load-rate", "50", "--load-max-users=4")
    result.assert_outcomes(passed=1)
    assert _printed(result, "model") == "open"
    assert _printed(result, "rate") == "50.0"
    assert _printed(result, "max_users") == "4"
    assert _printed(result, "think") == "0s"  # the marker's think time is the closed model's
    result.stdout.fnmatch_lines(["test_cli.py::test_cli [[]<lambda>[]]  *50.0/s  *"])


def test_open_model_from_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        load_rate_stages = 100ms:50,100ms:50
        load_max_users = 3
        load_abort_window = 2s
        """
    )
    pytester.makepyfile(
        test_ini="""
        import pytest

        @pytest.mark.load(seed=1)
        def test_ini(load_runner):
            result = load_runner.run(lambda: None)
            print(f"model={result.model} duration={result.settings['duration']}")
            print(f"max_users={result.users} window={result.settings['abort_window']}")
            print(f"source={result.settings['sources']['rate_stages']}")
        """
    )
    result = pytester.runpytest("-m", "load", "-s")
    result.assert_outcomes(passed=1)
    assert _printed(result, "model") == "open"
    assert _printed(result, "duration") == "0.2"
    assert _printed(result, "max_users") == "3"
    assert _printed(result, "window") == "2.0"
    assert _printed(result, "source") == "tox.ini"
    result.stdout.fnmatch_lines(["test_ini.py::test_ini [[]<lambda>[]]  *stages/s  *"])


def test_dropped_iterations_are_in_the_summary(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_drop="""
        import time
        import pytest

        def slow():
            time.sleep(0.02)

        @pytest.mark.load(rate=200, duration="300ms", max_users=1)
        def test_drop(load_runner):
            result = load_runner.run(slow)
            print(f"dropped={result.dropped} scheduled={result.scheduled}")
            print(f"rows={sum(row.dropped for row in result.timeline)}")
        """
    )
    result = pytester.runpytest("-m", "load", "-s")
    result.assert_outcomes(passed=1)  # dropping is measured, not a failure by itself
    dropped = int(_printed(result, "dropped"))
    assert _printed(result, "scheduled") == "60"
    # one user of 20 ms serves at most 50 of the 200 iterations due each second
    assert dropped >= 30
    assert _printed(result, "rows") == str(dropped)
    result.stdout.fnmatch_lines(
        [f"*test_drop.py::test_drop [[]slow[]]: open model: * {dropped} dropped (*%*1 *busy*"]
    )


def test_a_stall_raises_the_corrected_latency_far_above_the_service_time(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_stall="""
        import itertools
        import sys
        import time
        import pytest

        calls = itertools.count()

        def hold_the_gil(seconds):
            # a busy loop keeps the GIL while no other thread may ask for it for a second:
            # nothing else runs (the dispatcher included), as in a long C call
            interval = sys.getswitchinterval()
            sys.setswitchinterval(1.0)
            try:
                end = time.perf_counter() + seconds
                while time.perf_counter() < end:
                    pass
            finally:
                sys.setswitchinterval(interval)

        def sometimes_stalls():
            if next(calls) == 40:
                hold_the_gil(0.05)

        @pytest.mark.load(rate=400, duration="500ms", max_users=50)
        def test_stall(load_runner):
            result = load_runner.run(sometimes_stalls)
            stall = result.service_time.max
            print(f"stall={stall:.1f} corrected_p99={result.p99:.1f}")
            print(f"service_p99={result.service_time.p99:.3f} lag_p99={result.start_lag.p99:.1f}")
            assert result.total > 150 and stall >= 50.0
            # the calls due during the stall are charged with it; the service time is not
            assert result.p99 > 0.5 * stall
            assert result.start_lag.p99 > 0.4 * stall
            assert result.p99 > 3 * result.service_time.p99
        """
    )
    result = pytester.runpytest("-m", "load", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*open model: *coordinated omission corrected) p99 *"])


# -- spike recovery -----------------------------------------------------------------------------


def test_recovery_time_after_a_spike(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        target=CROWDED,
        test_spike="""
        import pytest
        import target
        from target import crowded

        # 8 users from 0.1 s to 0.7 s, down to 1 by 0.8 s, then 1 to the end
        @pytest.mark.load(stages="100ms:8,600ms:8,100ms:1,700ms:1", seed=1)
        def test_spike(load_runner):
            target.PER_CALL = 0.005
            result = load_runner.run(crowded)
            print(f"spike_end={result.spike_end}")
            print(f"window_p50={[round(row.p50, 1) for row in result.timeline]}".replace(" ", ""))
            # a median of about 40 ms in the spike's window, 5 ms in the next one (the median
            # rather than the p95: a busy machine's hiccups must not move it)
            print(f"recovery={result.recovery_time({'p50': 18}, stable='500ms')}")
            print(f"never={result.recovery_time({'p95': '0.5ms'}, stable='500ms')}")
            with pytest.raises(ValueError, match="this run has no SLA"):
                result.recovery_time()
        """,
    )
    result = pytester.runpytest("-m", "load", "-s")
    result.assert_outcomes(passed=1)
    assert float(_printed(result, "spike_end")) == pytest.approx(0.8)
    assert float(_printed(result, "recovery")) == pytest.approx(0.2)
    assert _printed(result, "never") == "None"


# -- abort --------------------------------------------------------------------------------------


def test_abort_on_breach_stops_the_run_and_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_abort="""
        import time
        import pytest

        def broken():
            time.sleep(0.001)
            raise ConnectionError("refused")

        @pytest.mark.load(
            users=1,
            duration="20s",
            abort_on_breach=True,
            abort_window="1s",
            sla={"error_rate": "1%"},
        )
        def test_abort(load_runner):
            load_runner.run(broken)
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    _assert_no_traceback(result)
    result.stdout.fnmatch_lines(
        [
            "*load test 'broken' breached its SLA*",
            "*- aborted at 1.*s of 20s (abort_on_breach): the SLA was breached over a rolling 1s "
            "window from 1.0s on, for at least the grace of 0s: error_rate of all operations "
            "was 100.00%, above the limit 1.00%",
        ]
    )
    duration = re.search(r"breached its SLA \(.*, ([\d.]+)s, p95", _output(result))
    assert duration is not None
    assert float(duration.group(1)) < 3.0  # the run stopped long before its 20 s


def test_abort_on_breach_from_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_flags="""
        import pytest

        @pytest.mark.load(users=1, duration="100ms", sla={"p99": "1s"})
        def test_flags(load_runner):
            settings = load_runner.run(lambda: None).settings
            print(f"abort={settings['abort_on_breach']} grace={settings['abort_grace']}")
            print(f"window={settings['abort_window']}")
        """
    )
    result = pytester.runpytest(
        "-m",
        "load",
        "-s",
        "--load-abort-on-breach",
        "--load-abort-grace",
        "2s",
        "--load-abort-window=3s",
    )
    result.assert_outcomes(passed=1)
    assert (_printed(result, "abort"), _printed(result, "grace")) == ("True", "2.0")
    assert _printed(result, "window") == "3.0"
    off = pytester.runpytest("-m", "load", "-s", "--no-load-abort-on-breach")
    off.assert_outcomes(passed=1)
    assert _printed(off, "abort") == "False"


def test_abort_on_breach_flag_before_a_path(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_flag="def test_a():\n    pass\n")
    result = pytester.runpytest("--load-abort-on-breach", "test_flag.py")
    result.assert_outcomes(passed=1)


# -- the breaking point -------------------------------------------------------------------------


def test_find_capacity_steps_up_until_the_sla_breaks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        target=CROWDED,
        test_cap="""
        import pytest
        import target
        from target import crowded

        @pytest.mark.load(sla={"p50": "55ms"}, seed=1)
        def test_cap(load_runner):
            # 10 ms per call in flight: 1 user 10 ms, 4 users 40 ms, 7 users 70 ms; the median
            # does not move with a busy machine's hiccups
            target.PER_CALL = 0.01
            found = load_runner.find_capacity(
                crowded, start=1, step=3, limit=30, step_duration="300ms"
            )
            print(f"capacity={found.capacity} breaking={found.breaking_load}")
            print(f"steps={[s.load for s in found.steps]}".replace(" ", ""))
            assert found.throughput > 0
        """,
    )
    result = pytester.runpytest("-m", "load", "-s")
    result.assert_outcomes(passed=1)  # a step that broke is a finding, not a failure
    assert _printed(result, "capacity") == "4.0"
    assert _printed(result, "breaking") == "7.0"
    assert _printed(result, "steps") == "[1.0,4.0,7.0]"
    result.stdout.fnmatch_lines(
        [
            "test_cap.py::test_cap [[]crowded @ 1 users[]]  * 1  *  held",
            "test_cap.py::test_cap [[]crowded @ 4 users[]]  * 4  *  held",
            "test_cap.py::test_cap [[]crowded @ 7 users[]]  * 7  *  broke",
            "*test_cap.py::test_cap [[]crowded @ 7 users[]]: capacity step broke (not a "
            "failure): p50 of all operations was *",
            "*test_cap.py::test_cap [[]crowded[]]: capacity search: held 4 users at * calls/s; "
            "broke at 7 users: p50 of all operations was *",
        ]
    )


def test_find_capacity_without_an_sla_fails_without_a_traceback(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_nosla="""
        import pytest

        @pytest.mark.load(duration="100ms")
        def test_nosla(load_runner):
            load_runner.find_capacity(lambda: None, step_duration="100ms")
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    _assert_no_traceback(result)
    result.stdout.fnmatch_lines(
        ["*find_capacity() needs an SLA to know when the load broke: give sla={...}*"]
    )


# -- scenario files -----------------------------------------------------------------------------


SCENARIO_TEST = """
import pytest
from pytest_loadtest import Scenario

def search():
    pass

def login(vu):
    vu.state["in"] = True

@pytest.mark.load(users=5, duration="5s", sla={{"p99": "1s"}})
def test_file(load_runner):
    scenario = Scenario.from_file("{name}", actions={{"search": search, "login": login}})
    result = load_runner.run(scenario, duration="200ms")
    sources = result.settings["sources"]
    print(f"name={{result.name}} users={{result.users}} duration={{result.settings['duration']}}")
    print(f"users_from={{sources['users'].split()[0]}}")
    print(f"sla={{result.sla.to_dict()}}".replace(" ", ""))
"""


def test_a_scenario_file_ranks_between_run_arguments_and_the_marker(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(
        ".toml",
        normal_day="""
        name = "normal_day"

        [load]
        users = 2
        duration = "1m"

        [actions]
        search = 3

        [hooks]
        on_start = ["login"]

        [sla]
        p95 = "500ms"
        """,
    )
    pytester.makepyfile(test_file=SCENARIO_TEST.format(name="normal_day.toml"))
    result = pytester.runpytest("-m", "load", "-s")
    result.assert_outcomes(passed=1)
    assert _printed(result, "name") == "normal_day"
    assert _printed(result, "users") == "2"  # the file beats the marker
    assert _printed(result, "duration") == "0.2"  # run() beats the file
    assert _printed(result, "users_from") == "scenario"
    assert _printed(result, "sla") == "{'p95':500.0}"  # the file's SLA, not the marker's


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (None, "scenario file *missing.toml: no such file"),
        ("[actions\nsearch = 1\n", "scenario file *missing.toml: not valid TOML: *"),
        ("users = 3\n[actions]\nsearch = 1\n", "*missing.toml: unknown key 'users' (allowed: *"),
        ("[load]\nuserz = 3\n[actions]\nsearch = 1\n", "*missing.toml*unknown setting 'userz'*"),
        ('[load]\nusers = "many"\n[actions]\nsearch = 1\n', "*missing.toml*users='many'*"),
        ("[actions]\nbuy = 1\n", "*missing.toml: [[]actions[]] buy = 1 names action 'buy'*"),
        ("[actions]\n", "*missing.toml: [[]actions[]] is missing or empty*"),
        ("[actions]\nsearch = -1\n", "*missing.toml: task 'search': weight must be a number*"),
        (
            '[actions]\nsearch = 1\n[hooks]\non_start = "login"\n',
            "*missing.toml: [[]hooks[]] on_start = 'login' must be a list of action names",
        ),
    ],
)
def test_scenario_file_errors_fail_the_test_without_a_traceback(
    pytester: pytest.Pytester, toml: str | None, message: str
) -> None:
    if toml is not None:
        (pytester.path / "missing.toml").write_text(toml, encoding="utf-8")
    pytester.makepyfile(test_file=SCENARIO_TEST.format(name="missing.toml"))
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    _assert_no_traceback(result)
    result.stdout.fnmatch_lines([message])
    assert "Scenario.from_file" not in result.stdout.str()  # no source lines either


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'Scenario("shop").add_task(42, name="buy")',
            "load target 'buy': 42 is not callable (give a function, a mapping*",
        ),
        ('raise SettingError("stages: bad stages from somewhere")', "stages: bad stages from*"),
        (
            'Scenario.from_file("nowhere.toml", actions={})',
            "scenario file nowhere.toml: no such file",
        ),
    ],
)
def test_our_errors_raised_in_a_test_body_fail_it_without_a_traceback(
    pytester: pytest.Pytester, body: str, message: str
) -> None:
    pytester.makepyfile(
        test_body=f"""
        import pytest
        from pytest_loadtest import Scenario, SettingError

        @pytest.mark.load(duration="100ms")
        def test_body(load_runner):
            {body}
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    _assert_no_traceback(result)
    result.stdout.fnmatch_lines([message])
    assert body not in result.stdout.str()  # no source lines of the test either


def test_profile_settings_from_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        load_stages = 100ms:2,100ms:2
        load_pacing = 50ms
        load_abort_on_breach = true
        load_abort_grace = 1s
        """
    )
    pytester.makepyfile(
        test_ini="""
        import pytest

        @pytest.mark.load(sla={"p99": "1s"})
        def test_ini(load_runner):
            result = load_runner.run(lambda: None)
            settings = result.settings
            print(f"stages={settings['stages']} pacing={settings['pacing']}")
            print(f"abort={settings['abort_on_breach']} grace={settings['abort_grace']}")
            print(f"users={result.users} total={result.total}")
        """
    )
    result = pytester.runpytest("-m", "load", "-s")
    result.assert_outcomes(passed=1)
    assert _printed(result, "stages") == "0.1s:2,0.1s:2"
    assert _printed(result, "pacing") == "0.05"
    assert (_printed(result, "abort"), _printed(result, "grace")) == ("True", "1.0")
    assert _printed(result, "users") == "2"
    # 2 users (from 0 and 0.05 s) paced every 50 ms over 0.2 s: at most 4 iterations each
    assert 2 <= int(_printed(result, "total")) <= 8


def test_conflicting_profiles_stop_collection_without_a_traceback(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_both="""
        import pytest

        @pytest.mark.load(users=2, rate=10, duration="100ms")
        def test_both(load_runner):
            load_runner.run(lambda: None)
        """
    )
    result = pytester.runpytest("-m", "load")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    _assert_no_traceback(result)
    result.stderr.fnmatch_lines(
        [
            "ERROR: @pytest.mark.load of test_both.py::test_both: users and rate are different "
            "load profiles; give one*"
        ]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--load-rate", "0"), "*argument --load-rate: invalid value '0'*"),
        (("--load-stages", "10s"), "*argument --load-stages: invalid value '10s': stage 1:*"),
        (("--load-max-users", "none"), "*argument --load-max-users: invalid value 'none'*"),
        (("--load-abort-window", "0s"), "*argument --load-abort-window: invalid value '0s'*"),
    ],
)
def test_bad_command_line_profiles(
    pytester: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_bad_ini_profile(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nload_rate_stages = 1s:fast\n")
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: tox.ini option load_rate_stages: invalid rate_stages='1s:fast': stage 1: *"]
    )
