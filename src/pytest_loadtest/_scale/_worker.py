"""A run seen from a worker process: say ready, wait for the common start, run this worker's
share (see :class:`~pytest_loadtest._engine._share.Share`), stream what was measured about once
a second, hand over the record, and return the merged result the coordinator sends back, so
that the test body reads the same figures in every process."""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, final

from pytest_loadtest import _monitor
from pytest_loadtest._engine._record import RunRecord
from pytest_loadtest._engine._share import Share
from pytest_loadtest._model._metrics import NS
from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._scale._wire import (
    ALIVE,
    EXIT,
    QUIT,
    READY,
    RECORD,
    REPORT,
    RESULT,
    START,
    STOP,
    WINDOW,
    run_digest,
)

if TYPE_CHECKING:
    from pytest_loadtest._engine._engine import Engine
    from pytest_loadtest._engine._recorder import Recorder
    from pytest_loadtest._model._progress import ProgressSnapshot
    from pytest_loadtest._scenario._target import Plan
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["CoordinatorGone", "EngineFactory", "LoadWorker", "WorkerLink"]

#: Seconds between two :data:`WINDOW` messages of a running worker.
STREAM_EVERY: Final = 0.5
#: Seconds between two "alive" messages while a worker's share runs.
HEARTBEAT: Final = 0.5
#: What the inbox says when the coordinator's channel closed.
_GONE: Final[tuple[str, dict[str, Any]]] = ("gone", {})

#: Makes the engine of this worker's share: ``(settings, share, gate, progress) -> Engine``.
EngineFactory = Callable[["LoadSettings", Share, Callable[[], None], Any], "Engine"]


@final
@dataclass(frozen=True, slots=True)
class LoadWorker:
    """Where this process runs a load test spread over worker processes (the ``load_worker``
    fixture): the coordinator (the pytest process the user started; ``index`` None) or worker
    ``index`` of the ``count`` its coordinator started."""

    index: int | None = None
    count: int = 0

    @property
    def is_coordinator(self) -> bool:
        """The user's own pytest process: one-time set-up, checks after the load."""
        return self.index is None

    @property
    def is_worker(self) -> bool:
        """A worker process: runs the test's fixtures and body for its share of the users."""
        return self.index is not None


class CoordinatorGone(Exception):
    """The coordinator ended the test (or went away) while this worker waited for it."""


@final
class WorkerLink:
    """A worker process's line to its coordinator, for the one test its session runs."""

    def __init__(self, channel: Any, session: dict[str, Any]) -> None:
        self.channel = channel
        self.index = int(session["worker"])
        self.count = int(session.get("workers", 0))  # workers the coordinator had started
        self.nodeid = str(session["nodeid"])
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._send_lock = threading.Lock()
        self._stopped = threading.Event()  # STOP or QUIT: the run in progress ends
        self.engine: Engine | None = None
        channel.setcallback(self._receive, endmarker=_GONE)

    def _receive(self, message: tuple[str, Any]) -> None:
        """execnet's receiver thread: a stop reaches the running engine at once."""
        kind = message[0]
        if kind in (STOP, QUIT) or message == _GONE:
            self._stopped.set()
            engine = self.engine
            if engine is not None:
                why = message[1].get("why", "") if kind == STOP else ""
                engine.stopped_by = engine.stopped_by or why
                engine.context.stop()
            if kind == STOP:
                return
        self._inbox.put(message)

    def send(self, kind: str, data: Any) -> None:
        """Send a message to the coordinator (any thread); nothing if it is gone."""
        with self._send_lock:
            try:
                self.channel.send((kind, data))
            except Exception:  # the channel closed: the coordinator is gone
                self._stopped.set()

    def _command(self, run: int) -> tuple[str, dict[str, Any]]:
        """The coordinator's next word on run ``run``."""
        while True:
            kind, data = self._inbox.get()
            if (kind, data) == _GONE or kind == QUIT:
                self._inbox.put((kind, data))  # every later wait ends too
                raise CoordinatorGone(
                    f"load test worker {self.index}: the coordinator ended the test before "
                    f"its run {run + 1} (this worker's test called run() more often?)"
                )
            if int(data.get("run", -1)) == run:
                return kind, data

    # -- what the test's runner calls -----------------------------------------------------------
    def run(
        self, index: int, plan: Plan, settings: LoadSettings, make_engine: EngineFactory
    ) -> LoadResult:
        """Run ``index`` (from 0) of this worker's test; see the module docstring."""
        self.send(READY, {"run": index, "digest": run_digest(plan, settings)})
        kind, data = self._command(index)
        if kind == START:
            self._run_share(index, settings, data, make_engine)
            kind, data = self._command(index)
        if kind != RESULT:
            raise CoordinatorGone(f"load test worker {self.index}: unexpected {kind!r}")
        return LoadResult.from_dict(data["result"])

    def _run_share(
        self, index: int, settings: LoadSettings, start: dict[str, Any], make: EngineFactory
    ) -> None:
        share = Share(int(start["worker"]), int(start["workers"]))
        settings = dataclasses.replace(settings, seed=int(start["seed"]))
        at = int(start["at"])
        started: list[int] = []
        self._stopped.clear()

        stream = _Stream(self, index)

        def gate() -> None:
            delay = (at - time.time_ns()) / NS
            if delay > 0:
                self._stopped.wait(delay)
            started.append(time.time_ns())
            stream.started_at = started[0] / NS

        cpu = time.process_time()
        engine = make(settings, share, gate, stream)
        stream.recorder = engine.recorder
        self.engine = engine
        if self._stopped.is_set():
            engine.context.stop()
        beating = threading.Event()
        heart = threading.Thread(
            target=self._beat, args=(index, beating), name="loadtest-heartbeat", daemon=True
        )
        heart.start()
        try:
            record = engine.record()
        finally:
            self.engine = None
            beating.set()
        import psutil

        self.send(
            RECORD,
            {
                "run": index,
                "record": record.to_dict(),
                "watched": _monitor.watched_to_dict(engine.watched),
                "started": started[0] if started else 0,
                "cpu_s": time.process_time() - cpu,
                "rss": psutil.Process().memory_info().rss,
                "users": engine.driver.threads,
                "gil": _gil(record, engine.driver.threads),
            },
        )

    def _beat(self, run: int, done: threading.Event) -> None:
        """Say "alive" every :data:`HEARTBEAT` seconds while this worker's share runs (waiting
        for the start, running, stopping): silence means a hung process."""
        while not done.wait(HEARTBEAT):
            self.send(ALIVE, {"run": run})

    def report(self, when: str, outcome: str, text: str) -> None:
        """A phase of this worker's test ended (``setup``, ``call``, ``teardown``)."""
        self.send(REPORT, {"when": when, "outcome": outcome, "text": text[-20_000:]})

    def exit(self, status: int, output: str) -> None:
        """This worker's session ended with ``status``; the tail of its terminal output."""
        self.send(EXIT, {"status": status, "output": output[-20_000:]})


def _gil(record: RunRecord, threads: int) -> bool:
    """Was this process busy enough with enough threads to be flagged for GIL contention?"""
    from pytest_loadtest._engine._build import GIL_USERS

    return record.cpu_utilisation >= 0.85 and threads >= GIL_USERS


@final
class _Stream:
    """The worker's progress "printer": every :data:`STREAM_EVERY` seconds it sends the
    coordinator the progress snapshot and the record folded so far (kept if the worker is lost
    later). Called on the engine's collector thread."""

    def __init__(self, link: WorkerLink, run: int) -> None:
        self.link = link
        self.run = run
        self.recorder: Recorder | None = None
        self.started_at = 0.0  # wall-clock start of the run (the gate sets it)
        self._next = 0.0  # the first tick of the run
        self._sent: dict[str, int] = {}  # timeline rows sent, by operation ("" for the run)

    def due(self) -> bool:
        return time.monotonic() >= self._next

    def update(self, snapshot: ProgressSnapshot) -> None:
        self._next = time.monotonic() + STREAM_EVERY
        recorder = self.recorder
        record = None
        if recorder is not None:
            with recorder.folding:  # a lost worker's figures count up to here
                operations, timeline = recorder.snapshot(), list(recorder.timeline)
            for op in operations:  # rows already sent are not sent again
                op.timeline = self._new_rows(op.name, op.timeline)
            record = RunRecord(
                name="",
                window=recorder.window_ns / NS,
                duration=snapshot.elapsed,
                started_at=self.started_at,
                operations=operations,
                timeline=self._new_rows("", timeline),
            ).to_dict()
        self.link.send(
            WINDOW,
            {"run": self.run, "progress": dataclasses.asdict(snapshot), "record": record},
        )

    def _new_rows(self, name: str, rows: list[Any]) -> list[Any]:
        sent = self._sent.get(name, 0)
        self._sent[name] = len(rows)
        return rows[sent:]

    def finish(self) -> None:
        """Nothing: the record follows."""
