"""What the coordinator (the user's pytest process) and its worker processes say to each other
over their execnet channels: ``(kind, data)`` tuples of plain values.

A worker's life: the bootstrap (:data:`BOOTSTRAP`) says :data:`HELLO` (its plugin version, pid,
host), answers :data:`PING` with :data:`PONG` (its wall clock, for the clock offset), receives
:data:`SESSION` (the pytest arguments, the directory, its number) and runs a pytest session of
the one test. Each ``load_runner.run()`` of that test says :data:`READY` and waits: for
:data:`START` (its share, the seed, the common start time), then streams :data:`WINDOW`
(progress, its histograms so far and the timeline rows finished since the last) twice a second,
says :data:`ALIVE` twice a second from its start to its end, and ends with :data:`RECORD`. Every run
is answered with :data:`RESULT`: the merged result, the same in every process (a run the
coordinator made alone, or that this worker sat out, too). :data:`STOP` ends a run early;
:data:`QUIT` ends the test. The worker reports each phase of its test (:data:`REPORT`) and the
end of its session (:data:`EXIT`).
"""

from __future__ import annotations

import os
import platform
import socket
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from pytest_loadtest._scenario._target import Plan
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = [
    "ALIVE",
    "BOOTSTRAP",
    "EXIT",
    "HELLO",
    "PING",
    "PONG",
    "PROTOCOL",
    "QUIT",
    "READY",
    "RECORD",
    "REPORT",
    "RESULT",
    "SESSION",
    "START",
    "STOP",
    "WINDOW",
    "ScaleError",
    "differences",
    "run_digest",
]

#: Bumped when a message changes: coordinator and workers must speak the same.
PROTOCOL: Final = 1

HELLO: Final = "hello"
PING: Final = "ping"
PONG: Final = "pong"
SESSION: Final = "session"
READY: Final = "ready"
START: Final = "start"
WINDOW: Final = "window"
RECORD: Final = "record"
RESULT: Final = "result"
STOP: Final = "stop"
ALIVE: Final = "alive"
QUIT: Final = "quit"
REPORT: Final = "report"
EXIT: Final = "exit"

#: What execnet runs in a new worker process (``channel`` is execnet's): the greeting, then the
#: worker's pytest session (Ctrl-C left to the coordinator, a temporary directory of its own,
#: its terminal output kept for messages). It imports nothing of pytest-loadtest itself: the
#: versions must be known to match first, and pytest must load the plugin itself to rewrite it.
BOOTSTRAP: Final = f"""
import os, platform, socket, sys, time
try:
    from importlib.metadata import version
    found = version("pytest-loadtest")
except Exception as exc:
    found = "none (" + type(exc).__name__ + ")"
channel.send(("{HELLO}", {{
    "version": found, "protocol": {PROTOCOL}, "pid": os.getpid(), "host": socket.gethostname(),
    "python": platform.python_version(), "executable": sys.executable,
}}))
while True:
    message = channel.receive()
    if message[0] != "{PING}":
        break
    channel.send(("{PONG}", {{"t0": message[1], "t": time.time_ns()}}))
if message[0] == "{SESSION}":
    import io, shutil, signal, tempfile, threading
    session = message[1]
    if threading.current_thread() is threading.main_thread():  # not in a socket server's
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to pass on
    if session.get("chdir"):
        os.chdir(session["chdir"])
    base = tempfile.mkdtemp(prefix="pytest-loadtest-worker-")
    output = io.StringIO()
    sys.stdout = sys.stderr = output  # pytest's terminal output: kept for messages, not shown

    class Holder:  # plugin.py finds it among the session's plugins and makes the link
        loadtest_worker_channel = channel
        loadtest_worker_session = session
        link = None

    holder, status = Holder(), -1
    try:
        import pytest  # not before: pytest rewrites the asserts of the plugins it loads
        status = int(pytest.main([*session["args"], "--basetemp=" + base + "/tmp"], [holder]))
    finally:
        shutil.rmtree(base, ignore_errors=True)
        text = output.getvalue()[-20000:]
        if holder.link is not None:
            holder.link.exit(status, text)
        else:
            channel.send(("{EXIT}", {{"status": status, "output": text}}))
"""


class ScaleError(Exception):
    """A run cannot be spread: a worker did not start, failed before the run, or resolved
    other settings. The message names the worker."""


def hello() -> dict[str, Any]:
    """What this process would say in :data:`HELLO` (tests, and the coordinator's own)."""
    from importlib.metadata import version

    return {
        "version": version("pytest-loadtest"),
        "protocol": PROTOCOL,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "now": time.time_ns(),
    }


#: The settings every process of a run must resolve alike (the seed and the number of
#: processes are the coordinator's: ``processes="auto"`` counts each host's own cores).
_SAME: Final = (
    "model",
    "users",
    "duration",
    "iterations",
    "ramp_up",
    "ramp_down",
    "stages",
    "rate",
    "rate_stages",
    "max_users",
    "think_time",
    "warmup",
    "pacing",
    "stop_timeout",
)


def run_digest(plan: Plan, settings: LoadSettings) -> dict[str, Any]:
    """What must be the same in every process for a run to be one run: the target's tasks and
    the settings that shape the load."""
    shown = settings.to_dict()
    digest = {key: repr(shown.get(key)) for key in _SAME}
    digest["target"] = repr([plan.name, *(task.name for task in plan.tasks)])
    return digest


def differences(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> list[str]:
    """``key: mine != theirs`` for each key of two digests that differ."""
    keys = sorted(set(mine) | set(theirs))
    return [
        f"{key}: {mine.get(key, '-')} here, {theirs.get(key, '-')} there"
        for key in keys
        if mine.get(key) != theirs.get(key)
    ]
