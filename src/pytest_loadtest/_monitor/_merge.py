"""What the watchers saw in several worker processes of one load test: carried, and merged.

With scale-out, each worker process runs its share of the users under its own watchers, and the
coordinator builds one result. The engine keeps what its watchers saw in ``Engine.watched``, by
kind (the dict :func:`~pytest_loadtest._engine._build.build_result` reads):

- ``"resources"``: a :class:`~pytest_loadtest._monitor._samples.ResourceSamples` (or ``None``);
- ``"database"``: a list of :class:`~pytest_loadtest._monitor._statements.DatabaseStats`, one per
  watched engine, in the order the run watched them;
- ``"allocations"``: a list of :class:`~pytest_loadtest._monitor._leaks.AllocationSite`;
- ``"speed"``: the speed probe's :class:`~pytest_loadtest._monitor._speed.ReferenceTimes` (its
  median time and least CPU time), or ``None``.

:func:`watched_to_dict` turns that into plain dicts, lists, strings, numbers, booleans and
``None`` (JSON and execnet carry it; histograms HDR-encoded, nothing the results, detectors or
reports read is lost), :func:`watched_from_dict` back (``ValueError`` naming what is wrong in a
malformed one), and :func:`merge_watched` adds the parts of processes that ran at the same time
into one ``watched``. A kind a part lacks is left out of its merge; a kind no part has is left
out of the result.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

from pytest_loadtest._monitor._leaks import AllocationSite, merge_allocations
from pytest_loadtest._monitor._samples import ResourceSamples
from pytest_loadtest._monitor._speed import ReferenceTimes
from pytest_loadtest._monitor._statements import DatabaseStats

__all__ = ["WATCHED_VERSION", "merge_watched", "watched_from_dict", "watched_to_dict"]

#: Version of the :func:`watched_to_dict` layout.
WATCHED_VERSION: Final = 2
_VERSION_KEY: Final = "watched_version"
_KINDS: Final = ("resources", "database", "allocations", "speed")

_T = TypeVar("_T")


def _unknown(kind: object) -> ValueError:
    return ValueError(f"unknown watched kind {kind!r} (known: {', '.join(_KINDS)})")


def _typed(value: object, kind: type[_T], where: str) -> _T:
    if not isinstance(value, kind):
        raise TypeError(f"watched {where} is {type(value).__name__}, not {kind.__name__}")
    return value


def _items(value: object, where: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"watched {where} is {type(value).__name__}, not a list")
    return list(value)


def _time_ms(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"watched {where} is {type(value).__name__}, not a number of ms")
    ms = float(value)
    if not math.isfinite(ms) or ms < 0:
        raise ValueError(f"watched {where} = {ms!r} is not a time in ms")
    return ms


def _speed(value: object, where: str) -> ReferenceTimes | None:
    if value is None:
        return None
    return _typed(value, ReferenceTimes, where)


def _read_speed(value: object, where: str) -> ReferenceTimes | None:
    if value is None:
        return None
    data = _mapping(value, where)
    return ReferenceTimes(
        _time_ms(data.get("median_ms"), f"{where}.median_ms"),
        _time_ms(data.get("cpu_ms"), f"{where}.cpu_ms"),
    )


def watched_to_dict(watched: Mapping[str, Any]) -> dict[str, Any]:
    """``watched`` (an ``Engine.watched``) as plain, JSON-ready data; :func:`watched_from_dict`
    is its inverse. ``TypeError`` for a value of the wrong type, ``ValueError`` for a kind that
    is none of the watchers'."""
    out: dict[str, Any] = {_VERSION_KEY: WATCHED_VERSION}
    for kind, value in watched.items():
        if kind == "resources":
            out[kind] = None if value is None else _typed(value, ResourceSamples, kind).to_dict()
        elif kind == "database":
            out[kind] = [
                _typed(db, DatabaseStats, f"database[{i}]").to_dict()
                for i, db in enumerate(_items(value, kind))
            ]
        elif kind == "allocations":
            out[kind] = [
                _typed(site, AllocationSite, f"allocations[{i}]").to_dict()
                for i, site in enumerate(_items(value, kind))
            ]
        elif kind == "speed":
            speed = _speed(value, kind)
            out[kind] = (
                None if speed is None else {"median_ms": speed.median_ms, "cpu_ms": speed.cpu_ms}
            )
        else:
            raise _unknown(kind)
    return out


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"watched {where} is {type(value).__name__}, not a mapping")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"watched {where} is {type(value).__name__}, not a list")
    return list(value)


def _parse(where: str, parse: Callable[[Any], _T], value: Any) -> _T:
    """``parse(value)``, any error of a malformed value turned into a ``ValueError`` naming
    ``where`` (the data classes' ``from_dict`` raise ``KeyError`` and ``TypeError`` too)."""
    try:
        return parse(value)
    except KeyError as exc:
        raise ValueError(f"watched {where}: missing field {exc}") from None
    except (ValueError, TypeError, AttributeError, IndexError, OverflowError) as exc:
        raise ValueError(f"watched {where}: {exc}") from None


def _read_resources(value: Any) -> ResourceSamples | None:
    if value is None:
        return None
    data = _mapping(value, "resources")
    for i, sample in enumerate(_list(data.get("samples", []), "resources samples")):
        _mapping(sample, f"resources sample {i}")
    resources = _parse("resources", ResourceSamples.from_dict, data)
    if not (math.isfinite(resources.interval) and resources.interval > 0):
        raise ValueError(f"watched resources: interval {resources.interval!r} is not positive")
    if resources.cpu_count < 1:
        raise ValueError(f"watched resources: cpu_count {resources.cpu_count!r} is below 1")
    return resources


def _read_database(value: Any, index: int) -> DatabaseStats:
    where = f"database[{index}]"
    data = _mapping(value, where)
    statements = _list(data.get("statements", []), f"{where} statements")
    for i, statement in enumerate(statements):
        _mapping(statement, f"{where} statement {i}")
    _mapping(data.get("pool"), f"{where} pool")
    stats = _parse(where, DatabaseStats.from_dict, data)
    if len(stats.statements) != len(statements):
        raise ValueError(f"watched {where}: a statement is listed twice")
    return stats


def _read_allocation(value: Any, index: int) -> AllocationSite:
    where = f"allocations[{index}]"
    return _parse(where, AllocationSite.from_dict, _mapping(value, where))


def watched_from_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """The ``watched`` dict of :func:`watched_to_dict`'s output; ``ValueError`` saying what is
    wrong for anything else (another layout version, an unknown kind, a missing field, a value
    of the wrong type)."""
    data = _mapping(data, "data")
    if data.get(_VERSION_KEY) != WATCHED_VERSION:
        raise ValueError(f"unsupported watched data version {data.get(_VERSION_KEY)!r}")
    out: dict[str, Any] = {}
    for kind, value in data.items():
        if kind == _VERSION_KEY:
            continue
        if kind == "resources":
            out[kind] = _read_resources(value)
        elif kind == "database":
            out[kind] = [_read_database(db, i) for i, db in enumerate(_list(value, kind))]
        elif kind == "allocations":
            out[kind] = [_read_allocation(s, i) for i, s in enumerate(_list(value, kind))]
        elif kind == "speed":
            try:
                out[kind] = _read_speed(value, kind)
            except TypeError as exc:
                raise ValueError(str(exc)) from None
        else:
            raise _unknown(kind)
    return out


def merge_watched(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What several processes that ran one load test at the same time saw, as one ``watched``.

    - ``"resources"``: :meth:`ResourceSamples.merge` of the parts that have samples (the
      processes summed at each aligned instant: CPU of all of them, 100 = one core; RSS,
      threads, fds and IO their sums; each sample counting the processes it sums);
    - ``"database"``: the i-th :class:`DatabaseStats` of every part merged (the same engine in
      each process, :meth:`DatabaseStats.merge`: statements by normalised text with counts
      summed and histograms added, the pool as the fullest process's pool with counts summed,
      the first EXPLAIN plan); ``ValueError`` when the parts watched different numbers of
      engines;
    - ``"allocations"``: sites merged by ``file:line``, sizes and counts summed;
    - ``"speed"``: the median of the parts' median times and the median of their least CPU times
      (``None`` if none has one).

    ``ValueError`` for no part or a kind that is none of the watchers'; ``TypeError`` for a
    value of the wrong type.
    """
    if not parts:
        raise ValueError("no watched data to merge")
    for part in parts:
        for kind in part:
            if kind not in _KINDS:
                raise _unknown(kind)
    present = {kind for part in parts for kind in part}
    out: dict[str, Any] = {}
    if "resources" in present:
        samples = [
            _typed(part["resources"], ResourceSamples, "resources")
            for part in parts
            if part.get("resources") is not None
        ]
        out["resources"] = ResourceSamples.merge(samples) if samples else None
    if "database" in present:
        lists = [_items(part.get("database", []), "database") for part in parts]
        counts = [len(dbs) for dbs in lists]
        if len(set(counts)) > 1:
            raise ValueError(f"the parts watched different numbers of databases: {counts}")
        out["database"] = [
            DatabaseStats.merge([_typed(dbs[i], DatabaseStats, f"database[{i}]") for dbs in lists])
            for i in range(counts[0])
        ]
    if "allocations" in present:
        out["allocations"] = merge_allocations(
            [_items(part.get("allocations", []), "allocations") for part in parts]
        )
    if "speed" in present:
        speeds = [s for part in parts if (s := _speed(part.get("speed"), "speed")) is not None]
        out["speed"] = (
            ReferenceTimes(
                statistics.median(s.median_ms for s in speeds),
                statistics.median(s.cpu_ms for s in speeds),
            )
            if speeds
            else None
        )
    return out
