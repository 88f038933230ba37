"""LoadResult and OperationStats: figures, SLA verdicts and the to_dict / from_dict round trip."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from pytest_loadtest._model._result import SCHEMA_VERSION, LoadResult, OperationStats
from pytest_loadtest._model._sla import parse_sla
from pytest_loadtest._model._stats import LatencyHistogram
from pytest_loadtest._model._timeline import ErrorSample, TimelineRow

MS = 1_000_000


def _hist(*ms: float) -> LatencyHistogram:
    hist = LatencyHistogram()
    hist.fold_ns(np.array([round(v * MS) for v in ms], dtype=np.int64))
    return hist


def _op(
    name: str, kind: str, hist: LatencyHistogram, errors: int = 0, **kwargs: Any
) -> OperationStats:
    return OperationStats(
        name=name, kind=kind, histogram=hist, errors=errors, duration=2.0, **kwargs
    )


def _result(**kwargs: Any) -> LoadResult:
    create = _hist(*[1.0] * 60, *[5.0] * 30, 50.0)
    read = _hist(*[2.0] * 9)
    step = _hist(*[0.5] * 60)
    overall = LatencyHistogram()
    overall.add(create)
    overall.add(read)
    operations = {
        "create": _op(
            "create",
            "task",
            create,
            errors=3,
            errors_by_type={
                "ValueError": ErrorSample(
                    "ValueError", 2, "bad input", "Traceback ...\nValueError"
                ),
                "KeyError": ErrorSample("KeyError", 1, "'k'", "tb"),
            },
            timeline=[TimelineRow(0.0, 91, 3, 2, 1.0, 5.0, 50.0, 50.0)],
        ),
        "read": _op("read", "task", read),
        "db": _op(
            "db",
            "step",
            step,
            errors=2,
            parent="create",
            errors_by_type={"ValueError": ErrorSample("ValueError", 2, "from step", "tb2")},
        ),
    }
    defaults: dict[str, Any] = {
        "name": "shop",
        "histogram": overall,
        "errors": 3,
        "duration": 2.0,
        "operations": operations,
        "timeline": [
            TimelineRow(0.0, 60, 3, 2, 1.0, 5.0, 5.0, 50.0, warmup=False),
            TimelineRow(1.0, 40, 0, 2, 2.0, math.nan, math.nan, 5.0),
        ],
        "settings": {"users": 2, "sources": {"users": "marker"}},
        "users": 2,
        "peak_active": 2,
        "idle_users": 1,
        "started_at": 1_700_000_000.5,
        "cpu_utilisation": 0.25,
        "test_id": "tests/test_shop.py::test_shop",
    }
    defaults.update(kwargs)
    result = LoadResult(**defaults)
    result.sla_breaches = result.evaluate_sla()
    return result


def test_figures() -> None:
    result = _result()
    assert result.total == 100
    assert result.errors == 3
    assert result.error_rate == 0.03
    assert result.throughput == 50.0
    assert result.max == 50.0
    assert result.min == 1.0
    assert result.p50 == pytest.approx(1.0, rel=1e-3)
    assert result.p95 == pytest.approx(5.0, rel=1e-3)
    op = result.operations["read"]
    assert (op.total, op.error_rate, op.throughput) == (9, 0.0, 4.5)
    summary = result.latency_summary()
    assert summary["max"] == 50.0
    assert summary["p999"] == 50.0


def test_empty_operation_figures() -> None:
    op = _op("x", "task", LatencyHistogram())
    assert (op.total, op.error_rate, op.throughput) == (0, 0.0, 0.0)
    assert set(op.latency_summary().values()) == {None}
    assert math.isnan(op.p99)
    zero = OperationStats("x", "task", _hist(1.0), 0, duration=0.0)
    assert zero.throughput == 0.0


def test_to_dict_is_json_serialisable() -> None:
    data = _result(sla=parse_sla({"p95": 1, "operations": {"read": {"max": 1}}})).to_dict()
    text = json.dumps(data)
    assert json.loads(text)["schema_version"] == SCHEMA_VERSION
    assert data["total"] == 100
    assert data["passed"] is False
    assert data["operations"]["create"]["errors_by_type"]["ValueError"]["count"] == 2
    assert data["timeline"][1]["p95"] is None


def test_to_dict_is_strict_json_when_an_operation_never_ran() -> None:
    result = _result(sla=parse_sla({"operations": {"delete": {"p95": 100}}}))
    assert result.sla_breaches[0].message.startswith("operation 'delete'")
    # NaN is not JSON: other consumers (browsers, jq) reject it
    json.dumps(result.to_dict(), allow_nan=False)


def test_round_trip_preserves_everything() -> None:
    sla = parse_sla({"p95": 1, "error_rate": "1%", "operations": {"read": {"max": 1}}})
    result = _result(sla=sla, hung={"create": 2}, interrupted=True, late_calls=4)
    data = json.loads(json.dumps(result.to_dict()))
    restored = LoadResult.from_dict(data)
    assert restored.to_dict() == data
    assert restored.total == result.total == 100
    assert restored.errors == 3
    assert restored.percentile(95) == result.percentile(95)
    assert restored.latency_summary() == result.latency_summary()
    assert list(restored.operations) == ["create", "read", "db"]
    db = restored.operations["db"]
    assert (db.kind, db.parent, db.total, db.errors) == ("step", "create", 60, 2)
    assert (
        restored.operations["create"].errors_by_type == result.operations["create"].errors_by_type
    )
    # as dicts: from Python 3.13 a dataclass's == compares field by field, and nan != nan
    assert restored.timeline[0].to_dict() == result.timeline[0].to_dict()
    assert math.isnan(restored.timeline[1].p95)
    assert restored.sla == sla
    assert restored.sla_breaches == result.sla_breaches
    assert [b.metric for b in restored.sla_breaches] == ["hung", "p95", "error_rate", "max"]
    assert not restored.passed
    assert restored.hung == {"create": 2}
    assert restored.interrupted
    assert restored.late_calls == 4
    assert (restored.users, restored.peak_active, restored.idle_users) == (2, 2, 1)
    assert restored.test_id == "tests/test_shop.py::test_shop"
    assert restored.settings == {"users": 2, "sources": {"users": "marker"}}


@pytest.mark.parametrize("version", [None, 0, 2, "1"])
def test_wrong_schema_version(version: object) -> None:
    data = _result().to_dict()
    data["schema_version"] = version
    with pytest.raises(ValueError, match="unsupported load result schema version"):
        LoadResult.from_dict(data)


def test_errors_by_type_excludes_steps_and_keeps_first_samples() -> None:
    result = _result()
    errors = result.errors_by_type
    assert {k: v.count for k, v in errors.items()} == {"ValueError": 2, "KeyError": 1}
    assert errors["ValueError"].message == "bad input"
    # the merged view is a copy: the operations' own samples are untouched
    assert result.operations["create"].errors_by_type["ValueError"].count == 2


def test_errors_by_type_sums_over_tasks_and_hooks() -> None:
    ops = {
        "a": _op("a", "task", _hist(1.0), 1, errors_by_type={"E": ErrorSample("E", 1, "a", "")}),
        "b": _op("b", "task", _hist(1.0), 1, errors_by_type={"E": ErrorSample("E", 4, "b", "")}),
        "h": _op("h", "hook", _hist(1.0), 1, errors_by_type={"F": ErrorSample("F", 1, "h", "")}),
    }
    result = LoadResult("r", _hist(1.0, 1.0), 2, 1.0, ops)
    assert {k: (v.count, v.message) for k, v in result.errors_by_type.items()} == {
        "E": (5, "a"),
        "F": (1, "h"),
    }


def test_no_call_completed_is_a_breach() -> None:
    empty = LoadResult("r", LatencyHistogram(), 0, 1.0, {})
    breaches = empty.evaluate_sla()
    assert [b.metric for b in breaches] == ["calls"]
    assert breaches[0].message == "no call of the target completed in the measured period"


def test_no_sla_and_calls_passes() -> None:
    result = _result()
    assert result.sla_breaches == []
    assert result.passed
    assert result.low_sample_checks() == []


def test_hung_breach_lists_operations() -> None:
    result = _result(hung={"read": 1, "create": 2})
    (breach,) = result.sla_breaches
    assert breach.metric == "hung"
    assert breach.measured == 3.0
    assert breach.message.endswith("create x2, read x1")


def test_sla_evaluated_against_overall_and_operations() -> None:
    result = _result(sla=parse_sla({"max": 10, "operations": {"read": {"p50": 1}}}))
    assert [(b.metric, b.operation) for b in result.sla_breaches] == [
        ("max", None),
        ("p50", "read"),
    ]
    assert [c.metric for c in result.low_sample_checks()] == ["p50"]
