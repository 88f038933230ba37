"""Where worker processes start: ``--load-tx`` specs (pytest-xdist's ``--tx`` syntax, which is
execnet's) and the ``processes`` count.

A spec is ``[N*]GATEWAY[//KEY=VALUE...]``: ``popen`` (a process on this machine),
``ssh=[USER@]HOST``, ``socket=HOST:PORT`` (an execnet socket server already running there),
with options such as ``//python=/opt/venv/bin/python`` and ``//chdir=/srv/app``; ``8*popen``
is eight places. Worker ``k`` of a run starts at place ``k % len(places)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, final

from pytest_loadtest._settings._parsers import MAX_PROCESSES

__all__ = [
    "LOCAL",
    "MAX_PROCESSES",
    "Place",
    "PlaceError",
    "parse_places",
    "places_for",
    "places_of",
]

_COUNT: Final = re.compile(r"^(\d+)\*(.*)$")
_KEYS: Final = frozenset({"popen", "ssh", "socket", "python", "chdir", "nice", "env", "id"})


class PlaceError(ValueError):
    """A spec that names no place a worker can start."""


@final
@dataclass(frozen=True, slots=True)
class Place:
    """One place a worker process can start: an execnet spec without a count."""

    spec: str

    @property
    def label(self) -> str:
        """What messages call it: ``popen``, ``ssh=loadgen1``, ``socket=10.0.0.5:8888``."""
        return self.spec.split("//", 1)[0]

    @property
    def local(self) -> bool:
        """A process of this machine (its clock is this machine's)."""
        return self.label == "popen"

    @property
    def chdir(self) -> str | None:
        """The directory the spec names for the worker, if any."""
        for part in self.spec.split("//")[1:]:
            key, _, value = part.partition("=")
            if key == "chdir":
                return value
        return None


#: A worker on this machine, as ``processes=N`` without ``--load-tx`` starts.
LOCAL: Final = Place("popen")


def parse_places(specs: Sequence[str], source: str) -> tuple[Place, ...]:
    """The places of ``specs`` (each maybe ``N*SPEC``); :class:`PlaceError` naming ``source``
    and the spec for one that is not a gateway spec."""
    places: list[Place] = []
    for raw in specs:
        text = raw.strip() if isinstance(raw, str) else raw
        if not isinstance(text, str) or not text:
            raise PlaceError(f"{source}: {raw!r} is not a gateway spec (popen, ssh=HOST, ...)")
        count, spec = 1, text
        match = _COUNT.match(text)
        if match is not None:
            count, spec = int(match.group(1)), match.group(2)
            if not 1 <= count <= MAX_PROCESSES:
                raise PlaceError(f"{source}: {text!r}: the count must be 1 to {MAX_PROCESSES}")
        _check(spec, text, source)
        places.extend([Place(spec)] * count)
        if len(places) > MAX_PROCESSES:
            raise PlaceError(f"{source}: more than {MAX_PROCESSES} worker places")
    return tuple(places)


def _check(spec: str, text: str, source: str) -> None:
    parts = spec.split("//")
    gateway, _, value = parts[0].partition("=")
    problem = ""
    if gateway not in ("popen", "ssh", "socket"):
        problem = "it must start with popen, ssh=HOST or socket=HOST:PORT"
    elif gateway == "popen" and value:
        problem = "popen takes no value"
    elif gateway in ("ssh", "socket") and not value.strip():
        problem = f"{gateway}= needs a host"
    elif gateway == "socket" and not re.fullmatch(r"[^:\s]+:\d{1,5}", value):
        problem = "socket= takes HOST:PORT"
    for part in parts[1:]:
        key, equals, _ = part.partition("=")
        if (key not in _KEYS and not key.startswith("env:")) or not equals:
            problem = problem or f"unknown option {part!r} (python=, chdir=, nice=, env:NAME=)"
    if problem:
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise PlaceError(f"{source}: {shown!r} is not a gateway spec: {problem}")


def places_for(processes: int, places: Sequence[Place]) -> list[Place]:
    """Where each of ``processes`` workers starts: round-robin over ``places`` (this machine
    when none)."""
    where = places or (LOCAL,)
    return [where[k % len(where)] for k in range(processes)]


def places_of(
    option: Callable[[str], Any], ini: Callable[[str], Any], inifile: str
) -> tuple[Place, ...]:
    """The places ``--load-tx`` (repeatable) or the ini key ``load_tx`` (specs separated by
    spaces) give; :class:`PlaceError` naming the source for a bad spec."""
    specs = option("load_tx")
    if specs:
        return parse_places(list(specs), "--load-tx")
    text = ini("load_tx")
    if text:
        return parse_places(str(text).split(), f"{inifile} option load_tx")
    return ()
