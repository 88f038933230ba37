"""Saved runs on disk: ``<storage>/<machine_id>/NNNN_<name>.json``, as pytest-benchmark lays
them out, written atomically to a new number and read back as a :class:`Baseline`."""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, final

from pytest_loadtest._baseline import _benchmark_compat as compat
from pytest_loadtest._baseline._entry import Entry, EntryKey, entries_from_results
from pytest_loadtest._baseline._fields import depth_problem
from pytest_loadtest._baseline._metadata import RunMetadata
from pytest_loadtest._model._result import LoadResult

__all__ = [
    "Baseline",
    "BaselineError",
    "SavedRun",
    "check_save_name",
    "load_run",
    "save_run",
    "saved_runs",
    "storage_path",
]

_RUN_FILE: Final = re.compile(r"^(\d{4,})_(.+)\.json$")
_ILLEGAL: Final = "\\/:*?<>|"  # what pytest-benchmark's parse_save forbids
#: Claim and temporary files of a writer; removed when older than :data:`ORPHAN_SECONDS`.
_CLAIM: Final = ".loadtest-{:04d}.claim"
_ORPHAN: Final = re.compile(r"^\.loadtest-[0-9a-f]+\.(tmp|claim)$")
ORPHAN_SECONDS: Final = 3600.0
#: The largest run file read: ours hold a few KB a test; more is not a run file.
MAX_RUN_BYTES: Final = 64 << 20


class BaselineError(Exception):
    """A baseline that cannot be used: missing, unreadable or corrupt; names the file."""

    def __init__(self, path: Path | None, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"baseline {path}: {reason}" if path is not None else reason)


@final
@dataclass(frozen=True, slots=True)
class SavedRun:
    """A run file found in a machine folder."""

    number: int
    name: str
    path: Path


@final
@dataclass(eq=False)
class Baseline:
    """A saved run read back: its file, metadata and entries by key."""

    path: Path
    number: int | None
    name: str
    metadata: RunMetadata
    entries: dict[EntryKey, Entry] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``0003_main`` (the file's stem)."""
        return self.path.stem


def storage_path(storage: str | os.PathLike[str] | None = None) -> Path:
    """The storage folder of a ``--benchmark-storage`` value: ``file://path`` or a path;
    default ``.benchmarks``. :class:`BaselineError` for storage that is not a folder."""
    try:
        return compat.storage_path(storage)
    except ValueError as exc:
        raise BaselineError(None, str(exc)) from None


def check_save_name(name: str) -> str:
    """``name`` if it can be a run name (pytest-benchmark's rule), else ``ValueError``."""
    if not name or not name.strip():
        raise ValueError("a saved run's name cannot be empty")
    illegal = "".join(c for c in _ILLEGAL if c in name)
    if illegal:
        raise ValueError(f"run name {name!r} must not contain any of {_ILLEGAL} (has {illegal!r})")
    return name


def saved_runs(storage: Path, machine_id: str) -> list[SavedRun]:
    """The run files of one machine, oldest (lowest number) first."""
    folder = storage / machine_id
    runs = []
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise BaselineError(folder, f"cannot list saved runs: {exc.strerror or exc}") from None
    for name in names:
        match = _RUN_FILE.match(name)
        if match:
            runs.append(SavedRun(int(match[1]), match[2], folder / name))
    return sorted(runs, key=lambda run: (run.number, run.name))


def _remove_orphans(folder: Path) -> None:
    """Remove the temporary and claim files of writers killed over an hour ago (listing already
    ignores them); a live writer's files are seconds old."""
    now = time.time()
    try:
        names = [n for n in os.listdir(folder) if _ORPHAN.match(n)]
    except OSError:
        return
    for name in names:
        try:
            if now - os.stat(folder / name).st_mtime > ORPHAN_SECONDS:
                os.unlink(folder / name)
        except OSError:
            pass  # removed by another writer meanwhile, or not ours to remove


def _claim(folder: Path, number: int) -> bool:
    """Claim ``number`` for this writer: exclusive creation of its claim file, which fails in
    every other process, whatever name each saves under."""
    try:
        os.close(os.open(folder / _CLAIM.format(number), os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
    return True


def _write_new(folder: Path, name: str, payload: bytes) -> Path:
    """Write ``payload`` as the next free ``NNNN_<name>.json``; never replaces a file.

    The bytes go to a temporary file first. A number is claimed by the exclusive creation of
    ``.loadtest-NNNN.claim`` (the next number when another writer holds it, or when a run file
    of that number already exists, whatever its name); the temporary file is then hard-linked
    to its final name, and the claim released. So concurrent saves under different names take
    different numbers, and a reader never sees a half-written run.
    """
    folder.mkdir(parents=True, exist_ok=True)
    _remove_orphans(folder)
    # not mkstemp: its 0600 mode would survive the link; os.open's 0o666 honours the umask
    temporary = folder / f".loadtest-{secrets.token_hex(8)}.tmp"
    fd = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        number = max((run.number for run in saved_runs(folder.parent, folder.name)), default=0)
        for _ in range(10_000):
            number += 1
            if not _claim(folder, number):
                continue
            claimed = number
            try:
                # listed after claiming: a writer that saved this number released its claim
                # only once its file existed, so the file is seen here
                taken = {run.number for run in saved_runs(folder.parent, folder.name)}
                if number in taken:
                    number = max(taken)
                    continue
                target = folder / f"{number:04d}_{name}.json"
                try:
                    os.link(temporary, target)
                except FileExistsError:
                    continue
                except OSError:
                    # no hard links on this file system: exclusive creation still never overwrites
                    try:
                        with open(target, "xb") as out:
                            out.write(payload)
                    except FileExistsError:
                        continue
                return target
            finally:
                os.unlink(folder / _CLAIM.format(claimed))
        raise BaselineError(folder, "could not find a free run number")  # pragma: no cover
    finally:
        os.unlink(temporary)


def save_run(
    storage: Path,
    machine_id: str,
    name: str,
    results: Iterable[LoadResult] | Iterable[Entry],
    metadata: RunMetadata | None = None,
    *,
    failed: bool = False,
    save_failed: bool = False,
) -> Path | None:
    """Save ``results`` as a new run ``<storage>/<machine_id>/NNNN_<name>.json``.

    ``failed``: the run failed (the plugin decides what counts: a failed load test, a
    regression). Such a run is not saved, and ``None`` is returned, unless ``save_failed``: a
    failed run would otherwise become the latest baseline. Saved anyway, it is marked failed and
    ``load_run(which=None)`` passes over it. Capacity-search steps are never saved.
    ``BaselineError`` when the folder cannot be written.
    """
    check_save_name(name)
    if failed and not save_failed:
        return None
    items = list(results)
    entries = [item for item in items if isinstance(item, Entry)]
    entries += entries_from_results(item for item in items if isinstance(item, LoadResult))
    meta = metadata if metadata is not None else RunMetadata.collect(machine_id)
    section = {**meta.to_dict(), "machine_id": machine_id, "name": name, "passed": not failed}
    document = compat.run_document(
        entries, section, {"machine_info": meta.machine_info, "commit_info": meta.commit_info}
    )
    try:
        payload = json.dumps(document, ensure_ascii=True, indent=4, allow_nan=False).encode()
    except ValueError as exc:  # pragma: no cover - every float is made finite first
        raise BaselineError(None, f"run {name!r} cannot be written as JSON: {exc}") from None
    folder = storage / machine_id
    try:
        return _write_new(folder, name, payload)
    except OSError as exc:
        raise BaselineError(folder, f"cannot save the run: {exc.strerror or exc}") from None


def _read_bytes(path: Path) -> bytes:
    """The file's bytes: a regular file of at most :data:`MAX_RUN_BYTES`. The file is opened
    without blocking and checked on its descriptor, so a FIFO, a device (``/dev/zero``) or a
    folder is refused before a byte is read, and a huge file before it fills the memory."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise BaselineError(path, "no such file") from None
    except OSError as exc:
        raise BaselineError(path, f"cannot be read: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise BaselineError(path, "cannot be read: it is a folder, not a run file")
        if not stat.S_ISREG(mode):
            kind = (
                "a FIFO"
                if stat.S_ISFIFO(mode)
                else "a socket"
                if stat.S_ISSOCK(mode)
                else "a device"
            )
            raise BaselineError(path, f"cannot be read: not a regular file ({kind})")
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(MAX_RUN_BYTES + 1)
    except OSError as exc:
        raise BaselineError(path, f"cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_RUN_BYTES:
        raise BaselineError(path, f"is larger than {MAX_RUN_BYTES >> 20} MB: not a run file")
    return data


def _read(path: Path, number: int | None = None) -> Baseline:
    try:
        text = _read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BaselineError(path, f"cannot be read: {exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(path, f"is not valid JSON ({exc}); corrupt or truncated") from None
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number; nesting past the stack
        what = "nests too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise BaselineError(path, f"is not a usable JSON document ({what}); corrupt") from None
    problem = depth_problem(document)
    if problem:
        raise BaselineError(path, f"is not a run file: it {problem}")
    if not isinstance(document, Mapping) or not isinstance(document.get("benchmarks"), list):
        raise BaselineError(path, "is not a pytest-benchmark run file (no 'benchmarks' list)")
    entries: dict[EntryKey, Entry] = {}
    for bench in document["benchmarks"]:
        if not isinstance(bench, Mapping):
            raise BaselineError(path, f"benchmark entry is not an object: {bench!r:.60}")
        try:
            entry = compat.entry_from_benchmark(bench)
        except ValueError as exc:
            raise BaselineError(path, f"corrupt load test entry: {exc}") from None
        if entry is not None:
            entries[entry.key] = entry
    match = _RUN_FILE.match(path.name)
    section: Any = document.get("loadtest")
    name = str(section.get("name")) if isinstance(section, Mapping) and section.get("name") else ""
    return Baseline(
        path=path,
        number=number if number is not None else int(match[1]) if match else None,
        name=name or (match[2] if match else path.stem),
        metadata=RunMetadata.from_document(document),
        entries=entries,
    )


def _usable(baseline: Baseline, what: str) -> Baseline:
    if not baseline.entries:
        raise BaselineError(baseline.path, f"has no load test results ({what})")
    return baseline


def load_run(
    storage: Path,
    machine_id: str,
    which: int | str | os.PathLike[str] | None = None,
    *,
    include_failed: bool = False,
) -> Baseline:
    """Read a saved run back.

    ``which``: ``None`` for the latest run of this machine that holds load test results (runs
    saved from a failed session are passed over unless ``include_failed``); a run number
    (``3`` or ``"0003"``); a run name (``"main"``: the latest ``NNNN_main.json``); or a path to
    a run file. :class:`BaselineError` naming the file for a missing, unreadable or corrupt run.
    """
    folder = storage / machine_id
    runs = saved_runs(storage, machine_id)
    if which is None:
        failed = 0
        for run in reversed(runs):
            baseline = _read(run.path, run.number)
            if baseline.entries and (include_failed or baseline.metadata.passed):
                return baseline
            failed += bool(baseline.entries)
        others = (
            sorted(p.name for p in storage.glob("*") if p.is_dir() and p.name != machine_id)
            if storage.is_dir()
            else []
        )
        hint = f"; runs of other machines: {', '.join(others)} (give a file path)" if others else ""
        found = "no run to compare with"
        if runs:
            found = f"no run with load test results to compare with among {len(runs)} file(s)"
        if failed:
            found += f" ({failed} saved from failed sessions: give its number to use one)"
        raise BaselineError(folder, found + hint)
    text = os.fspath(which) if not isinstance(which, int) else f"{which:04d}"
    if isinstance(which, int) or text.isdigit():
        number = int(text)
        chosen = [run for run in runs if run.number == number]
        if not chosen:
            raise BaselineError(folder, f"has no run number {number:04d}")
        return _usable(_read(chosen[-1].path, number), f"run {number:04d}")
    candidate = Path(text)
    if candidate.is_file() or candidate.parent != Path() or text.endswith(".json"):
        if not candidate.is_file() and candidate.parent == Path():
            candidate = folder / text  # a bare file name: in this machine's folder
        return _usable(_read(candidate), "given as a file")
    named = [run for run in runs if run.name == text or run.path.stem == text]
    if not named:
        raise BaselineError(folder, f"has no run named {text!r}")
    return _usable(_read(named[-1].path, named[-1].number), f"run named {text!r}")
