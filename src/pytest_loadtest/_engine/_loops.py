"""The event loops of async users: each loop's state, waking its users, making a loop."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_loadtest._engine._users import VirtualUser

__all__ = ["Loop", "close_clients", "new_event_loop", "on_stop", "turn", "wake", "wake_all"]


def wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@dataclass(eq=False)
class Loop:
    """One event loop of the users: its stop event and its sleeping users."""

    loop: asyncio.AbstractEventLoop
    stopped: asyncio.Event
    sleepers: set[asyncio.Future[None]] = field(default_factory=set)
    #: a count the loop raises every half tick: a user that sees it changed since it last
    #: looked has yielded to the loop in between (callbacks only run when tasks yield)
    turns: int = 0
    turner: asyncio.TimerHandle | None = None


def turn(state: Loop, period: float) -> None:
    state.turns += 1
    state.turner = state.loop.call_later(period, turn, state, period)


def on_stop(state: Loop) -> None:
    """The run stops (on ``state``'s loop): end its main task's wait, wake its users."""
    state.stopped.set()
    wake_all(state)


def wake_all(state: Loop) -> None:
    for future in list(state.sleepers):
        if not future.done():
            future.set_result(None)


async def close_clients(users: list[VirtualUser]) -> None:
    """Close the users' ``vu.http`` clients, on the loop they were used on."""
    for vu in users:
        close = getattr(getattr(vu._http, "client", None), "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):  # a client the app broke: the run is over
                await close()


def new_event_loop(name: str) -> asyncio.AbstractEventLoop:
    """A new event loop of kind ``name`` (``"asyncio"`` or ``"uvloop"``; see ``parse_loop``)."""
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()
