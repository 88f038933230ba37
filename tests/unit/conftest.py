"""Shared setup of the unit tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_user_threads_left_behind() -> Iterator[None]:
    """Every engine run stops all the threads it started (users, collector, dispatcher)."""
    yield
    for thread in threading.enumerate():
        if thread.name.startswith("loadtest-"):
            thread.join(2.0)
            assert not thread.is_alive(), f"{thread.name} still running"
