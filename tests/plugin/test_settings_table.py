"""The options and ini keys the plugin registers are the settings table's (and the session
options'), no more, no fewer."""

from __future__ import annotations

import re

import pytest

from pytest_loadtest._settings._options import SESSION_OPTIONS
from pytest_loadtest._settings._table import SETTINGS, marker_signature


def test_each_row_has_its_option_and_ini_key_exactly_when_the_table_says(
    pytester: pytest.Pytester,
) -> None:
    config = pytester.parseconfig()
    for spec in SETTINGS:
        if spec.cli:
            assert config.getoption(spec.dest) is None, spec.name
        else:
            with pytest.raises(ValueError, match="no option named"):
                config.getoption(spec.dest)
        if spec.ini:
            assert config.getini(spec.ini_name) == "", spec.name
        else:
            with pytest.raises(ValueError, match="unknown configuration value"):
                config.getini(spec.ini_name)


def test_help_lists_the_tables_options_and_ini_keys_and_no_others(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest("--help")
    flags = {m.group(1) for line in result.outlines if (m := re.match(r"  (--load-[a-z-]+)", line))}
    keys = {m.group(1) for line in result.outlines if (m := re.match(r"  (load_\w+) \(", line))}
    assert flags == {spec.option for spec in SETTINGS if spec.cli} | {
        option.flag for option in SESSION_OPTIONS
    }
    assert keys == {spec.ini_name for spec in SETTINGS if spec.ini} | {
        option.ini for option in SESSION_OPTIONS if option.ini
    }


def test_the_markers_show_the_tables_signature(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    for name in ("load", "soak"):
        assert f"@pytest.mark.{name}({marker_signature()}): " in result.stdout.str()
