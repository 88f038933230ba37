"""Shared setup of the pytester tests.

``pytester.runpytest()`` runs pytest in this process and afterwards drops every module that the
inner run imported. numpy's C extension cannot be imported twice in one process, so the modules
that a load test imports (numpy among them) are imported here, once, before any inner run:
pytester then keeps them.
"""

from __future__ import annotations

import pytest

import pytest_loadtest._engine._engine
import pytest_loadtest._model._result
import pytest_loadtest._report
import pytest_loadtest._report._terminal  # noqa: F401

#: The plugins inner runs leave out (see ``pytester`` below).
PLUGINS_OFF = "-p no:hypothesispytest -p no:benchmark -p no:cacheprovider -p no:randomly"
#: pytest-asyncio (a test dependency) warns in every session whose ini does not set this key.
ASYNCIO_SCOPE = "-o asyncio_default_fixture_loop_scope=function"


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """``pytester`` whose inner runs leave out plugins that only cost time.

    The hypothesis plugin, installed beside us, adds about 0.6s to every in-process run;
    pytest-benchmark warns at configure time under ``-n`` (an error with our
    ``filterwarnings = error``, which applies inside in-process runs); the cache provider would
    write ``.pytest_cache`` into each test directory; pytest-randomly would shuffle and reseed.
    pytest-asyncio is told its loop scope (it warns without). None of them is under test here
    (tests that need one set ``PYTEST_ADDOPTS`` again).

    ``COLUMNS`` makes the terminal width of inner runs the same on every machine (the results
    table fits it): wide enough for every column; a test of the fitting sets its own.
    """
    monkeypatch.setenv("PYTEST_ADDOPTS", f"{PLUGINS_OFF} {ASYNCIO_SCOPE}")
    monkeypatch.setenv("COLUMNS", "250")
    return pytester
