"""One run spread over workers, from its common start to its merged result: what each worker
streams (progress, its record so far) and hands over at the end, workers lost on the way, Ctrl-C,
and the one result built from the merged record (see :meth:`RunRecord.merge`)."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, final

from pytest_loadtest import _monitor
from pytest_loadtest._engine._build import build_result
from pytest_loadtest._engine._record import RunRecord
from pytest_loadtest._engine._share import Share
from pytest_loadtest._model._metrics import NS
from pytest_loadtest._model._progress import ProgressSnapshot
from pytest_loadtest._scale._wire import READY, RECORD, STOP, WINDOW, ScaleError

if TYPE_CHECKING:
    from pytest_loadtest._model._progress import Progress
    from pytest_loadtest._model._result import LoadResult
    from pytest_loadtest._scale._pool import Pool, Worker
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["SILENCE", "Gather"]

#: Seconds a running worker may stay silent (it streams twice a second), and past the run's end
#: plus ``stop_timeout`` the most it may take to hand over its record, before it counts as lost.
SILENCE: Final = 10.0
#: Seconds past ``stop_timeout`` that workers have to hand over their records after Ctrl-C.
INTERRUPT_GRACE: Final = 5.0


@final
class Gather:
    """Collects run ``index`` from ``workers`` (started at wall-clock ``at`` ns); see the module
    docstring."""

    def __init__(
        self,
        pool: Pool,
        workers: list[Worker],
        index: int,
        settings: LoadSettings,
        *,
        at: int,
        progress: Progress | None,
        name: str,
    ) -> None:
        self.pool = pool
        self.workers = workers
        self.index = index
        self.settings = settings
        self.at = at
        self.progress = progress
        self.name = name
        self.final: dict[int, dict[str, Any]] = {}
        self.partial: dict[int, RunRecord] = {}  # what each worker streamed so far
        self.shown: dict[int, dict[str, Any]] = {}
        self.lost: dict[int, tuple[float, str]] = {}
        self.heard = {w.index: time.monotonic() + (at - time.time_ns()) / NS for w in workers}
        self.interrupted = False
        #: a message of another run (a READY of a worker sitting this one out), for the
        #: coordinator to note
        self.note: Callable[[int, str, Any], None] = lambda index, kind, data: None
        self.cancelled = threading.Event()  # set: end the run now (why: ``cancel_why()``)
        self.cancel_why: Callable[[], str] = lambda: ""

    def collect(self, *, soak: bool) -> LoadResult:
        """Wait for every worker's record (or its loss); the merged result."""
        settings = self.settings
        end = max(self.heard.values()) + settings.duration + settings.stop_timeout + SILENCE
        try:
            self._wait(end)
        except KeyboardInterrupt:  # stop every worker, keep what they measured
            self.interrupted = True
            self._stop("")  # the run is interrupted, not stopped by something in it
            with contextlib.suppress(KeyboardInterrupt):  # a second: those not in are lost
                self._wait(time.monotonic() + settings.stop_timeout + INTERRUPT_GRACE)
            for worker in self._pending():
                self._lose(worker, "did not hand over its record after Ctrl-C")
        return self._result(soak)

    def _pending(self) -> list[Worker]:
        return [w for w in self.workers if w.index not in self.final and w.index not in self.lost]

    def _wait(self, end: float) -> None:
        cancelled = False
        while self._pending():
            message = self.pool.drain(0.2)
            now = time.monotonic()
            if message is not None:
                self._take(*message, now)
            if self.cancelled.is_set() and not cancelled:
                cancelled = True
                self._stop(self.cancel_why())
            for worker in self._pending():
                if worker.closed or worker.exited is not None:
                    status = (worker.exited or {}).get("status")
                    why = "its process exited" + (f" (status {status})" if status else "")
                    self._lose(worker, why)
                elif now - self.heard[worker.index] > SILENCE:
                    silent = now - self.heard[worker.index]
                    self._lose(worker, f"silent for {silent:.0f}s (hung, or its host is gone)")
                elif now > end:
                    self._lose(worker, "did not hand over its record within stop_timeout")

    def _take(self, index: int, kind: str, data: Any, now: float) -> None:
        if (
            not isinstance(data, dict)
            or int(data.get("run", -1)) != self.index
            or index not in self.heard  # a worker sitting this run out
            or kind == READY
        ):
            self.note(index, kind, data)
            return
        self.heard[index] = max(self.heard.get(index, now), now)
        if kind == RECORD:
            self.final[index] = data
            record = data.get("record") or {}
            if record.get("aborted") or record.get("stopped_by"):  # abort_on_breach, sys.exit()
                self._stop("")  # one worker's stop is the run's: its figures say why
        elif kind == WINDOW:
            if data.get("record") is not None:
                self._add_partial(index, RunRecord.from_dict(data["record"]))
            self.shown[index] = dict(data.get("progress") or {})
            self._show()

    def _add_partial(self, index: int, new: RunRecord) -> None:
        """A worker's figures so far: its histograms and counts (the latest), its timeline rows
        (each message carries the rows finished since the last)."""
        known = self.partial.get(index)
        if known is None:
            self.partial[index] = new
            return
        known.duration, known.started_at = new.duration, new.started_at
        known.timeline.extend(new.timeline)
        ops = {op.name: op for op in known.operations}
        for op in new.operations:
            if op.name in ops:
                op.timeline = ops[op.name].timeline + op.timeline
        known.operations = new.operations

    def _lose(self, worker: Worker, why: str) -> None:
        worker.lost = True
        worker.send(STOP, {"run": self.index, "why": ""})  # alive but late: no more load
        at = max(0.0, (time.time_ns() - self.at) / NS)
        self.lost[worker.index] = (at, f"{at:.1f}s into the run: {why}")

    def _stop(self, why: str) -> None:
        for worker in self._pending():
            worker.send(STOP, {"run": self.index, "why": why})

    def _show(self) -> None:
        progress = self.progress
        if progress is None or not self.shown or not progress.due():
            return
        parts = list(self.shown.values())
        rate = sum(float(p.get("calls_per_s") or 0.0) for p in parts)
        errors = sum(
            float(p.get("calls_per_s") or 0.0) * float(p.get("error_rate") or 0.0) for p in parts
        )
        p95 = [
            float(p["p95_ms"])
            for p in parts
            if p.get("p95_ms") is not None and math.isfinite(float(p["p95_ms"]))
        ]
        users = [p.get("users") for p in parts]
        progress.update(
            ProgressSnapshot(
                elapsed=max(float(p.get("elapsed") or 0.0) for p in parts),
                total=self.settings.duration,
                active_users=sum(int(p.get("active_users") or 0) for p in parts),
                calls_per_s=rate,
                error_rate=errors / rate if rate else 0.0,
                p95_ms=max(p95) if p95 else math.nan,  # the slowest worker's: an upper bound
                name=f"{self.name} [{len(self.workers)} processes]",
                users=sum(int(u) for u in users if u is not None) or None,
                iterations_total=self.settings.iterations,
            )
        )

    # -- the result ---------------------------------------------------------------------------
    def _result(self, soak: bool) -> LoadResult:
        parts: list[tuple[Worker, RunRecord | None]] = []
        watched: list[dict[str, Any]] = []
        for worker in self.workers:
            data = self.final.get(worker.index)
            record = None
            if data is not None:
                record = RunRecord.from_dict(data["record"])
                watched.append(_monitor.watched_from_dict(data["watched"]))
            elif worker.index in self.partial:
                record = self.partial[worker.index]
            parts.append((worker, record))
        records = [record for _, record in parts if record is not None]
        if not records:
            lost = "; ".join(f"{self.workers[k].label}: {why}" for k, (_, why) in self.lost.items())
            raise ScaleError(
                f"run {self.index + 1}: every worker was lost before it measured anything: {lost}"
            )
        merged = RunRecord.merge(records)
        merged.name = self.name
        merged.interrupted = merged.interrupted or self.interrupted
        result = build_result(
            merged,
            self.settings,
            watched=_monitor.merge_watched(watched) if watched else {},
            soak=soak,
        )
        result.gil_contention = any(bool(d.get("gil")) for d in self.final.values())
        result.workers = [self._entry(worker, record) for worker, record in parts]
        result.sla_breaches = result.evaluate_sla()  # a lost worker fails the run
        return result

    def _share(self, worker: Worker) -> int:
        """Users (or the open model's pool) this worker was given."""
        return Share(worker.index, len(self.workers)).count(self.settings.most_users)

    def _entry(self, worker: Worker, record: RunRecord | None) -> dict[str, Any]:
        data = self.final.get(worker.index, {})
        tasks = [op for op in record.operations if op.kind == "task"] if record else []
        started = int(data.get("started") or 0)
        lost = self.lost.get(worker.index)
        return {
            "worker": worker.index,
            "place": worker.place.label,
            "host": worker.host,
            "pid": worker.pid,
            "users": self._share(worker),
            "calls": sum(op.histogram.count for op in tasks),
            "errors": sum(op.errors for op in tasks),
            "cpu_s": float(data.get("cpu_s") or 0.0),
            "rss_mb": float(data.get("rss") or 0) / 1e6,
            "skew_ms": (started - worker.offset_ns - self.at) / 1e6 if started else None,
            "offset_ms": worker.offset_ns / 1e6,
            "rtt_ms": worker.rtt_ns / 1e6,
            "lost": lost[1] if lost else None,
            "lost_at": lost[0] if lost else None,
        }
