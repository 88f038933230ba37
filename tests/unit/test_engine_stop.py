"""Whatever ends a run on the main thread (pytest-timeout's failure raised from its signal
handler, SystemExit, a driver's bug), its users and collector stop before the exception leaves
``Engine.run``: the test's teardown must not race calls into its fixtures (issue 18)."""

from __future__ import annotations

import threading

import pytest

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._engine._users import VirtualUser
from pytest_loadtest._scenario._target import build_plan
from pytest_loadtest._settings._settings import LoadSettings


class Timeout(BaseException):
    """What pytest-timeout's signal method raises (``pytest.fail``'s is a BaseException too)."""


def _loadtest_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("loadtest-")]


@pytest.mark.parametrize("exc", [Timeout("Timeout >3.0s"), SystemExit(3), RuntimeError("bug")])
def test_an_exception_on_the_main_thread_stops_users_and_collector(exc: BaseException) -> None:
    calls = threading.Semaphore(0)

    def target() -> None:
        calls.release()

    engine = Engine(build_plan(target), LoadSettings(users=4, duration=60.0, seed=1))

    def main() -> None:  # the run is under way when the exception strikes
        for _ in range(100):
            assert calls.acquire(timeout=60)
        raise exc

    engine.driver.main = main  # type: ignore[method-assign]
    with pytest.raises(type(exc)):
        engine.run()
    assert engine.users
    assert not [vu.id for thread, vu in engine.users if thread.is_alive()]
    assert _loadtest_threads() == []
    # no user calls the target any more
    while calls.acquire(blocking=False):
        pass
    assert not calls.acquire(timeout=0.3)


def test_an_exception_while_users_start_stops_those_started() -> None:
    engine = Engine(build_plan(lambda: None), LoadSettings(users=3, duration=60.0, seed=1))
    add_user = engine.add_user
    started: list[VirtualUser] = []

    def fail_on_the_third() -> VirtualUser:
        if len(started) == 2:
            raise Timeout("Timeout while users start")
        started.append(add_user())
        return started[-1]

    engine.add_user = fail_on_the_third  # type: ignore[method-assign]
    with pytest.raises(Timeout):
        engine.run()
    assert len(engine.users) == 2
    assert not [vu.id for thread, vu in engine.users if thread.is_alive()]
