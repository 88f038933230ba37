"""A worker process's pytest session: which arguments it runs and which of the coordinator's
options it must not act on (what surrounds the session is the bootstrap's, see
:data:`~pytest_loadtest._scale._wire.BOOTSTRAP`); and the coordinator of a test."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from pytest_loadtest._scale._coordinate import Coordinator

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_loadtest._scale._places import Place

__all__ = ["WORKER_OPTIONS", "coordinator", "worker_args", "worker_options"]

#: Options of the coordinator's command line that a worker's session must not act on: outputs
#: the coordinator writes (junit XML, HTML, JSON, benchmark and load baselines, reports), other
#: test selections (--lf, --sw), debuggers, pytest-xdist (a worker runs its one test itself),
#: and scale-out itself.
WORKER_OPTIONS: Final = {
    "xmlpath": None,
    "htmlpath": None,
    "json_report": False,
    "lf": False,
    "cacheclear": False,
    "report_log": None,
    "failedfirst": False,
    "stepwise": False,
    "stepwise_skip": False,
    "usepdb": False,
    "trace": False,
    "numprocesses": None,
    "dist": "no",
    "looponfail": False,
    "benchmark_save": None,
    "benchmark_autosave": False,
    "benchmark_json": None,
    "benchmark_compare": None,
    "benchmark_histogram": None,
    "load_report": None,
    "load_save": None,
    "load_autosave": False,
    "load_compare": None,
    "load_compare_fail": None,
    "load_tx": None,
    "load_progress": "off",
}


def worker_options(option: Any) -> None:
    """Turn off :data:`WORKER_OPTIONS` on a worker session's ``config.option``."""
    for dest, value in WORKER_OPTIONS.items():
        if hasattr(option, dest):
            setattr(option, dest, value)


def worker_args(invocation: Sequence[str], positional: Iterable[str], target: str) -> list[str]:
    """The coordinator's command line for a worker: its options (the user's own conftest
    options too), the test ``target`` instead of the paths it named (``positional``)."""
    named = set(positional)
    return [arg for arg in invocation if arg not in named] + [target]


def coordinator(path: Path, nodeid: str, config: Any, places: Sequence[Place]) -> Coordinator:
    """The coordinator of test ``nodeid`` (in file ``path``) of a pytest session (``config``):
    its workers run the same command line, the test named by its absolute path (valid on a
    remote host too when the project is at the same path), from the same directory."""
    from importlib.metadata import version

    test = f"{path}::{nodeid.split('::', 1)[1]}" if "::" in nodeid else str(path)
    params = config.invocation_params
    session = {
        "args": worker_args([str(a) for a in params.args], [str(a) for a in config.args], test),
        "chdir": str(params.dir),
        "nodeid": nodeid,
    }
    return Coordinator(session, places, version("pytest-loadtest"))
