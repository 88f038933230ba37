"""The coordinator's greeting of a worker: another plugin version, or a worker that speaks
first of something else, is a clear error naming the worker and its host."""

from __future__ import annotations

import pytest

pytest.importorskip("execnet")

from pytest_loadtest._scale._places import Place
from pytest_loadtest._scale._pool import Pool, PoolError, Worker
from pytest_loadtest._scale._wire import HELLO, PROTOCOL


def _hello(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "version": "1.2.3",
        "protocol": PROTOCOL,
        "pid": 4242,
        "host": "loadgen1",
        "executable": "/opt/venv/bin/python",
    }
    data.update(changes)
    return data


def test_a_worker_of_the_same_version_is_greeted() -> None:
    pool = Pool({}, "1.2.3")
    worker = Worker(0, Place("ssh=loadgen1"))
    pool._greet(worker, HELLO, _hello())
    assert (worker.pid, worker.host) == (4242, "loadgen1")
    assert worker.label == "worker 0 (ssh=loadgen1, host loadgen1, pid 4242)"


def test_another_plugin_version_is_refused_naming_the_host() -> None:
    pool = Pool({}, "1.2.3")
    with pytest.raises(PoolError) as caught:
        pool._greet(Worker(1, Place("ssh=loadgen1")), HELLO, _hello(version="1.2.0"))
    assert str(caught.value) == (
        "worker 1 (ssh=loadgen1, host loadgen1) has pytest-loadtest 1.2.0 (python "
        "/opt/venv/bin/python), this session 1.2.3: install the same version on every host"
    )
    with pytest.raises(PoolError, match="has pytest-loadtest none"):
        pool._greet(Worker(1, Place("popen")), HELLO, _hello(version="none (ImportError)"))


def test_a_worker_must_say_hello_first() -> None:
    with pytest.raises(PoolError, match=r"worker 0 \(popen\) said 'ready' first"):
        Pool({}, "1")._greet(Worker(0, Place("popen")), "ready", {})
