"""``vu.http``: a per-user HTTP client on httpx, each request an operation of its own.

A user's first use of ``vu.http`` makes its client: an ``httpx.Client`` for a sync target, an
``httpx.AsyncClient`` for an async one (``await vu.http.get(...)``). Clients keep their cookies
per user and share, across the run's users, one SSL context and one set of connection limits
(building an SSL context per client cost ~30 ms of CPU and 0.8 MB each). Where requests go:

- ``app=``: an ASGI app (FastAPI, Starlette) in process through ``httpx.ASGITransport`` for
  async targets, or a WSGI app (Flask, Django) through ``httpx.WSGITransport`` for sync ones;
- ``base_url=``: any server (``--load-base-url`` turns an in-process test into a networked one);
- neither: absolute URLs.

Each request is timed as an operation ``"METHOD path"`` (``name=`` replaces the path, Locust's
way of grouping ``/items/1``, ``/items/2`` as ``/items/{id}``), a child of the running task. A
response with a status >= 400 is an error of that operation of type ``"HTTP <status>"``
(``expect=`` a status or a set of them changes which statuses are fine); ``check=`` is called
with the response and fails it by raising (Locust's ``catch_response``). A transport error
(refused, timeout) is an error of the operation and is raised on, so the task fails too.

httpx is the ``http`` extra: it is imported on first use, with a clear error when missing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, Final, final
from urllib.parse import urlsplit

from pytest_loadtest._model._text import safe_text
from pytest_loadtest._settings._parsers import app_kind

if TYPE_CHECKING:
    from pytest_loadtest._engine._users import VirtualUser
    from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["AsyncHttp", "HttpError", "HttpSetup", "SyncHttp", "check_app"]

#: Longest operation name made from a request.
MAX_NAME: Final = 200
#: Characters of a failed response's body kept in its error message.
BODY_SHOWN: Final = 200
#: Seconds a request may take before it fails with a timeout (k6's default; httpx's own is 5 s,
#: which a loaded service passes long before it is down).
TIMEOUT: Final = 60.0
#: ``base_url`` of an in-process app when none is given (httpx needs a host).
APP_URL: Final = "http://app"

Check = Callable[[Any], object]


class HttpError(Exception):
    """A response whose status was not expected; recorded under the type ``"HTTP <status>"``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.type_name = f"HTTP {status}"


def check_app(app: object, is_async: bool) -> None:
    """``ValueError`` when ``app`` is not an app the target's users can call."""
    kind = app_kind(app)
    if kind == "asgi" and not is_async:
        raise ValueError("app= is an ASGI app: the target's tasks must be async (async def)")
    if kind == "wsgi" and is_async:
        raise ValueError("app= is a WSGI app: the target's tasks must be sync (def)")


def _httpx() -> Any:
    try:
        import httpx
    except ImportError:
        raise ImportError("vu.http needs httpx: pip install 'pytest-loadtest[http]'") from None
    return httpx


@final
class HttpSetup:
    """One run's HTTP set-up: where requests go, and what every user's client shares."""

    def __init__(self, *, base_url: str | None, app: object, is_async: bool) -> None:
        self.base_url = base_url
        self.app = None if base_url else app  # a base URL (the command line's) beats an app
        self.is_async = is_async
        self._lock = threading.Lock()
        self._shared: dict[str, Any] | None = None

    @classmethod
    def of(cls, settings: LoadSettings, is_async: bool) -> HttpSetup:
        """The set-up ``settings`` ask for (``base_url``, ``app``)."""
        return cls(base_url=settings.base_url, app=settings.app, is_async=is_async)

    def _options(self) -> dict[str, Any]:
        """What every client shares: one SSL context, limits, the app's transport."""
        with self._lock:
            if self._shared is None:
                httpx = _httpx()
                shared: dict[str, Any] = {"base_url": self.base_url or "", "timeout": TIMEOUT}
                if self.app is not None:
                    transport = httpx.ASGITransport if self.is_async else httpx.WSGITransport
                    shared["transport"] = transport(app=self.app)
                    shared["base_url"] = APP_URL
                else:
                    import ssl

                    shared["verify"] = ssl.create_default_context()
                self._shared = shared
            return self._shared

    def client_for(self, vu: VirtualUser) -> SyncHttp | AsyncHttp:
        """A new client for ``vu`` (its own cookies)."""
        httpx = _httpx()
        options = self._options()
        client = (httpx.AsyncClient if self.is_async else httpx.Client)(**options)
        return (AsyncHttp if self.is_async else SyncHttp)(vu, client)


class _Http:
    """What the sync and async clients share: naming, timing and judging requests."""

    def __init__(self, vu: VirtualUser, client: Any) -> None:
        self.vu = vu
        self.client = client

    @property
    def cookies(self) -> Any:
        """This user's cookies (``httpx.Cookies``)."""
        return self.client.cookies

    def _op(self, method: str, url: object, name: str | None) -> int:
        if name is None:
            name = urlsplit(str(url)).path or "/"  # relative or absolute: without its query
        label = safe_text(f"{method.upper()} {name}", MAX_NAME)
        vu = self.vu
        parent = vu._outer if vu._outer is not None else vu.current
        return vu._recorder.operation(label, "step", parent)

    def _done(self, op: int, t0: int, error: BaseException | None) -> None:
        """A request of ``op`` that began at ``t0`` is over: its time, and its error if any."""
        vu = self.vu
        vu.buffer(op).append(vu._clock() - t0)
        if error is not None:
            vu.record_error(op, t0, error, getattr(error, "type_name", None))

    def _judge(
        self, response: Any, method: str, expect: int | Collection[int] | None, check: Check | None
    ) -> BaseException | None:
        """The error this response is, or None."""
        status = int(response.status_code)
        fine = (
            status < 400
            if expect is None
            else status in ({expect} if isinstance(expect, int) else set(expect))
        )
        if not fine:
            body = safe_text(response.text[:BODY_SHOWN], BODY_SHOWN)
            url = response.request.url
            return HttpError(status, f"{method.upper()} {url} -> {status}: {body}")
        if check is not None:
            try:
                check(response)
            except Exception as exc:  # the check failed the response
                return exc
        return None


@final
class SyncHttp(_Http):
    """``vu.http`` of a sync target: ``vu.http.get("/items/1")``."""

    def request(
        self,
        method: str,
        url: str,
        *,
        name: str | None = None,
        expect: int | Collection[int] | None = None,
        check: Check | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send a request, timed as operation ``"METHOD path"`` (or ``"METHOD name"``)."""
        op, t0 = self._op(method, url, name), self.vu._clock()
        try:
            response = self.client.request(method, url, **kwargs)
        except Exception as exc:
            self._done(op, t0, exc)
            raise
        self._done(op, t0, self._judge(response, method, expect, check))
        return response

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Any:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.request("DELETE", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> Any:
        return self.request("HEAD", url, **kwargs)


@final
class AsyncHttp(_Http):
    """``vu.http`` of an async target: ``await vu.http.get("/items/1")``."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        name: str | None = None,
        expect: int | Collection[int] | None = None,
        check: Check | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send a request, timed as operation ``"METHOD path"`` (or ``"METHOD name"``)."""
        op, t0 = self._op(method, url, name), self.vu._clock()
        try:
            response = await self.client.request(method, url, **kwargs)
        except Exception as exc:
            self._done(op, t0, exc)
            raise
        self._done(op, t0, self._judge(response, method, expect, check))
        return response

    async def get(self, url: str, **kwargs: Any) -> Any:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Any:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> Any:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> Any:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", url, **kwargs)

    async def head(self, url: str, **kwargs: Any) -> Any:
        return await self.request("HEAD", url, **kwargs)
