"""Load results for the report tests: built from synthetic data, or measured by the engine."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from pytest_loadtest._model._result import LoadResult, OperationStats
from pytest_loadtest._model._sla import parse_sla
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._model._timeline import ErrorSample, TimelineRow
from pytest_loadtest._runner import LoadRunner

HOSTILE = "<script>alert(1)</script>"
#: Markup that would mark the page if a browser ever ran it.
HOSTILE_IMG = '<img src=x onerror="document.body.dataset.pwned=1">'


def _latencies_ns(rng: np.random.Generator, n: int, median_ms: float) -> np.ndarray[Any, Any]:
    values = rng.lognormal(math.log(median_ms * 1e6), 0.45, n)
    return values.astype(np.int64)


def _operation(
    rng: np.random.Generator,
    name: str,
    kind: str,
    *,
    calls_per_s: float,
    median_ms: float,
    seconds: int,
    users: list[int],
    errors: dict[str, tuple[int, str]] | None = None,
    parent: str | None = None,
) -> OperationStats:
    total = LatencyHistogram()
    timeline = []
    for t in range(seconds):
        load = users[t] / max(users)
        slow = 1.0 + 1.5 * load + (0.8 if 38 <= t < 44 else 0.0)  # a slow patch mid-run
        window = LatencyHistogram()
        window.fold_ns(_latencies_ns(rng, max(int(calls_per_s * load), 1), median_ms * slow))
        total.add(window)
        p50, p95, p99 = window.percentiles_ms([50, 95, 99])
        failed = 0
        if errors and 38 <= t < 44:
            failed = sum(count for count, _ in errors.values()) // 6
        timeline.append(
            TimelineRow(float(t), window.count, failed, users[t], p50, p95, p99, window.max_ms)
        )
    samples = {
        type_name: ErrorSample(
            type_name, count, message, f'Traceback:\n  File "shop.py"\n{type_name}: {message}'
        )
        for type_name, (count, message) in (errors or {}).items()
    }
    return OperationStats(
        name=name,
        kind=kind,
        histogram=total,
        errors=sum(sample.count for sample in samples.values()),
        duration=float(seconds),
        errors_by_type=samples,
        timeline=timeline,
        parent=parent,
    )


def synthetic_result(
    *, seconds: int = 60, test_id: str = "tests/test_shop.py::test_shop"
) -> LoadResult:
    """A one-minute run of a shop scenario: ramp-up, a slow patch with errors, SLA breaches."""
    rng = np.random.default_rng(7)
    users = [min(50, 5 * (t + 1)) for t in range(seconds)]
    errors = {"TimeoutError": (48, "payment service did not answer within 2s")}
    operations = {
        op.name: op
        for op in (
            _operation(
                rng, "browse", "task", calls_per_s=900, median_ms=6, seconds=seconds, users=users
            ),
            _operation(
                rng,
                "list",
                "step",
                calls_per_s=900,
                median_ms=2,
                seconds=seconds,
                users=users,
                parent="browse",
            ),
            _operation(
                rng,
                "open",
                "step",
                calls_per_s=900,
                median_ms=3.5,
                seconds=seconds,
                users=users,
                parent="browse",
            ),
            _operation(
                rng,
                "checkout",
                "task",
                calls_per_s=300,
                median_ms=18,
                seconds=seconds,
                users=users,
                errors=errors,
            ),
            _operation(rng, "login", "hook", calls_per_s=1, median_ms=25, seconds=1, users=users),
        )
    }
    overall = LatencyHistogram()
    timeline = []
    tasks = [operations["browse"], operations["checkout"]]
    for t in range(seconds):
        calls = sum(op.timeline[t].calls for op in tasks)
        failed = sum(op.timeline[t].errors for op in tasks)
        rows = [op.timeline[t] for op in tasks]
        timeline.append(
            TimelineRow(
                float(t),
                calls,
                failed,
                users[t],
                max(r.p50 for r in rows) * 0.8,
                max(r.p95 for r in rows),
                max(r.p99 for r in rows),
                max(r.max for r in rows),
                warmup=t < 5,
            )
        )
    for op in tasks:
        overall.add(op.histogram)
    result = LoadResult(
        name="shop",
        histogram=overall,
        errors=sum(op.errors for op in tasks),
        duration=float(seconds),
        operations=operations,
        timeline=timeline,
        settings={
            "model": "closed",
            "users": 50,
            "duration": float(seconds),
            "ramp_up": 10.0,
            "profile": [[0.0, 0.0], [10.0, 50.0]],
        },
        sla=parse_sla(
            {
                "p95": 40,
                "p99": "80ms",
                "error_rate": "1%",
                "throughput_min": 100,
                "operations": {"checkout": {"p95": "60ms", "p99.9": "150ms"}},
            }
        ),
        started_at=1_700_000_000.0,
        users=50,
        peak_active=50,
        test_id=test_id,
    )
    result.sla_breaches = result.evaluate_sla()
    return result


def measured_result(
    target: Callable[..., object] | dict[str, Callable[..., object]], **settings: Any
) -> LoadResult:
    """A result measured by the engine: two users for 0.3s unless told otherwise."""
    settings.setdefault("users", 2)
    settings.setdefault("duration", "0.3s")
    return LoadRunner(test_id=settings.pop("test_id", "")).run(target, **settings)


def catalog_result() -> LoadResult:
    """A short measured run of two read operations that meets its SLA."""

    def get() -> None:
        time.sleep(0.001)

    def search() -> None:
        time.sleep(0.003)

    return measured_result(
        {"get": get, "search": search},
        users=4,
        duration="1s",
        sla={"p95": 50, "error_rate": "1%"},
        test_id="tests/test_catalog.py::test_catalog_reads",
    )


def hostile_result() -> LoadResult:
    """A measured run whose test id, operation name and error message are markup."""

    def fail() -> None:
        raise RuntimeError(f"{HOSTILE} {HOSTILE_IMG}")

    return measured_result(
        {HOSTILE: fail, "ok | `tick`": lambda: None},
        test_id=f"tests/test_x.py::test_x[{HOSTILE}|`code`{HOSTILE_IMG}]",
        sla={"p95": 100, "operations": {HOSTILE: {"p99": "1s"}}},
    )


def broken_step_result() -> LoadResult:
    """A step of a capacity search that broke: aborted on a breach, the test itself passed."""
    from pytest_loadtest._model._abort import Abort

    result = synthetic_result(seconds=12, test_id="tests/test_shop.py::test_breaking_point")
    result.name = "search+browse @ 20 users"
    result.sla = parse_sla({"p95": "5ms", "error_rate": "5%"})  # p95 missed: what broke it
    result.aborted = Abort(
        at=1.117068516, since=1.0, grace=0.1, window=1.0, breaches=("p95 1.20s",)
    )
    result.probe = {"search": "capacity", "by": "users", "load": 20.0, "held": False}
    result.sla_breaches = result.evaluate_sla()
    return result
