"""SQLAlchemy instrumentation: :class:`DatabaseWatch` listens to one engine during a run.

Through SQLAlchemy's event API (imported only when a watch starts):

- ``before_cursor_execute`` / ``after_cursor_execute``: the time each statement spends in the
  driver's ``cursor.execute``, appended to a shared buffer as ``(sql, ns, operation)``; the
  statement is normalised (:func:`~pytest_loadtest._monitor._statements.normalise_sql`) only
  when the buffer is folded into per-statement HDR histograms, by a thread of the watch's own
  every ``flush_at`` statements and at ``stop()``, so the listener itself does two clock reads,
  two dict operations and an append, and no user's call pays for a fold. ``handle_error``
  drops the start time of a statement that raised and counts it.
- the operation running a statement is read from :data:`CURRENT_OPERATION`, a
  ``contextvars.ContextVar`` the engine sets around each call (:func:`set_operation`).
- pool ``checkout`` / ``checkin`` / ``connect``: connections checked out (peak overall and per
  timeline window), hold time from checkout to checkin, new connections opened.
- checkout wait and pool timeouts: the pool has no "checkout requested" event, and the
  ``sqlalchemy.exc.TimeoutError`` a full ``QueuePool`` raises is not a DBAPI error, so
  ``handle_error`` never sees it (``Connection.__init__`` passes only DBAPI errors to it). The
  watch therefore wraps the pool's ``connect`` method on the pool instance (restored at
  ``stop()``): it times every ``Pool.connect()`` call (waiting for a free connection, or opening
  a new one while the pool may grow), counts callers waiting at once, and counts the timeouts.
  ``Engine.connect()``, ``Session`` and ``raw_connection()`` all check out through it.

After the run, ``stop()`` removes every listener, then EXPLAINs the ``explain`` statements with
the largest total time on a connection of its own, with their first seen parameters; through
an async engine (or its ``sync_engine``), in a coroutine on an event loop
(:mod:`._explain_async`): the loop the users ran on if it still runs, else a new one.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, Final, final

import numpy as np

from pytest_loadtest._model._metrics import NS
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._monitor._explain import explain as explain_statement
from pytest_loadtest._monitor._explain_async import explain_async, running_loop
from pytest_loadtest._monitor._statements import (
    NO_OPERATION,
    DatabaseStats,
    PoolStats,
    StatementStats,
    normalise_sql,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = [
    "CURRENT_OPERATION",
    "DatabaseWatch",
    "operation",
    "reset_operation",
    "set_operation",
]

#: The operation (task, step or hook name) running in this context; ``None`` outside any.
CURRENT_OPERATION: ContextVar[str | None] = ContextVar("pytest_loadtest_operation", default=None)

_EXPLAINED_VERBS: Final = frozenset({"SELECT", "UPDATE", "DELETE", "WITH"})
_NORMALISED_CACHE_LIMIT: Final = 50_000


def set_operation(name: str | None) -> Token[str | None]:
    """Mark the current context as running operation ``name``; give the token to
    :func:`reset_operation` when the call ends."""
    return CURRENT_OPERATION.set(name)


def reset_operation(token: Token[str | None]) -> None:
    """Undo the :func:`set_operation` that returned ``token``."""
    CURRENT_OPERATION.reset(token)


@contextlib.contextmanager
def operation(name: str | None) -> Iterator[None]:
    """``with operation("checkout"):`` attributes the statements inside to ``"checkout"``."""
    token = CURRENT_OPERATION.set(name)
    try:
        yield
    finally:
        CURRENT_OPERATION.reset(token)


@final
class _Durations:
    """Durations appended lock-free by any thread, folded into a histogram by one."""

    def __init__(self, flush_at: int, wake: threading.Event) -> None:
        self.items: list[int] = []
        self.histogram = LatencyHistogram()
        self._flush_at = flush_at
        self._wake = wake

    def add(self, ns: int) -> None:
        self.items.append(ns)
        if len(self.items) >= self._flush_at:
            self._wake.set()

    def fold(self) -> None:
        """Fold what was appended (only the watch's folding thread, or ``stop()`` after it)."""
        n = len(self.items)
        batch = self.items[:n]
        del self.items[:n]  # appends racing with this land after the n taken
        self.histogram.fold_ns(np.asarray(batch, dtype=np.int64))


@final
class DatabaseWatch:
    """Statement latencies, statements per operation and pool use of one SQLAlchemy engine.

    ``start(start_ns)`` attaches the listeners; ``stop(end_ns)`` detaches them and returns a
    :class:`~pytest_loadtest._monitor._statements.DatabaseStats`. ``start_ns`` (the engine's
    clock, ``time.perf_counter_ns`` by default) places the pool's per-window peaks on the
    run's timeline. ``explain``: how many of the statements with the largest total time to
    EXPLAIN at ``stop()`` (0: none).
    """

    def __init__(
        self,
        engine: Engine | AsyncEngine,
        *,
        explain: int = 5,
        window: float = 1.0,
        flush_at: int = 8192,
        clock: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        # an AsyncEngine's events and pool are those of its sync_engine
        sync_engine: Any = getattr(engine, "sync_engine", engine)
        self.engine: Engine = sync_engine
        self._proxy: Any = engine if sync_engine is not engine else None  # the AsyncEngine
        self._is_async = bool(getattr(sync_engine.dialect, "is_async", False))
        self.explain = explain
        self.window = window
        self._flush_at = flush_at
        self._clock = clock
        self._running = False
        self._key = f"pytest_loadtest_watch_{id(self):x}"

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, start_ns: int | None = None) -> None:
        """Attach the listeners and start counting."""
        from sqlalchemy import event

        if self._running:
            raise RuntimeError("this DatabaseWatch is already running")
        self._start_ns = self._clock() if start_ns is None else start_ns
        self._buffer: list[tuple[str, int, str | None]] = []
        self._wake = threading.Event()
        self._stopping = False
        self._starts: dict[int, int] = {}
        self._first_parameters: dict[str, Any] = {}
        self._normalised: dict[str, str] = {}
        self._statements: dict[str, StatementStats] = {}
        self._errors = 0
        self._pool_lock = threading.Lock()
        self._loop: Any = None  # an async engine's: the event loop of its last checkout
        self._checked_out = 0
        self._waiting = 0
        self._pool = PoolStats(type(self.engine.pool).__name__)
        self._waits = _Durations(self._flush_at, self._wake)
        self._holds = _Durations(self._flush_at, self._wake)
        self._before_execute, self._after_execute = self._statement_listeners()
        self._listeners: list[tuple[Any, str, Callable[..., Any]]] = [
            (self.engine, "before_cursor_execute", self._before_execute),
            (self.engine, "after_cursor_execute", self._after_execute),
            (self.engine, "handle_error", self._on_error),
            (self.engine.pool, "checkout", self._on_checkout),
            (self.engine.pool, "checkin", self._on_checkin),
            (self.engine.pool, "connect", self._on_connect),
        ]
        for target, name, fn in self._listeners:
            event.listen(target, name, fn, retval=fn is self._before_execute)
        self._wrapped_pool = self.engine.pool
        self._wrap_pool_connect(self._wrapped_pool)
        self._folder = threading.Thread(
            target=self._fold_loop, name="loadtest-sql-fold", daemon=True
        )
        self._folder.start()
        self._running = True

    def stop(self, end_ns: int | None = None) -> DatabaseStats:
        """Detach everything, fold what is buffered, EXPLAIN the slowest statements."""
        from sqlalchemy import event
        from sqlalchemy.exc import InvalidRequestError

        if not self._running:
            raise RuntimeError("this DatabaseWatch is not running")
        self._running = False
        for target, name, fn in self._listeners:
            with contextlib.suppress(InvalidRequestError):  # the pool was recreated meanwhile
                event.remove(target, name, fn)
        if self._wrapped_pool.__dict__.get("connect") is self._connect_wrapper:
            del self._wrapped_pool.connect
        self._stopping = True
        self._wake.set()
        self._folder.join()
        self._fold_all()
        pool = self._pool
        self._fill_pool_settings(pool)
        pool.wait, pool.hold = self._waits.histogram, self._holds.histogram
        stats = DatabaseStats(
            name=self.engine.url.render_as_string(hide_password=True),
            dialect=self.engine.dialect.name,
            statements=self._statements,
            pool=pool,
            errors=self._errors,
        )
        self._explain_slowest(stats)
        return stats

    @property
    def errors(self) -> int:
        """Statements that raised so far."""
        return self._errors

    # -- statements ------------------------------------------------------------------------------
    def _statement_listeners(self) -> tuple[Callable[..., Any], Callable[..., Any]]:
        """The two hot listeners, as closures over what they touch (no attribute lookups)."""
        starts, buffer, first = self._starts, self._buffer, self._first_parameters
        clock, current, flush_at, wake = (
            self._clock,
            CURRENT_OPERATION.get,
            self._flush_at,
            self._wake,
        )

        def before_execute(
            conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
        ) -> tuple[str, Any]:
            starts[id(cursor)] = clock()
            return statement, parameters  # retval=True: saves SQLAlchemy a wrapper call

        def after_execute(
            conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
        ) -> None:
            began = starts.pop(id(cursor), None)
            if began is None:
                return  # started before the watch
            buffer.append((statement, clock() - began, current()))
            if statement not in first and len(first) < _NORMALISED_CACHE_LIMIT:
                # for EXPLAIN (one row of an executemany); racing writers store equal shapes
                first[statement] = parameters[0] if many and parameters else parameters
            if len(buffer) >= flush_at:
                wake.set()  # fold on the watch's own thread, not in the user's call

        return before_execute, after_execute

    def _on_error(self, context: Any) -> None:
        # ExceptionContext.cursor is declared but left unset by SQLAlchemy 2.1 (an
        # AttributeError here would replace the user's exception): read it defensively
        cursor = getattr(context, "cursor", None)
        if cursor is None:
            cursor = getattr(getattr(context, "execution_context", None), "cursor", None)
        if cursor is not None and self._starts.pop(id(cursor), None) is not None:
            with self._pool_lock:
                self._errors += 1

    def _fold_loop(self) -> None:
        """The folding thread: folds whenever a buffer is full, until ``stop()``."""
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            self._fold_all()

    def _fold_all(self) -> None:
        self._fold()
        self._waits.fold()
        self._holds.fold()

    def _fold(self) -> None:
        """Fold the statement buffer into the statements' histograms (one thread at a time:
        the folding thread, or ``stop()`` once it has ended)."""
        n = len(self._buffer)
        batch = self._buffer[:n]
        del self._buffer[:n]  # appends racing with this land after the n taken
        durations: dict[str, list[int]] = {}
        for statement, ns, op in batch:
            key = self._normalised.get(statement)
            if key is None:
                if len(self._normalised) > _NORMALISED_CACHE_LIMIT:
                    self._normalised.clear()  # textual SQL with literals: keep memory bounded
                key = self._normalised[statement] = normalise_sql(statement)
                if key not in self._statements:
                    self._statements[key] = StatementStats(key)
            durations.setdefault(key, []).append(ns)
            counts = self._statements[key].by_operation
            name = op if op is not None else NO_OPERATION
            counts[name] = counts.get(name, 0) + 1
        for key, values in durations.items():
            self._statements[key].histogram.fold_ns(np.asarray(values, dtype=np.int64))

    def _explain_slowest(self, stats: DatabaseStats) -> None:
        if self.explain <= 0:
            return
        raw_by_key: dict[str, str] = {}
        for raw in list(self._first_parameters):  # a copy: a late listener may still add one
            raw_by_key.setdefault(self._normalised.get(raw) or normalise_sql(raw), raw)
        candidates = sorted(
            (s for s in stats.statements.values() if s.verb in _EXPLAINED_VERBS),
            key=lambda s: s.total_ms,
            reverse=True,
        )
        chosen = [(s, raw_by_key[s.sql]) for s in candidates[: self.explain] if s.sql in raw_by_key]
        if self._is_async:  # in a coroutine, on an event loop
            plans = explain_async(
                self.engine,
                [(text, self._first_parameters[text]) for _, text in chosen],
                proxy=self._proxy,
                loop=self._loop,
            )
        else:
            plans = [
                explain_statement(self.engine, text, self._first_parameters[text])
                for _, text in chosen
            ]
        for (statement, _), plan in zip(chosen, plans, strict=True):
            statement.plan = plan

    # -- pool ------------------------------------------------------------------------------------
    def _window_of(self, now: int) -> float:
        return int((now - self._start_ns) / NS / self.window) * self.window

    def _on_checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        now = self._clock()
        record.info[self._key] = now
        if self._is_async:  # where EXPLAIN can use this pool after the run, if still running
            self._loop = running_loop() or self._loop
        window = self._window_of(now)
        with self._pool_lock:
            pool = self._pool
            self._checked_out += 1
            pool.checkouts += 1
            pool.peak_checked_out = max(pool.peak_checked_out, self._checked_out)
            if self._checked_out > pool.peak_by_window.get(window, 0):
                pool.peak_by_window[window] = self._checked_out

    def _on_checkin(self, dbapi_connection: Any, record: Any) -> None:
        began = record.info.pop(self._key, None) if record is not None else None
        if began is None:
            return  # checked out before the watch started
        self._holds.add(self._clock() - began)
        with self._pool_lock:
            self._checked_out = max(self._checked_out - 1, 0)

    def _on_connect(self, dbapi_connection: Any, record: Any) -> None:
        with self._pool_lock:
            self._pool.connects += 1

    def _wrap_pool_connect(self, pool: Any) -> None:
        from sqlalchemy.exc import TimeoutError as PoolTimeout

        original = pool.connect  # the bound method of the pool's class
        clock, waits, lock, stats = self._clock, self._waits, self._pool_lock, self._pool

        def connect() -> Any:
            with lock:
                self._waiting += 1
                stats.peak_waiting = max(stats.peak_waiting, self._waiting)
            began = clock()
            try:
                return original()
            except PoolTimeout:
                with lock:
                    stats.timeouts += 1
                raise
            finally:
                waits.add(clock() - began)
                with lock:
                    self._waiting -= 1

        self._connect_wrapper = connect
        pool.connect = connect  # an instance attribute shadows Pool.connect until stop()

    def _fill_pool_settings(self, stats: PoolStats) -> None:
        pool: Any = self._wrapped_pool
        # QueuePool exposes size() and timeout(); the overflow limit only as _max_overflow
        # (-1: unlimited). Other pools (NullPool, StaticPool...) have no fixed capacity.
        if hasattr(pool, "size") and hasattr(pool, "_max_overflow"):
            stats.size = int(pool.size())
            stats.max_overflow = int(pool._max_overflow)
        if hasattr(pool, "timeout"):
            stats.timeout_s = float(pool.timeout())
