"""Loop health as a user sees it: a blocking call inside ``async def`` is named as a finding
with the loop's lag and the remedy; a well-behaved async target is not, though its loop's lag
is measured and reported too."""

from __future__ import annotations

import json

import pytest


def test_a_blocking_call_inside_async_def_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_blocking="""
        import asyncio
        import time
        import pytest

        async def checkout():
            time.sleep(0.05)  # a sync call: every other user's task waits for it
            await asyncio.sleep(0)

        @pytest.mark.load(users=4, duration="1.5s")
        def test_checkout(load_runner):
            result = load_runner.run(checkout)
            [finding] = [f for f in result.findings if f.kind == "event_loop_blocked"]
            assert finding.title == "Event loop blocked by checkout"
            # 4 users each holding the loop 50 ms per call: the probe, due every 50 ms, waits
            # for up to 4 of them; 20 ms (the rule's threshold) is well below one call
            assert finding.data["blamed_p99_ms"] >= 20
            assert finding.data["operations"]["checkout"]["longest_ms"] >= 45
            assert result.loop["lag_max"] >= 45
        """
    )
    result = pytester.runpytest("-m", "load", "--load-report=rep")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "BOTTLENECKS IDENTIFIED:",
            "1. Event loop blocked by checkout - event loop lag p99 * ms, max * ms "
            "(probe every 50 ms); checkout: * blocking steps, longest * ms, * ms in all *",
            "RECOMMENDATIONS:",
            "*asyncio.to_thread*",
        ]
    )
    data = json.loads((pytester.path / "rep" / "results.json").read_text())
    (run,) = data["results"]
    assert "event_loop_blocked" in {f["kind"] for f in run["findings"]}
    assert any(row["loop_lag"] is not None for row in run["timeline"])
    page = (pytester.path / "rep" / "index.html").read_text()
    assert "Event loop blocked by checkout" in page
    assert "event loop lag (max)" in page


def test_a_well_behaved_async_target_is_not_blamed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_awaiting="""
        import asyncio
        import pytest

        async def browse():
            await asyncio.sleep(0.05)

        @pytest.mark.load(users=20, duration="1.5s")
        def test_browse(load_runner):
            result = load_runner.run(browse)
            assert result.loop["wakes"] > 0  # the probe ran and measured the loop
            assert "event_loop_blocked" not in {f.kind for f in result.findings}
            print("BLAMED", result.loop["blamed_p99"])
        """
    )
    result = pytester.runpytest("-m", "load", "-s", "-vv")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*: event loop lag p99 * ms, max * ms (probe every 50 ms)*"])
    result.stdout.no_fnmatch_line("*Event loop blocked*")


def test_the_test_s_own_loop_and_several_loops_are_probed(pytester: pytest.Pytester) -> None:
    """With ``arun`` the probe runs on the test's loop; with ``loops=2`` each loop has its own
    probe and the figures are the worst loop's: here one user per loop, each blocking it."""
    pytest.importorskip("pytest_asyncio", reason="arun is tested in pytest-asyncio tests")
    pytester.makepyfile(
        test_loops="""
        import asyncio
        import time
        import pytest

        async def checkout():
            time.sleep(0.05)
            await asyncio.sleep(0)

        @pytest.mark.asyncio
        @pytest.mark.load(users=3, duration="1.5s")
        async def test_on_the_test_loop(load_runner):
            result = await load_runner.arun(checkout)
            assert result.loop["loops"] == 1
            assert "event_loop_blocked" in {f.kind for f in result.findings}

        @pytest.mark.load(users=2, loops=2, duration="1.5s")
        def test_two_loops(load_runner):
            result = load_runner.run(checkout)
            assert result.loop["loops"] == 2
            [finding] = [f for f in result.findings if f.kind == "event_loop_blocked"]
            assert "worst of 2 loops" in finding.evidence
        """
    )
    pytester.runpytest("-m", "load").assert_outcomes(passed=2)
