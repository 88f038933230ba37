"""``vu.http`` against a bare httpx loop, and what 1,000 users' clients cost to make.

1. A WSGI app served by waitress in a subprocess on 127.0.0.1; ``--users`` (4) sync users send
   ``--requests`` (4,000) GETs through ``vu.http`` in the engine, then the same number of threads
   send as many through bare ``httpx.Client`` loops. Printed: this process's CPU-seconds per
   1,000 requests of each and their ratio (goal: within 1.2x).
2. 1,000 users' clients made through the run's shared set-up (one SSL context, made once),
   beside 1,000 bare ``httpx.Client()`` (an SSL context each): CPU-seconds and RSS added
   (goal: under 2 s and 200 MB).

    python benchmarks/http_client.py [--users 4] [--requests 4000]

(Not ``http.py``: run as a script, it would hide the standard library's ``http``.)
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time

import httpx
import psutil

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._engine._http import HttpSetup
from pytest_loadtest._scenario._target import build_plan
from pytest_loadtest._settings._layers import resolve_settings

SERVER = """
import sys
from waitress import serve

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]

serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8, _quiet=True)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int) -> None:
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("the server did not start")


def engine_cpu(base_url: str, users: int, requests: int) -> float:
    """CPU-seconds of this process for ``requests`` GETs through ``vu.http``."""

    def get(vu: object) -> None:
        vu.http.get("/")  # type: ignore[attr-defined]

    settings = resolve_settings(
        [
            (
                "benchmark",
                {
                    "users": users,
                    "iterations": requests,
                    "monitor_interval": 0,
                    "seed": 1,
                    "base_url": base_url,
                },
            )
        ]
    )
    engine = Engine(build_plan(get), settings)
    cpu = time.process_time()
    result = engine.run()
    assert result.errors == 0, result.errors_by_type
    return time.process_time() - cpu


def bare_cpu(base_url: str, users: int, requests: int) -> float:
    """CPU-seconds of this process for as many GETs from bare httpx clients on threads."""
    share = requests // users

    def loop() -> None:
        with httpx.Client(base_url=base_url) as client:
            for _ in range(share):
                client.get("/").raise_for_status()

    threads = [threading.Thread(target=loop) for _ in range(users)]
    cpu = time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.process_time() - cpu


def clients_cost(count: int, shared: bool) -> tuple[float, float]:
    """``(CPU-s, RSS MB added)`` of making ``count`` clients."""
    process = psutil.Process()
    rss = process.memory_info().rss
    cpu = time.process_time()
    clients: list[object]
    if shared:
        setup = HttpSetup(base_url="https://example.com", app=None, is_async=False)
        clients = [setup.client_for(object()) for _ in range(count)]  # type: ignore[arg-type]
    else:
        clients = [httpx.Client(base_url="https://example.com") for _ in range(count)]
    spent = time.process_time() - cpu
    added = (process.memory_info().rss - rss) / 1e6
    del clients
    return spent, added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--requests", type=int, default=4000)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        wait_for(port)
        base_url = f"http://127.0.0.1:{port}"
        engine = engine_cpu(base_url, args.users, args.requests)
        bare = bare_cpu(base_url, args.users, args.requests)
    finally:
        server.terminate()
        server.wait(10)
    per = 1000 / args.requests
    print(f"{args.requests:,} GETs to a loopback waitress server, {args.users} users/threads")
    print(
        f"  CPU-s per 1,000 requests: vu.http {engine * per:.3f}, bare httpx {bare * per:.3f}, "
        f"ratio {engine / bare:.2f}  (goal <= 1.2)"
    )
    shared_cpu, shared_mb = clients_cost(1000, shared=True)
    bare_cpu_s, bare_mb = clients_cost(1000, shared=False)
    print("1,000 clients made")
    print(
        f"  vu.http (shared SSL context): {shared_cpu:.2f} CPU-s, +{shared_mb:.0f} MB "
        "(goal < 2 s, < 200 MB)"
    )
    print(f"  bare httpx.Client() each:     {bare_cpu_s:.2f} CPU-s, +{bare_mb:.0f} MB")


if __name__ == "__main__":
    main()
