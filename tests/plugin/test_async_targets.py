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
