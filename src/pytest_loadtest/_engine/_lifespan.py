"""An ASGI app's lifespan around the users that call it in process (``app=``).

httpx's ``ASGITransport`` sends requests only; an app that opens its pools or loads its models in
a lifespan handler would fail every request. :func:`lifespan` sends ``lifespan.startup`` before
the users' first request and ``lifespan.shutdown`` after their last, on their loop. An app that
does not speak the lifespan protocol (it raises, or answers ``lifespan.startup.failed`` with a
message saying so) is called without it, as servers do; a startup that fails is an error saying
what the app answered.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Final

__all__ = ["LifespanError", "lifespan"]

#: Seconds an app gets to start up, and to shut down.
LIFESPAN_TIMEOUT: Final = 60.0


class LifespanError(RuntimeError):
    """The app's lifespan startup failed."""


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Run ``app``'s lifespan startup, the block, then its shutdown."""
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}

    async def run() -> None:
        try:
            await app(scope, received.get, sent.put)
        except Exception:  # no lifespan support: the app raised on its scope type
            await sent.put({"type": "lifespan.unsupported"})

    task = asyncio.ensure_future(run())
    await received.put({"type": "lifespan.startup"})
    answer = await asyncio.wait_for(sent.get(), LIFESPAN_TIMEOUT)
    if answer["type"] == "lifespan.startup.failed":
        task.cancel()
        raise LifespanError(f"the app's lifespan startup failed: {answer.get('message', '')}")
    supported = answer["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        if supported:
            await received.put({"type": "lifespan.shutdown"})
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(sent.get(), LIFESPAN_TIMEOUT)
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 1.0)
