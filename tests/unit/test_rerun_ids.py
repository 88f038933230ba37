"""Which tests ``--lf`` / ``--ff`` / ``--sw`` run again, read from pytest's cache (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_loadtest._settings._options import any_option_set
from pytest_loadtest._settings._selection import rerun_ids

LASTFAILED = {"t.py::test_a": True, "t.py::test_b": True}


class Cache:
    def __init__(self, **values: Any) -> None:
        self.values = {k.replace("__", "/"): v for k, v in values.items()}

    def get(self, key: str, default: Any) -> Any:
        return self.values.get(key, default)


def _options(**given: Any) -> Any:
    return lambda dest, default=None: given.get(dest, default)


@pytest.mark.parametrize(
    ("given", "stepwise", "expected"),
    [
        ({}, None, set()),
        ({"lf": True}, None, set(LASTFAILED)),
        ({"failedfirst": True}, None, set(LASTFAILED)),
        ({"stepwise": True}, "t.py::test_c", {"t.py::test_c"}),
        ({"stepwise_skip": True}, {"last_failed": "t.py::test_c"}, {"t.py::test_c"}),
        ({"stepwise": True}, {"last_failed": None}, set()),
        ({"lf": True, "stepwise": True}, "t.py::test_c", {*LASTFAILED, "t.py::test_c"}),
    ],
)
def test_rerun_ids(given: dict[str, Any], stepwise: object, expected: set[str]) -> None:
    cache = Cache(cache__lastfailed=LASTFAILED, cache__stepwise=stepwise)
    assert rerun_ids(_options(**given), cache) == expected


def test_without_a_cache_nothing_is_rerun() -> None:
    assert rerun_ids(_options(lf=True), None) == set()


@pytest.mark.parametrize(
    ("given", "ini", "expected"),
    [
        ({}, {}, False),
        ({"load_users": 5}, {}, True),
        ({"load_abort_on_breach": False}, {}, True),  # --no-load-abort-on-breach is a choice
        ({"load_run_all": True}, {}, True),
        ({"load_run_all": False}, {}, False),
        ({}, {"load_duration": "1s"}, True),
        ({}, {"load_report": "out"}, True),
    ],
)
def test_any_option_set(given: dict[str, Any], ini: dict[str, str], expected: bool) -> None:
    assert any_option_set(lambda dest: given.get(dest), lambda name: ini.get(name, "")) is expected
