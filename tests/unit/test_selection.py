"""Which ``-m`` expressions ask for load and soak tests."""

from __future__ import annotations

import pytest

from pytest_loadtest._settings._selection import markexpr_selects

LOAD = {"load"}
SOAK = {"soak"}


@pytest.mark.parametrize(
    ("expression", "markers", "kinds", "selects"),
    [
        ("load", {"load"}, LOAD, True),
        ("soak", {"soak"}, SOAK, True),
        ("load or soak", {"soak"}, SOAK, True),
        ("load and not slow", {"load"}, LOAD, True),
        ("(load or soak) and db", {"load", "db"}, LOAD, True),
        ("load(users=3)", {"load"}, LOAD, True),
        ("not load", {"soak"}, SOAK, False),
        ("not soak", {"load"}, LOAD, False),
        ("slow", {"load", "slow"}, LOAD, False),
        ("db or load", {"load", "db"}, LOAD, False),  # db alone selects it: not a load run
        ("", {"load"}, LOAD, False),
        ("load and", {"load"}, LOAD, False),  # unparsable: conservative
        ("(load", {"load"}, LOAD, False),
        ("load)", {"load"}, LOAD, False),
    ],
)
def test_markexpr_selects(
    expression: str, markers: set[str], kinds: set[str], selects: bool
) -> None:
    assert markexpr_selects(expression, markers, kinds) is selects


def test_not_not_and_precedence() -> None:
    # 'and' binds tighter than 'or': "a or b and c" is "a or (b and c)"
    assert markexpr_selects("other or load and db", {"load", "db"}, LOAD)
    assert not markexpr_selects("other or load and db", {"load"}, LOAD)
    assert markexpr_selects("not not load", {"load"}, LOAD)
