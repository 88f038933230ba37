"""Workers on other "hosts": execnet socket servers on 127.0.0.1 that the test starts and
stops, so that the remote path (a connection instead of a pipe, the clock offset estimated over
the channel, the merge) runs here."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

execnet = pytest.importorskip("execnet")

SERVER = Path(execnet.__file__).parent / "script" / "socketserver.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    give_up = time.monotonic() + 30
    while time.monotonic() < give_up and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except OSError:
            time.sleep(0.05)
        else:
            # that probe was a connection the server served (and ended): it is listening
            return
    raise RuntimeError(f"the socket server on port {port} did not start")


@pytest.fixture
def hosts(pytester: pytest.Pytester) -> Iterator[list[str]]:
    """Two execnet socket servers (``--load-tx socket=127.0.0.1:PORT``), stopped after."""
    servers, specs = [], []
    try:
        for _ in range(2):
            port = _free_port()
            process = subprocess.Popen(
                [sys.executable, str(SERVER), f"127.0.0.1:{port}"],
                cwd=pytester.path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            servers.append(process)
            _wait_listening(port, process)
            specs.append(f"--load-tx=socket=127.0.0.1:{port}")
        yield specs
    finally:
        for process in servers:
            process.kill()
            process.wait(10)


ON_HOSTS = """
import pytest

@pytest.mark.load(users=4, iterations=200)
def test_load(load_runner):
    result = load_runner.run(lambda: None)
    assert result.total == 200
    assert [w["place"].split(":")[0] for w in result.workers] == ["socket=127.0.0.1"] * 2
    assert sum(w["calls"] for w in result.workers) == 200
    assert all(w["skew_ms"] is not None and abs(w["offset_ms"]) < 1000 for w in result.workers)
"""


def test_workers_on_socket_hosts_run_their_share_and_merge(
    pytester: pytest.Pytester, hosts: list[str]
) -> None:
    pytester.makepyfile(test_hosts=ON_HOSTS)
    # --load-tx and no processes of the test's own: one worker per place
    result = pytester.runpytest_subprocess("-m", "load", *hosts, timeout=120)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*2 worker processes*", "  worker 0 socket=127.0.0.1:* pid *"])


ONE_HOST = """
import pytest

@pytest.mark.load(users=4, iterations=100)
def test_load(load_runner):
    result = load_runner.run(lambda: None)
    print("PLACES", [w["place"] for w in result.workers])
"""


def test_one_place_is_one_worker_there_and_n_star_socket_is_n(
    pytester: pytest.Pytester, hosts: list[str]
) -> None:
    pytester.makepyfile(test_one=ONE_HOST)
    place = hosts[0].split("=", 1)[1]  # socket=127.0.0.1:PORT
    # one place: the load runs there, not in this process
    result = pytester.runpytest_subprocess("-m", "load", "-s", hosts[0], timeout=120)
    result.assert_outcomes(passed=1)
    assert f"PLACES ['{place}']" in result.stdout.str()
    # a socket server serves one connection at a time: each worker is a fresh interpreter
    # started through it
    result = pytester.runpytest_subprocess("-m", "load", "-s", f"--load-tx=2*{place}", timeout=120)
    result.assert_outcomes(passed=1)
    assert f"PLACES ['{place}', '{place}']" in result.stdout.str()
