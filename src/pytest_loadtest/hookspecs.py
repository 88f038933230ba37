"""Hooks that pytest-loadtest offers to other plugins and conftest files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_loadtest._model._result import LoadResult


@pytest.hookspec
def pytest_loadtest_result(item: pytest.Item, result: LoadResult) -> None:
    """Called after every ``load_runner.run()``, in the process that ran it.

    Under pytest-xdist that is the worker; the controller gets the same data from the test
    report (``report.loadtest_results``, a list of ``LoadResult.to_dict()``). A run spread over
    worker processes (``processes=N``) calls it once, in the coordinator, with the merged result.

    Example, in ``conftest.py``::

        def pytest_loadtest_result(item, result):
            print(f"{item.nodeid}: p95 {result.p95:.1f}ms over {result.total} calls")
    """
