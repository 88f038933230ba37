"""A run awaited from a running event loop (``load_runner.arun``): the engine in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["in_thread"]

T = TypeVar("T")


def in_thread(
    loop: asyncio.AbstractEventLoop, func: Callable[[], T], *, name: str
) -> asyncio.Future[T]:
    """Run ``func`` in a new daemon thread; the future (of ``loop``) gets what it returns or
    raises. Not the loop's default executor: a run must not wait for a free worker, nor hold up
    the loop's shutdown when the test is interrupted."""
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def body() -> None:
        try:
            value = func()
        except BaseException as exc:
            outcome: tuple[T | None, BaseException | None] = (None, exc)
        else:
            outcome = (value, None)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody awaits any more
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=body, name=name, daemon=True).start()
    return future
