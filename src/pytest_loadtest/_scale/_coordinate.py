"""A test's runs from the coordinator (the user's own pytest process) when they are spread over
worker processes: start the workers on the first run that asks for them, wait until each is
ready, give them a common start, show the merged progress, merge what they recorded into one
result, and hand that result back to every worker.

The workers run the same test: each of its ``run()`` calls is answered, in order. A run the
coordinator made alone (``processes=1``) is answered with its result (:data:`RESULT`), so the
k-th ``run()`` is the k-th everywhere. A worker lost during a run (killed, crashed, silent for
:data:`SILENCE` seconds) ends its share there: the run goes on with the others, its figures up
to its last message count, and the result fails naming it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, final

from pytest_loadtest._scale._gather import Gather
from pytest_loadtest._scale._places import Place, places_for
from pytest_loadtest._scale._pool import Pool, PoolError, Worker
from pytest_loadtest._scale._wire import (
    QUIT,
    READY,
    RESULT,
    START,
    ScaleError,
    differences,
    run_digest,
)

if TYPE_CHECKING:
    from pytest_loadtest._model._progress import Progress
    from pytest_loadtest._model._result import LoadResult
    from pytest_loadtest._scenario._target import Plan
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["Coordinator", "ScaleError"]

#: Seconds every worker has to reach a ``run()`` (its session starting, its fixtures).
READY_TIMEOUT: Final = 300.0
#: Seconds between the start message and the common start, at least (and 4 round trips).
LEAD: Final = 0.25
#: Seconds after the test body that workers have to finish theirs.
FINISH_TIMEOUT: Final = 60.0


@final
class Coordinator:
    """The coordinator's side of one test; see the module docstring.

    ``session``: what each worker's pytest session runs (``args``, ``chdir``, ``nodeid``);
    ``places``: ``--load-tx``'s places (none: this machine); ``version``: the plugin's.
    """

    def __init__(self, session: dict[str, Any], places: Sequence[Place], version: str) -> None:
        self.session = session
        self.places = tuple(places)
        self.version = version
        self.pool: Pool | None = None
        self.results: list[dict[str, Any]] = []  # every run of the test so far, as results
        self._asked: dict[int, set[int]] = {}  # run -> workers that said READY for it
        self._digests: dict[tuple[int, int], dict[str, Any]] = {}
        #: set to end the run being gathered (a cancelled ``arun``); the why
        self.cancelled = threading.Event()
        self.cancel_why = ""

    def processes(self, settings: LoadSettings) -> int:
        """Workers a run under ``settings`` uses: ``processes``, or with ``--load-tx`` and no
        ``processes`` of the test's own, one per place. A count the test did not give itself
        (the command line, the ini file, ``auto``) is capped at the run's users, iterations or
        ``max_users``, so that small tests still run; a test's own count is checked instead."""
        source = settings.sources.get("processes", "default")
        count = len(self.places) if self.places and source == "default" else settings.processes
        if source.startswith(("@pytest.mark", "load_runner", "find_capacity", "scenario")):
            return count
        return max(1, min(count, _most(settings)))

    def spreads(self, settings: LoadSettings) -> bool:
        """Does a run under ``settings`` use worker processes? With ``--load-tx``, always."""
        return bool(self.places) or self.processes(settings) > 1

    def cancel(self, why: str) -> None:
        """End the run being gathered early (its figures are kept)."""
        self.cancel_why = why
        self.cancelled.set()

    # -- runs ---------------------------------------------------------------------------------
    def run(
        self,
        index: int,
        plan: Plan,
        settings: LoadSettings,
        *,
        name: str,
        progress: Progress | None = None,
        soak: bool = False,
    ) -> LoadResult:
        """Run ``index`` of the test (its ``index``-th ``run()``) over the workers."""
        count = self.processes(settings)
        _check_split(settings, count)
        pool = self._grow(count)
        workers = pool.workers[:count]
        self._await_ready(index, workers, run_digest(plan, settings))
        lead = max(LEAD, 4 * max(w.rtt_ns for w in workers) / 1e9)
        at = time.time_ns() + int(lead * 1e9)
        for worker in workers:
            start = {
                "run": index,
                "worker": worker.index,
                "workers": count,
                "seed": settings.seed,
                "at": at + worker.offset_ns,
            }
            worker.send(START, start)
        self.cancelled.clear()
        gather = Gather(pool, workers, index, settings, at=at, progress=progress, name=name)
        gather.note = self._note  # a READY of a worker sitting this run out
        gather.cancelled, gather.cancel_why = self.cancelled, lambda: self.cancel_why
        result = gather.collect(soak=soak)
        self._answer(index, result.to_dict())
        return result

    def replay(self, index: int, result: LoadResult) -> None:
        """Run ``index`` ran here alone: workers that reach it get its result."""
        self._answer(index, result.to_dict())

    def _answer(self, index: int, data: dict[str, Any]) -> None:
        """Keep run ``index``'s result and send it to every worker waiting for it."""
        while len(self.results) <= index:
            self.results.append({})
        self.results[index] = data
        if self.pool is not None:
            waiting = self._asked.pop(index, set())
            for worker in self.pool.workers:
                if worker.index in waiting:
                    worker.send(RESULT, {"run": index, "result": data})

    def _serve(self, timeout: float) -> tuple[int, str, Any] | None:
        """Take the next message (see :meth:`_note`); None after ``timeout``."""
        assert self.pool is not None
        message = self.pool.drain(timeout)
        if message is not None:
            self._note(*message)
        return message

    def _note(self, index: int, kind: str, data: Any) -> None:
        """A READY for a run already made is answered at once; one for a later run noted."""
        assert self.pool is not None
        if kind == READY and isinstance(data, dict):
            run = int(data.get("run", -1))
            self._digests[(index, run)] = dict(data.get("digest", {}))
            if 0 <= run < len(self.results) and self.results[run]:
                self.pool.workers[index].send(RESULT, {"run": run, "result": self.results[run]})
            else:
                self._asked.setdefault(run, set()).add(index)

    def _grow(self, count: int) -> Pool:
        if self.pool is None:
            try:
                self.pool = Pool(self.session, self.version)
            except ImportError:
                raise ScaleError(
                    "processes > 1 needs execnet: pip install 'pytest-loadtest[scale]'"
                ) from None
        missing = count - len(self.pool.workers)
        if missing > 0:
            places = places_for(count, self.places)[len(self.pool.workers) :]
            try:
                self.pool.grow(places)
            except PoolError as exc:
                raise ScaleError(str(exc)) from None
        return self.pool

    def _await_ready(self, index: int, workers: list[Worker], digest: dict[str, Any]) -> None:
        """Wait until each of ``workers`` said READY for run ``index`` with the same digest."""
        give_up = time.monotonic() + READY_TIMEOUT
        while True:
            waiting = [w for w in workers if w.index not in self._asked.get(index, set())]
            for worker in workers:
                problem = _gone_before(worker, index)
                if problem:
                    raise ScaleError(problem)
            if not waiting:
                break
            if time.monotonic() > give_up:
                names = ", ".join(w.label for w in waiting)
                raise ScaleError(f"{names} did not reach run {index + 1} within {READY_TIMEOUT:g}s")
            self._serve(0.1)
        for worker in workers:
            theirs = self._digests.get((worker.index, index), {})
            differ = differences(digest, theirs)
            if differ:
                raise ScaleError(
                    f"{worker.label} resolved run {index + 1} differently, so its share would "
                    f"not be a share of this run: {'; '.join(differ)}"
                )

    # -- the end of the test ------------------------------------------------------------------
    def finish(self) -> list[str]:
        """After the test body: answer what workers still ask, wait for their bodies to end;
        what failed in a worker but not here, one message each."""
        pool = self.pool
        if pool is None:
            return []
        give_up = time.monotonic() + FINISH_TIMEOUT
        problems: list[str] = []
        while time.monotonic() < give_up:
            pending = [w for w in pool.workers if not _call_done(w)]
            if not pending:
                break
            for run in list(self._asked):  # a run this test never made
                if run >= len(self.results):
                    for index in self._asked.pop(run):
                        pool.workers[index].send(QUIT, {})
            self._serve(0.1)
        for worker in pool.workers:
            report = worker.reports.get("call") or worker.reports.get("setup")
            if report is not None and report.get("outcome") == "failed":
                problems.append(f"{worker.label} failed: {report.get('text', '').strip()}")
            elif "call" not in worker.reports and not (worker.lost or worker.closed):
                problems.append(
                    f"{worker.label} did not finish its test within {FINISH_TIMEOUT:g}s of this "
                    "one (it waited for a run this test did not make?)"
                )
        return problems

    def close(self) -> list[str]:
        """Stop every worker (their sessions end, then any process left is killed); what
        failed in a worker's teardown."""
        pool, self.pool = self.pool, None
        if pool is None:
            return []
        pool.stop()
        problems = []
        for worker in pool.workers:
            report = worker.reports.get("teardown")
            if report is not None and report.get("outcome") == "failed":
                problems.append(f"{worker.label} failed in teardown: {report.get('text', '')}")
        return problems


def _call_done(worker: Worker) -> bool:
    return worker.closed or worker.lost or "call" in worker.reports or _failed(worker, "setup")


def _failed(worker: Worker, when: str) -> bool:
    report = worker.reports.get(when)
    return report is not None and report.get("outcome") != "passed"


def _gone_before(worker: Worker, index: int) -> str:
    """Why ``worker`` cannot take part in run ``index`` (``""``: it can)."""
    if worker.lost:
        return f"{worker.label} was lost in an earlier run: it takes no part in run {index + 1}"
    if _failed(worker, "setup"):
        text = worker.reports["setup"].get("text", "")
        outcome = worker.reports["setup"].get("outcome")
        return f"{worker.label} {outcome} in set-up, before run {index + 1}:\n{text}"
    if "call" in worker.reports:
        text = worker.reports["call"].get("text", "")
        return f"{worker.label} ended its test before run {index + 1}:\n{text}"
    if worker.closed or worker.exited is not None:
        output = (worker.exited or {}).get("output", "")
        status = (worker.exited or {}).get("status", "?")
        return f"{worker.label} exited (status {status}) before run {index + 1}" + (
            f":\n{output}" if output else ""
        )
    return ""


def _parts(settings: LoadSettings) -> list[tuple[str, int, str]]:
    """What a run's processes share out, one each at least: ``(setting, value, advice)``."""
    users = "users" if settings.model == "closed" else "max_users"
    parts = [(users, settings.most_users, ": give at least one user per process")]
    if settings.iterations is not None:
        parts.append(("iterations", settings.iterations, ""))
    return parts


def _most(settings: LoadSettings) -> int:
    """Most processes a run can be spread over."""
    return min(value for _, value, _ in _parts(settings))


def _check_split(settings: LoadSettings, count: int) -> None:
    """Every worker must get some of the load."""
    if count <= 1:
        return
    for name, value, advice in _parts(settings):
        if value < count:
            raise ScaleError(f"{name}={value} cannot be spread over processes={count}{advice}")
