"""Async targets as a user drives them: users share one event loop, so loop-bound objects made
in the test body work from every user; mixing sync and async tasks is a clear error."""

from __future__ import annotations

import pytest


def test_a_lock_made_in_the_test_body_works_from_every_user(pytester: pytest.Pytester) -> None:
    """The issue's regression: with an event loop per user thread, the second user got
    'bound to a different event loop' on every call."""
    pytester.makepyfile(
        test_lock="""
        import asyncio
        import pytest

        @pytest.mark.load(users=2, iterations=200)
        def test_lock(load_runner):
            lock = asyncio.Lock()

            async def locked():
                async with lock:
                    await asyncio.sleep(0)

            result = load_runner.run(locked)
            assert result.errors == 0, result.errors_by_type
            assert result.total == 200

        @pytest.mark.load(rate=200, duration="0.5s", max_users=20)
        def test_lock_open_model(load_runner):
            lock = asyncio.Lock()

            async def locked():
                async with lock:
                    await asyncio.sleep(0.001)

            result = load_runner.run(locked)
            assert result.errors == 0, result.errors_by_type
            assert result.total > 0
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(passed=2)


def test_mixing_sync_and_async_tasks_names_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mixed="""
        import pytest
        from pytest_loadtest import Scenario

        shop = Scenario("shop")

        @shop.task
        async def browse():
            pass

        @shop.task
        def pay():
            pass

        @pytest.mark.load(users=1, iterations=1)
        def test_mixed(load_runner):
            load_runner.run(shop)
        """
    )
    result = pytester.runpytest("-m", "load")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*'shop' mixes async tasks [[]'browse'[]] with sync tasks [[]'pay'[]]*"]
    )
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_loops_spread_the_users_over_loop_threads_and_loop_picks_uvloop(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("uvloop")
    pytester.makepyfile(
        test_loops="""
        import asyncio
        import threading
        import pytest

        def test_two_loops(load_runner):
            seen = {}

            async def work(vu):
                seen.setdefault(vu.id, set()).add(threading.get_ident())
                await asyncio.sleep(0.001)

            result = load_runner.run(work, users=6, iterations=300, loops=2)
            assert result.errors == 0, result.errors_by_type
            assert all(len(threads) == 1 for threads in seen.values())  # a user keeps its loop
            by_thread = {}
            for user, (thread,) in seen.items():
                by_thread.setdefault(thread, []).append(user)
            assert sorted(sorted(users) for users in by_thread.values()) == [[0, 2, 4], [1, 3, 5]]

        def test_uvloop(load_runner):
            kinds = set()

            async def work():
                kinds.add(type(asyncio.get_running_loop()).__module__.split(".")[0])

            load_runner.run(work, users=3, iterations=30, loop="uvloop")
            assert kinds == {"uvloop"}
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("loops=0", "*loops*0 must be at least 1*"),
        ("loop='nope'", "*loop*'nope' is not an event loop: choose from asyncio, uvloop*"),
        ("loops=2, rate=10", "*loops=2 (from *) spreads a closed model's users over event loops*"),
    ],
)
def test_bad_loops_and_loop_are_clear_errors(
    pytester: pytest.Pytester, marker: str, message: str
) -> None:
    pytester.makepyfile(
        test_bad=f"""
        import pytest

        @pytest.mark.load({marker}, duration="0.2s")
        def test_bad(load_runner):
            async def work():
                pass

            load_runner.run(work)
        """
    )
    result = pytester.runpytest("-m", "load")
    assert result.ret != 0
    output = result.stdout.str() + "\n" + result.stderr.str()
    pytest.LineMatcher(output.splitlines()).fnmatch_lines([message])
    assert "Traceback" not in output


def test_loops_on_the_command_line_is_checked_at_start_up(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_any="def test_any(): pass")
    result = pytester.runpytest("--load-loops=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--load-loops*invalid value '0'*at least 1*"])
