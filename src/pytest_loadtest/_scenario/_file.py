"""Scenario files: a load profile, weighted actions and an SLA, in TOML.

::

    name = "black_friday"
    description = "sale opens: many users, short think time"

    [load]                      # any setting: users or rate, ramp_up, stages, duration, ...
    users = 200
    ramp_up = "10s"
    duration = "1m"
    think_time = "1s"

    [actions]                   # action name = weight
    search = 5
    paginate = 3

    [hooks]                     # optional: actions run per user before/after its iterations
    on_start = ["login"]
    on_stop = ["logout"]

    [sla]
    p95 = "2s"
    error_rate = "1%"
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, final

from pytest_loadtest._settings._layers import SettingError, check_layer

__all__ = ["ScenarioFile", "ScenarioFileError", "read_scenario_file"]

TOP_KEYS: Final = ("name", "description", "load", "actions", "hooks", "sla")
HOOK_KEYS: Final = ("on_start", "on_stop")
#: Largest scenario file read: a scenario is a few hundred bytes; anything near this is a mistake.
MAX_BYTES: Final = 1_000_000


class ScenarioFileError(ValueError):
    """A scenario file cannot be used; the message names the file, the key and the value."""


@final
@dataclass
class ScenarioFile:
    """What a scenario file says, its action names mapped to the callables given: the
    :class:`~pytest_loadtest._scenario._target.Scenario` is built from it."""

    name: str
    source: str  # "scenario file <path>": where errors point
    description: str = ""
    settings: dict[str, object] = field(default_factory=dict)
    tasks: list[tuple[str, Callable[..., Any], object]] = field(default_factory=list)
    on_start: list[Callable[..., Any]] = field(default_factory=list)
    on_stop: list[Callable[..., Any]] = field(default_factory=list)


def _read(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    where = f"scenario file {path}"
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not hang; what is not a regular file
        # (a FIFO, /dev/zero, a directory) is refused before a byte is read
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
                raise ScenarioFileError(f"{where}: cannot be read: {kind} (give a TOML file)")
            with os.fdopen(fd, "rb", closefd=False) as f:
                raw = f.read(MAX_BYTES + 1)
        finally:
            os.close(fd)
        if len(raw) > MAX_BYTES:
            raise ScenarioFileError(f"{where}: larger than {MAX_BYTES:,} bytes, too large to read")
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
        return data
    except FileNotFoundError:
        raise ScenarioFileError(f"{where}: no such file") from None
    except OSError as exc:
        raise ScenarioFileError(f"{where}: cannot be read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioFileError(f"{where}: not valid TOML: {exc}") from None
    except RecursionError:  # deeply nested arrays or tables
        raise ScenarioFileError(f"{where}: nested too deeply to read") from None
    except UnicodeDecodeError as exc:
        raise ScenarioFileError(
            f"{where}: not UTF-8 (TOML files are): byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start}"
        ) from None
    except ScenarioFileError:
        raise
    except ValueError as exc:  # a NUL character in the path
        raise ScenarioFileError(f"{where}: not a usable path: {exc}") from None


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ScenarioFileError(f"{where}: [{key}] must be a table, got {key} = {value!r}")
    return value


def read_scenario_file(path: object, actions: Mapping[str, Callable[..., Any]]) -> ScenarioFile:
    """Read the file at ``path``, checking its settings and mapping its action names."""
    file = Path(str(path))
    where = f"scenario file {file}"
    if not isinstance(actions, Mapping):
        raise ScenarioFileError(
            f"{where}: actions= must map the file's action names to callables, got {actions!r}"
        )
    data = _read(file)
    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        raise ScenarioFileError(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(TOP_KEYS)})"
        )
    name = data.get("name", file.stem)
    if not isinstance(name, str) or not name:
        raise ScenarioFileError(f"{where}: name = {name!r} must be a non-empty string")
    scenario = ScenarioFile(name, where, str(data.get("description", "")))
    load = dict(_table(data, "load", where))
    if "sla" in load:
        raise ScenarioFileError(f"{where}: put the SLA in an [sla] table, not in [load]")
    sla = _table(data, "sla", where)
    if sla:
        load["sla"] = dict(sla)
    try:
        check_layer(f"{where} [load]", load)
    except SettingError as exc:
        raise ScenarioFileError(str(exc)) from None
    scenario.settings = load

    def action(action_name: object, key: str) -> Callable[..., Any]:
        if not isinstance(action_name, str) or action_name not in actions:
            given = ", ".join(sorted(actions)) or "none"
            raise ScenarioFileError(
                f"{where}: {key} names action {action_name!r}, which actions= does not map to a "
                f"callable (given: {given})"
            )
        return actions[action_name]

    weighted = _table(data, "actions", where)
    if not weighted:
        raise ScenarioFileError(f"{where}: [actions] is missing or empty: name the actions to run")
    for action_name, weight in weighted.items():
        func = action(action_name, f"[actions] {action_name} = {weight!r}")
        scenario.tasks.append((action_name, func, weight))
    hooks = _table(data, "hooks", where)
    for key, names in hooks.items():
        if key not in HOOK_KEYS:
            raise ScenarioFileError(
                f"{where}: unknown key {key!r} in [hooks] (allowed: {', '.join(HOOK_KEYS)})"
            )
        if not isinstance(names, list):
            raise ScenarioFileError(
                f"{where}: [hooks] {key} = {names!r} must be a list of action names"
            )
        hooked = scenario.on_start if key == "on_start" else scenario.on_stop
        hooked.extend(action(hook_name, f"[hooks] {key}") for hook_name in names)
    return scenario
