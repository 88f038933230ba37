"""``_settings/_cli.py`` is the settings table's command-line and ini face, written out as plain
data so that loading the plugin (in every pytest run) imports no parser, model or table module
(issue 18: start-up cost). This test keeps it equal to the table.

After changing a row of ``_settings/_table.py``, regenerate it::

    python tests/unit/test_cli_snapshot.py
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_loadtest._settings import _cli
from pytest_loadtest._settings._layers import MARKERS
from pytest_loadtest._settings._table import OPTIONS, marker_signature

SNAPSHOT = Path(_cli.__file__)

HEADER = '''"""The settings table's command-line options and ini keys as plain data, and the
markers: what ``plugin.py`` registers in every pytest run, without importing the table, its
parsers or the model (the table stays the one source: ``tests/unit/test_cli_snapshot.py``
checks this file against it and regenerates it).

GENERATED from ``_table.py`` by ``python tests/unit/test_cli_snapshot.py``: do not edit.
"""

# ruff: noqa: E501
from __future__ import annotations

from typing import Final

__all__ = ["MARKERS", "MARKER_SIGNATURE", "SETTING_OPTIONS"]

#: One row per setting with a flag or an ini key, in ``pytest --help`` order:
#: ``(name, flag, metavar, flag help, ini key, ini help)``; flag and ini key ``""`` when absent,
#: metavar ``BOOL`` for a ``--load-x/--no-load-x`` flag.
# fmt: off
SETTING_OPTIONS: Final[tuple[tuple[str, str, str, str, str, str], ...]] = (
'''


def render() -> str:
    """The text ``_cli.py`` must have."""
    lines = [HEADER]
    for spec in OPTIONS:
        if not (spec.cli or spec.ini):
            continue
        help_text = spec.option_kwargs()["help"] if spec.cli else ""
        row = (
            spec.name,
            spec.option if spec.cli else "",
            spec.metavar,
            help_text,
            spec.ini_name if spec.ini else "",
            spec.ini_help if spec.ini else "",
        )
        lines.append(f"    {row!r},\n")
    lines.append(")\n\n")
    lines.append("#: The markers of load tests.\n")
    lines.append(f"MARKERS: Final = {MARKERS!r}\n\n")
    lines.append("#: The keyword arguments of ``@pytest.mark.load`` / ``soak`` with defaults.\n")
    lines.append(f"MARKER_SIGNATURE: Final = {marker_signature()!r}\n")
    lines.append("# fmt: on\n")
    return "".join(lines)


def test_the_snapshot_is_the_table() -> None:
    if SNAPSHOT.read_text(encoding="utf-8") != render():
        pytest.fail(
            "src/pytest_loadtest/_settings/_cli.py differs from the settings table: "
            "regenerate it with `python tests/unit/test_cli_snapshot.py`",
            pytrace=False,
        )


def test_options_registered_from_the_snapshot_are_the_tables() -> None:
    """Same keywords as the table's options; the lazy parser calls the table's, errors alike."""
    from pytest_loadtest._settings._options import setting_option_kwargs

    rows = {row[0]: row for row in _cli.SETTING_OPTIONS}
    for spec in OPTIONS:
        if not spec.cli:
            continue
        theirs = spec.option_kwargs()
        ours = setting_option_kwargs(rows[spec.name])
        their_type, our_type = theirs.pop("type", None), ours.pop("type", None)
        assert ours == theirs
        if their_type is None:
            continue
        assert our_type is not None
        assert our_type.__name__ == their_type.__name__
        for text in ("1", "2s", "nonsense", ""):
            _same_outcome(their_type, our_type, text)


def _same_outcome(theirs: Any, ours: Any, text: str) -> None:
    try:
        expected: object = theirs(text)
    except argparse.ArgumentTypeError as exc:
        message = str(exc)
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
            ours(text)
    else:
        assert ours(text) == expected


if __name__ == "__main__":  # regenerate
    SNAPSHOT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {SNAPSHOT}\n")
