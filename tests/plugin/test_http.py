"""``vu.http``: requests to an app in process (WSGI for sync targets, ASGI for async ones) or a
base URL, each an operation of its own; statuses and checks as errors (issue 14, point 1)."""

from __future__ import annotations

import socket

import pytest

pytest.importorskip("httpx", reason="vu.http needs httpx (the http extra)")

WSGI_APP = """
def app(environ, start_response):
    path = environ["PATH_INFO"]
    cookie = environ.get("HTTP_COOKIE", "")
    if path.startswith("/items/"):
        status, body, headers = "200 OK", b"item", []
    elif path == "/login":
        user = environ["QUERY_STRING"].partition("=")[2]
        status, body, headers = "200 OK", b"in", [("Set-Cookie", f"user={user}; Path=/")]
    elif path == "/whoami":
        status, body, headers = "200 OK", cookie.encode(), []
    else:
        status, body, headers = "404 Not Found", b"no such page", []
    start_response(status, [("Content-Type", "text/plain"), *headers])
    return [body]
"""


def test_requests_to_a_wsgi_app_are_operations_with_their_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_web=WSGI_APP
        + """
import pytest

def test_web(load_runner):
    def check_body(response):
        if response.text != "item":
            raise ValueError("not an item")

    def visit(vu):
        vu.http.get(f"/items/{vu.iteration}", name="/items/{id}", check=check_body)
        vu.http.get("/missing")
        vu.http.get("/missing", name="/missing (expected)", expect=404)
        vu.http.get("/login?user=u" + str(vu.id))
        me = vu.http.get("/whoami")
        assert me.text == f"user=u{vu.id}", me.text  # each user keeps its own cookies

    result = load_runner.run(visit, users=3, iterations=30, app=app)
    ops = result.operations
    assert ops["visit"].errors == 0, ops["visit"].errors_by_type
    assert ops["GET /items/{id}"].total == 30 and ops["GET /items/{id}"].errors == 0
    missing = ops["GET /missing"]
    assert missing.errors == 30
    assert set(missing.errors_by_type) == {"HTTP 404"}
    first = missing.errors_by_type["HTTP 404"].message
    assert "GET http://app/missing -> 404: no such page" in first
    assert ops["GET /missing (expected)"].errors == 0
    assert ops["GET /login"].total == 30
    assert ops["GET /items/{id}"].parent == "visit"
    print("OPS", sorted(ops))
"""
    )
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=1)


def test_a_failing_check_is_an_error_of_its_own_type(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_check=WSGI_APP
        + """
def test_check(load_runner):
    def wrong(response):
        raise LookupError("expected a list")

    result = load_runner.run(lambda vu: vu.http.get("/items/1", check=wrong), users=1,
                             iterations=5, app=app)
    errors = result.operations["GET /items/1"].errors_by_type
    assert set(errors) == {"LookupError"} and errors["LookupError"].count == 5
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_async_users_call_an_asgi_app_in_process(pytester: pytest.Pytester) -> None:
    pytest.importorskip("starlette")
    pytester.makepyfile(
        test_asgi="""
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def item(request):
    return JSONResponse({"id": int(request.path_params["id"])})

app = Starlette(routes=[Route("/items/{id}", item)])

def test_asgi(load_runner):
    async def visit(vu):
        response = await vu.http.get(f"/items/{vu.iteration}", name="/items/{id}")
        assert response.json() == {"id": vu.iteration}
        await vu.http.post("/items/1")  # 405: not allowed

    result = load_runner.run(visit, users=5, iterations=50, app=app)
    ops = result.operations
    assert ops["visit"].errors == 0, ops["visit"].errors_by_type
    assert ops["GET /items/{id}"].total == 50
    assert set(ops["POST /items/1"].errors_by_type) == {"HTTP 405"}
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def test_a_server_that_is_down_gives_connect_errors_and_the_run_ends(
    pytester: pytest.Pytester,
) -> None:
    """``--load-base-url`` beats the test's ``app=``: the same test against a server."""
    port = _closed_port()
    pytester.makepyfile(
        test_down=WSGI_APP
        + """
def test_down(load_runner):
    result = load_runner.run(lambda vu: vu.http.get("/items/1"), users=2, iterations=10,
                             app=app)
    errors = result.operations["GET /items/1"].errors_by_type
    assert set(errors) == {"ConnectError"}, errors
    assert result.operations["GET /items/1"].errors == 10
"""
    )
    result = pytester.runpytest(f"--load-base-url=http://127.0.0.1:{port}", "--load-no-sla")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--load-base-url=ftp://example.com",),
            "*--load-base-url*is not an http:// or https:// URL*",
        ),
    ],
)
def test_a_bad_base_url_is_a_usage_error(
    pytester: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    pytester.makepyfile(test_any="def test_any(): pass")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_an_app_that_is_no_app_is_a_usage_error_at_collection(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
import pytest

@pytest.mark.load(app=42, iterations=1)
def test_not_an_app(load_runner):
    load_runner.run(lambda vu: None)
"""
    )
    result = pytester.runpytest("--load-run-all")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*invalid app=42: 42 is not an ASGI or WSGI app*"])


def test_an_app_of_the_wrong_kind_for_the_target_fails_saying_so(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_bad=WSGI_APP
        + """
def test_wsgi_with_async_target(load_runner):
    async def visit(vu):
        await vu.http.get("/items/1")

    load_runner.run(visit, iterations=1, app=app)
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*app= is a WSGI app: the target's tasks must be sync (def)*"])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_serve_puts_an_app_on_a_loopback_port_for_a_block(
    pytester: pytest.Pytester, kind: str
) -> None:
    """Loopback tests through a real socket: waitress for WSGI, uvicorn for ASGI."""
    pytest.importorskip("uvicorn" if kind == "asgi" else "waitress")
    pytest.importorskip("starlette")
    app = (
        WSGI_APP
        if kind == "wsgi"
        else """
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

async def item(request):
    return PlainTextResponse("item")

app = Starlette(routes=[Route("/items/{id}", item)])
"""
    )
    target = "lambda vu: vu.http.get('/items/1', check=is_item)" if kind == "wsgi" else "visit"
    pytester.makepyfile(
        test_loopback=app
        + f"""
from pytest_loadtest import serve

def is_item(response):
    assert response.text == "item"

async def visit(vu):
    await vu.http.get("/items/1", check=is_item)

def test_loopback(load_runner):
    with serve(app) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        result = load_runner.run({target}, users=4, iterations=40, base_url=base_url)
    ops = result.operations
    assert ops["GET /items/1"].total == 40
    assert ops["GET /items/1"].errors == 0, ops["GET /items/1"].errors_by_type
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_an_asgi_apps_lifespan_runs_around_the_users(pytester: pytest.Pytester) -> None:
    """Started once before the first request, shut down after the last (app=, in process)."""
    pytest.importorskip("starlette")
    pytester.makepyfile(
        test_lifespan="""
import contextlib
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

events = []

@contextlib.asynccontextmanager
async def lifespan(app):
    events.append("startup")
    app.state.ready = True
    yield
    events.append("shutdown")

async def item(request):
    ready = getattr(request.app.state, "ready", False)
    return PlainTextResponse("ok" if ready else "not started", status_code=200 if ready else 503)

app = Starlette(routes=[Route("/items/{id}", item)], lifespan=lifespan)

def test_lifespan(load_runner):
    async def visit(vu):
        await vu.http.get("/items/1")

    result = load_runner.run(visit, users=3, iterations=30, app=app)
    assert result.operations["GET /items/1"].errors == 0, result.operations["GET /items/1"]
    assert events == ["startup", "shutdown"]

async def plain(scope, receive, send):  # no lifespan support: called without it
    if scope["type"] != "http":
        raise RuntimeError("only http")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})

def test_no_lifespan(load_runner):
    async def visit(vu):
        await vu.http.get("/")

    result = load_runner.run(visit, users=2, iterations=10, app=plain)
    assert result.operations["GET /"].errors == 0
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)
