"""``await load_runner.arun(...)`` in an async test: users are tasks of the test's own loop, so
what its async fixtures made on that loop works from every user (issue 13, point 2)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytest_asyncio", reason="arun is tested in pytest-asyncio tests")


def test_objects_of_async_fixtures_work_from_every_user(pytester: pytest.Pytester) -> None:
    """An ``asyncio.Lock`` and an ``AsyncEngine`` with its default pool, both made by async
    fixtures on the test's loop: with a loop of their own, users failed on them ('bound to a
    different event loop', 74% errors in the issue)."""
    pytest.importorskip("aiosqlite")
    pytester.makepyfile(
        test_fixtures="""
        import asyncio
        import pytest
        import pytest_asyncio
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        @pytest_asyncio.fixture
        async def lock():
            lock = asyncio.Lock()

            async def hold():
                async with lock:
                    await asyncio.sleep(0)

            await asyncio.gather(hold(), hold())  # contended: bound to the test's loop now
            return lock

        @pytest_asyncio.fixture
        async def engine(tmp_path):
            url = f"sqlite+aiosqlite:///{tmp_path}/shop.db"
            engine = create_async_engine(url, pool_size=2, max_overflow=0)
            async with engine.begin() as conn:
                await conn.execute(text("create table orders (id integer primary key)"))

            async def use():
                async with engine.connect() as conn:
                    await conn.execute(text("select 1"))
                    await asyncio.sleep(0.01)

            await asyncio.gather(*(use() for _ in range(4)))  # the pool's queue binds here
            yield engine
            await engine.dispose()

        @pytest.mark.asyncio
        async def test_shop(load_runner, lock, engine):
            async def order():
                async with lock:
                    await asyncio.sleep(0)
                async with engine.begin() as conn:
                    await conn.execute(text("insert into orders default values"))

            result = await load_runner.arun(order, users=20, iterations=300)
            assert result.errors == 0, result.errors_by_type
            assert result.total == 300
            async with engine.connect() as conn:
                rows = (await conn.execute(text("select count(*) from orders"))).scalar()
            assert rows == 300
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_a_sync_target_runs_on_threads_and_leaves_the_loop_free(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_sync="""
        import asyncio
        import threading
        import time
        import pytest

        @pytest.mark.asyncio
        async def test_sync(load_runner):
            ticks = []
            loop_thread = threading.get_ident()
            threads = set()

            async def ticker():
                while True:
                    ticks.append(time.monotonic())
                    await asyncio.sleep(0.01)

            def blocking():
                threads.add(threading.get_ident())
                time.sleep(0.01)

            beat = asyncio.ensure_future(ticker())
            began = time.monotonic()
            result = await load_runner.arun(blocking, users=3, duration="1s")
            elapsed = time.monotonic() - began
            beat.cancel()
            assert result.total > 0
            assert loop_thread not in threads and len(threads) == 3
            # the loop ticked through the run (a blocked loop ticks once or twice)
            assert len(ticks) >= 0.1 * elapsed / 0.01, (len(ticks), elapsed)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_the_sla_verdict_is_the_same_as_with_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_sla="""
        import asyncio
        import pytest

        @pytest.mark.asyncio
        async def test_slow(load_runner):
            async def slow():
                await asyncio.sleep(0.02)

            await load_runner.arun(slow, users=2, iterations=10, sla={"p95": "1ms"})
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*SLA*p95*"])


def test_cancelling_the_awaiting_task_stops_the_run_and_keeps_its_figures(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_cancel="""
        import asyncio
        import time
        import pytest

        @pytest.mark.asyncio
        async def test_cancel(load_runner):
            async def work():
                await asyncio.sleep(0.005)

            began = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(load_runner.arun(work, users=5, duration="60s"), 0.5)
            assert time.monotonic() - began < 30  # stopped: not the 60 s asked for
            (result,) = load_runner.results
            assert result.total > 0
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)  # a run stopped early fails its test, as after sys.exit()
    result.stdout.fnmatch_lines(
        ["*the run was stopped early by a cancellation of the awaiting task*"]
    )
    assert "AssertionError" not in result.stdout.str()


def test_arun_outside_a_running_loop_and_loops_above_1_are_clear_errors(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        def test_no_loop(load_runner):
            load_runner.arun(lambda: None)

        @pytest.mark.asyncio
        async def test_loops(load_runner):
            async def work():
                pass

            await load_runner.arun(work, loops=2)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*load_runner.arun() needs a running event loop: await it in an async test*",
            "*load_runner.arun(): loops=2 (from load_runner.arun() argument) cannot apply*",
        ],
        consecutive=False,
    )
    assert "Traceback" not in result.stdout.str()
