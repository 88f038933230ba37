"""``serve(app)``: an ASGI or WSGI app on a free port of 127.0.0.1, for the length of a block.

For loopback tests through a real socket: ``with serve(app) as base_url:`` starts uvicorn (an
ASGI app) or waitress (a WSGI app) in a thread of this process, waits until it accepts
connections, yields ``"http://127.0.0.1:<port>"`` and stops the server after the block. Neither
server is a dependency: each is imported when asked for, with a clear error when missing.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, Final

from pytest_loadtest._settings._parsers import app_kind

__all__ = ["serve"]

#: Seconds a server gets to start accepting connections, and to stop.
START_TIMEOUT: Final = 15.0
#: Waitress's worker threads: a WSGI app serves this many requests at once.
WSGI_THREADS: Final = 32


@contextlib.contextmanager
def serve(app: object, *, host: str = "127.0.0.1", threads: int = WSGI_THREADS) -> Iterator[str]:
    """Serve ``app`` (ASGI through uvicorn, WSGI through waitress with ``threads`` workers) on
    a free port of ``host`` for the block; yields its base URL."""
    runner = _asgi(app, host) if app_kind(app) == "asgi" else _wsgi(app, host, threads)
    with runner as url:
        yield url


@contextlib.contextmanager
def _asgi(app: object, host: str) -> Iterator[str]:
    try:
        import uvicorn
    except ImportError:
        raise ImportError("serve() of an ASGI app needs uvicorn: pip install uvicorn") from None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="auto")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="loadtest-serve", daemon=True
    )
    thread.start()
    try:
        _wait(lambda: bool(server.started), thread, "uvicorn")
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()


@contextlib.contextmanager
def _wsgi(app: object, host: str, threads: int) -> Iterator[str]:
    try:
        from waitress.server import create_server  # type: ignore[import-untyped]
    except ImportError:
        raise ImportError("serve() of a WSGI app needs waitress: pip install waitress") from None
    server: Any = create_server(app, host=host, port=0, threads=threads)
    thread = threading.Thread(target=server.run, name="loadtest-serve", daemon=True)
    thread.start()
    try:
        port = server.effective_port
        _wait(lambda: _accepts(host, port), thread, "waitress")
        yield f"http://{host}:{port}"
    finally:
        server.close()
        thread.join(START_TIMEOUT)


def _accepts(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def _wait(ready: Any, thread: threading.Thread, name: str) -> None:
    give_up = time.monotonic() + START_TIMEOUT
    while not ready():
        if not thread.is_alive():
            raise RuntimeError(f"serve(): {name} stopped before it served (see its log above)")
        if time.monotonic() > give_up:
            raise RuntimeError(f"serve(): {name} did not start within {START_TIMEOUT:g}s")
        time.sleep(0.02)
