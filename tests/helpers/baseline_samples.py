"""Synthetic load results for the baseline tests: exact distributions, chosen seeds.

Latencies are log-normal (a median and a long right tail, as services have); calls per
one-second window are a multinomial split of the total, so throughput has the spread of
independent arrivals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pytest_loadtest._baseline._entry import entries_from_results
from pytest_loadtest._baseline._metadata import RunMetadata
from pytest_loadtest._baseline._storage import Baseline
from pytest_loadtest._model._result import LoadResult, OperationStats
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._model._timeline import TimelineRow

MS = 1_000_000
TEST_ID = "tests/test_shop.py::test_shop"


def latencies_ns(
    seed: int, n: int, median_ms: float = 2.0, sigma: float = 0.5
) -> npt.NDArray[np.int64]:
    """``n`` log-normal latencies in ns around ``median_ms``."""
    rng = np.random.default_rng(seed)
    values: npt.NDArray[np.int64] = rng.lognormal(math.log(median_ms * MS), sigma, n).astype(
        np.int64
    )
    return values


def histogram(values_ns: npt.NDArray[np.int64]) -> LatencyHistogram:
    """A histogram holding exactly ``values_ns``."""
    hist = LatencyHistogram()
    hist.fold_ns(values_ns)
    return hist


def _timeline(seed: int, calls: int, errors: int, seconds: int) -> list[TimelineRow]:
    rng = np.random.default_rng(seed + 1_000_003)
    split = rng.multinomial(calls, [1 / seconds] * seconds)
    failed = rng.multinomial(errors, [1 / seconds] * seconds)
    nan = math.nan
    return [
        TimelineRow(float(t), int(c), int(e), 10, nan, nan, nan, nan)
        for t, (c, e) in enumerate(zip(split, failed, strict=True))
    ]


def result(
    seed: int,
    *,
    n: int = 20_000,
    slower: float = 1.0,
    error_rate: float = 0.0,
    seconds: int = 10,
    operations: Mapping[str, float] | None = None,
    test_id: str = TEST_ID,
    name: str = "shop",
    users: int = 10,
) -> LoadResult:
    """A finished run of ``n`` calls over ``seconds``: each operation (name -> median ms) gets
    an equal share, ``slower`` multiplies every latency, ``error_rate`` of the calls failed."""
    ops = dict(operations or {name: 2.0})
    total = LatencyHistogram()
    stats: dict[str, OperationStats] = {}
    total_errors = 0
    for index, (op_name, median_ms) in enumerate(ops.items()):
        share = n // len(ops)
        values = latencies_ns(seed * 100 + index, share, median_ms * slower)
        hist = histogram(values)
        errors = round(share * error_rate)
        total_errors += errors
        total.add(hist)
        stats[op_name] = OperationStats(
            name=op_name,
            kind="task",
            histogram=hist,
            errors=errors,
            duration=float(seconds),
            timeline=_timeline(seed * 100 + index, share, errors, seconds),
        )
    return LoadResult(
        name=name,
        histogram=total,
        errors=total_errors,
        duration=float(seconds),
        operations=stats,
        timeline=_timeline(seed, total.count, total_errors, seconds),
        settings={"model": "closed", "users": users, "duration": float(seconds), "warmup": 0.0},
        users=users,
        test_id=test_id,
    )


def saved_run(
    seed: int,
    slower: float = 1.0,
    *,
    operations: Mapping[str, float] | None = None,
    n: int = 2_000,
) -> Baseline:
    """A saved run read back, holding :func:`result` of ``n`` calls."""
    entries = entries_from_results([result(seed, n=n, slower=slower, operations=operations)])
    return Baseline(
        path=Path(f"{seed:04d}_ab.json"),
        number=seed,
        name="ab",
        metadata=RunMetadata.collect("m"),
        entries={entry.key: entry for entry in entries},
    )
