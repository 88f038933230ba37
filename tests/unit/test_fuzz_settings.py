"""Fuzz tests (issue 12): no input to a setting's parser, the SLA parser, the resolver or a
scenario file raises anything but the documented error types. Bounded and derandomised: the file
runs in a few seconds and the same examples run in CI every time."""

from __future__ import annotations

import contextlib
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_loadtest._model._sla import parse_sla
from pytest_loadtest._scenario._file import ScenarioFileError, read_scenario_file
from pytest_loadtest._settings._layers import SettingError, resolve_settings
from pytest_loadtest._settings._table import SETTINGS, SettingSpec

FUZZ = settings(
    max_examples=80,
    deadline=None,  # the machine is shared and noisy
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([10**400, -(10**400), 2**63, 0, 1, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
)
NUMERIC_TEXT = st.one_of(
    st.sampled_from(["inf", "-inf", "nan", "1e400", "9" * 400, "1e-300", "0", "-1", "1.5", ""]),
    st.builds(lambda n, unit: f"{n}{unit}", NUMBERS, st.sampled_from(["", "s", "ms", "m", "%"])),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), NUMBERS, NUMERIC_TEXT, st.text(max_size=30), st.binary(max_size=10)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=10), NUMBERS), inner, max_size=4),
    ),
    max_leaves=8,
)
#: Fewer examples each for the per-setting test: it runs once per row of the table.
FUZZ_EACH = settings(FUZZ, max_examples=20)
#: What a setting's parser may raise: the message then becomes a SettingError naming the source.
PARSER_ERRORS = (ValueError, TypeError)


@pytest.mark.parametrize("spec", SETTINGS, ids=lambda spec: spec.name)
@FUZZ_EACH
@given(value=VALUES)
def test_every_parser_raises_only_value_or_type_errors(spec: SettingSpec, value: object) -> None:
    with contextlib.suppress(*PARSER_ERRORS):
        spec.parse(value)


SLA_KEYS = st.sampled_from(
    ["p50", "p95", "p99", "max", "mean", "error_rate", "throughput_min", "memory_growth", "px"]
)
SLA_TARGETS = st.dictionaries(SLA_KEYS, st.one_of(NUMBERS, NUMERIC_TEXT, VALUES), max_size=4)


@FUZZ
@given(
    spec=st.one_of(
        VALUES,
        SLA_TARGETS,
        st.builds(
            lambda top, ops: {**top, "operations": ops},
            SLA_TARGETS,
            st.one_of(VALUES, st.dictionaries(st.text(max_size=8), SLA_TARGETS, max_size=3)),
        ),
    )
)
def test_parse_sla_raises_only_value_errors(spec: object) -> None:
    try:
        sla = parse_sla(spec)
    except ValueError:
        return
    for check in sla.checks:  # what was accepted is a finite bound
        assert math.isfinite(check.threshold)


LAYER = st.dictionaries(
    st.sampled_from([spec.name for spec in SETTINGS if spec.name != "watch"] + ["userz"]),
    st.one_of(NUMBERS, NUMERIC_TEXT, VALUES),
    max_size=4,
)


@FUZZ
@given(layers=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), LAYER), max_size=4))
def test_resolve_settings_raises_only_setting_errors(layers: list[tuple[str, Any]]) -> None:
    try:
        resolved = resolve_settings(layers, seed_source=lambda: 1)
    except SettingError:
        return
    assert 0 < resolved.duration <= 30 * 86400
    assert 1 <= resolved.users <= 100_000


TOML_PIECES = st.sampled_from(
    [
        "[load]\n", "[actions]\n", "[sla]\n", "[hooks]\n", "a = 1\n", "a = inf\n", "a = nan\n",
        "users = 1e300\n", "seed = inf\n", "seed = 1.5\n", 'duration = "1e400"\n',
        "rate = -1\n", 'p95 = "9999999999999999999999"\n', "on_start = [\"a\"]\n",
        'name = ""\n', "x = [[[[1]]]]\n", "= =\n", "\x00", "\xff", '"\n', "a = 1e400\n",
    ]
)  # fmt: skip
SCENARIO_BYTES = st.one_of(
    st.binary(max_size=200),
    st.lists(TOML_PIECES, max_size=8).map(lambda parts: "".join(parts).encode("utf-8", "replace")),
)


@FUZZ
@given(content=SCENARIO_BYTES)
def test_scenario_files_raise_only_scenario_file_errors(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scenario.toml"
        path.write_bytes(content)
        with contextlib.suppress(ScenarioFileError):
            read_scenario_file(path, {"a": lambda: None})
