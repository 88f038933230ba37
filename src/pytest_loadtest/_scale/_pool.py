"""The coordinator's worker processes: started over execnet, greeted (plugin version, clock
offset), handed the pytest session to run, listened to, and stopped with nothing left behind.

Every message of every worker lands in one queue as ``(worker, kind, data)``; a channel that
closes (the process exited, was killed, or its host went away) adds ``(worker, CLOSED, {})``.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, final

from pytest_loadtest._scale._places import Place
from pytest_loadtest._scale._wire import (
    BOOTSTRAP,
    EXIT,
    HELLO,
    PING,
    PONG,
    PROTOCOL,
    QUIT,
    REPORT,
    SESSION,
)

__all__ = ["CLOSED", "CONNECT_TIMEOUT", "Pool", "PoolError", "Worker"]

#: Seconds a worker has to start and say hello (an unreachable host fails within this).
CONNECT_TIMEOUT: Final = 20.0
#: Seconds a worker's session has to end after :data:`QUIT` before its process is killed.
QUIT_TIMEOUT: Final = 10.0
#: Round trips that estimate a worker's clock offset (the fastest one counts).
PINGS: Final = 5
#: What the queue says when a worker's channel closed.
CLOSED: Final = "closed"


class PoolError(Exception):
    """A worker could not start: unreachable, another plugin version, a failed import."""


@final
@dataclass(eq=False)
class Worker:
    """One worker process, as the coordinator sees it."""

    index: int
    place: Place
    gateway: Any = None
    channel: Any = None
    pid: int = 0
    host: str = ""
    #: the worker's wall clock minus ours (ns), and the round trip it was measured over
    offset_ns: int = 0
    rtt_ns: int = 0
    closed: bool = False
    lost: bool = False  # lost during a run (silent, or gone): nothing more is waited for
    exited: dict[str, Any] | None = None  # its session's end: status, output
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # by phase

    @property
    def label(self) -> str:
        """``worker 1 (popen, pid 4242)``: how messages name it."""
        where = self.place.label if self.place.local else f"{self.place.label}, host {self.host}"
        return f"worker {self.index} ({where}, pid {self.pid or '?'})"

    def send(self, kind: str, data: Any) -> None:
        """Send a message; nothing when the worker is gone."""
        if self.closed or self.channel is None:
            return
        with contextlib.suppress(Exception):  # execnet's errors of a closed channel
            self.channel.send((kind, data))


@final
class Pool:
    """The worker processes of one test; see the module docstring."""

    def __init__(self, session: dict[str, Any], version: str) -> None:
        import execnet

        self._execnet = execnet
        self.group = execnet.Group()
        self.session = session  # what every worker's bootstrap receives, but its number
        self.version = version
        self.workers: list[Worker] = []
        self.inbox: queue.Queue[tuple[int, str, Any]] = queue.Queue()
        self._lock = threading.Lock()
        self._abandoned = False
        self._masters: dict[str, str] = {}  # socket= place -> id of its gateway
        self._masters_lock = threading.Lock()
        self.planned = 0  # workers started or starting

    # -- starting ----------------------------------------------------------------------------
    def grow(self, places: Sequence[Place]) -> list[Worker]:
        """Start a worker at each of ``places`` (numbered after those running), in parallel;
        :class:`PoolError` naming the worker if one cannot start within
        :data:`CONNECT_TIMEOUT` (the others are stopped)."""
        first = len(self.workers)
        self.planned = first + len(places)
        new = [Worker(first + i, place) for i, place in enumerate(places)]
        problems: dict[int, str] = {}
        threads = [
            threading.Thread(target=self._start, args=(w, problems), daemon=True) for w in new
        ]
        for thread in threads:
            thread.start()
        give_up = time.monotonic() + CONNECT_TIMEOUT
        for worker, thread in zip(new, threads, strict=True):
            thread.join(max(0.0, give_up - time.monotonic()))
            if thread.is_alive():
                problems.setdefault(
                    worker.index,
                    f"worker {worker.index} ({worker.place.label}) did not start within "
                    f"{CONNECT_TIMEOUT:g}s: is the host reachable, is Python there?",
                )
        self.workers.extend(new)
        if problems:
            self._abandoned = True
            self.stop(grace=0.0)
            raise PoolError("\n".join(problems[k] for k in sorted(problems)))
        return new

    def _spec(self, worker: Worker) -> str:
        """The execnet spec of ``worker``'s gateway. A ``socket=`` place is a server that runs
        one connection at a time in one long-lived process: its connection (made once, by the
        first worker there) only starts a fresh interpreter for each worker (``popen//via=``)."""
        place, name = worker.place, f"loadtest-worker-{worker.index}"
        if not place.label.startswith("socket="):
            return f"{place.spec}//id={name}"
        with self._masters_lock:
            master = self._masters.get(place.label)
            if master is None:
                master = f"loadtest-host-{len(self._masters)}"
                self.group.makegateway(f"{place.label}//id={master}")
                self._masters[place.label] = master
        options = "".join(f"//{part}" for part in place.spec.split("//")[1:])
        return f"popen//via={master}{options}//id={name}"

    def _start(self, worker: Worker, problems: dict[int, str]) -> None:
        try:
            gateway = self.group.makegateway(self._spec(worker))
        except Exception as exc:  # execnet raises what the transport raised
            problems[worker.index] = f"worker {worker.index} ({worker.place.label}): {exc}"
            return
        with self._lock:
            if self._abandoned:  # too late: the pool gave up on it
                with contextlib.suppress(Exception):
                    gateway.exit()
                return
            worker.gateway = gateway
        try:
            channel = gateway.remote_exec(BOOTSTRAP)
            kind, data = channel.receive(CONNECT_TIMEOUT)
            self._greet(worker, kind, data)
            worker.channel = channel
            self._clock(worker)
            channel.setcallback(
                functools.partial(self._arrived, worker.index), endmarker=(CLOSED, {})
            )
            session = {**self.session, "worker": worker.index, "workers": self.planned}
            if worker.place.chdir is not None:  # execnet went there already
                session["chdir"] = None
            channel.send((SESSION, session))
        except PoolError as exc:
            problems[worker.index] = str(exc)
        except Exception as exc:  # a remote import error, a closed channel, a timeout
            text = str(exc).strip().splitlines()
            problems[worker.index] = (
                f"worker {worker.index} ({worker.place.label}) failed to start: "
                f"{text[-1] if text else type(exc).__name__}"
            )

    def _arrived(self, index: int, message: tuple[str, Any]) -> None:
        """execnet's receiver thread: a worker's message joins the one queue."""
        self.inbox.put((index, message[0], message[1]))

    def _greet(self, worker: Worker, kind: str, data: dict[str, Any]) -> None:
        if kind != HELLO:
            raise PoolError(f"worker {worker.index} ({worker.place.label}) said {kind!r} first")
        worker.pid, worker.host = int(data.get("pid", 0)), str(data.get("host", ""))
        if data.get("version") != self.version or data.get("protocol") != PROTOCOL:
            raise PoolError(
                f"worker {worker.index} ({worker.place.label}, host {worker.host}) has "
                f"pytest-loadtest {data.get('version')} (python {data.get('executable')}), this "
                f"session {self.version}: install the same version on every host"
            )

    def _clock(self, worker: Worker) -> None:
        """The worker's wall clock minus ours, from the fastest of :data:`PINGS` round trips."""
        best: tuple[int, int] | None = None
        for _ in range(PINGS):
            t0 = time.time_ns()
            worker.channel.send((PING, t0))
            kind, data = worker.channel.receive(CONNECT_TIMEOUT)
            t1 = time.time_ns()
            if kind != PONG:
                raise PoolError(f"{worker.label} answered a ping with {kind!r}")
            rtt = t1 - t0
            if best is None or rtt < best[0]:
                best = (rtt, int(data["t"]) - (t0 + t1) // 2)
        assert best is not None
        worker.rtt_ns, worker.offset_ns = best
        if worker.place.local:
            worker.offset_ns = 0  # one machine, one clock: the estimate would only add noise

    # -- stopping ----------------------------------------------------------------------------
    def stop(self, grace: float = QUIT_TIMEOUT) -> None:
        """Tell every worker to quit, wait up to ``grace`` seconds for their sessions to end,
        then end every process still there."""
        for worker in self.workers:
            worker.send(QUIT, {})
        give_up = time.monotonic() + grace
        try:
            for worker in self.workers:
                gateway = worker.gateway
                while (
                    gateway is not None
                    and not (worker.closed or worker.lost)
                    and time.monotonic() < give_up
                ):
                    self.drain(0.05)
        finally:  # a Ctrl-C while waiting too
            with contextlib.suppress(Exception):
                self.group.terminate(timeout=1.0)  # exits the gateways; kills what does not

    def drain(self, timeout: float) -> tuple[int, str, Any] | None:
        """The next message (or None after ``timeout`` seconds); keeps each worker's closing,
        phase reports and exit on its :class:`Worker`."""
        try:
            index, kind, data = self.inbox.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        worker = self.workers[index]
        if kind == CLOSED:
            worker.closed = True
        elif kind == REPORT:
            worker.reports[str(data.get("when"))] = data
        elif kind == EXIT:
            worker.exited = data
        return index, kind, data
