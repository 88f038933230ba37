"""``vu.http``'s pieces without a run: telling apps apart, naming requests, a missing httpx."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from pytest_loadtest._engine._http import HttpSetup, check_app
from pytest_loadtest._settings._parsers import app_kind, parse_base_url


def wsgi(environ: Any, start_response: Any) -> list[bytes]:
    return []


async def asgi(scope: Any, receive: Any, send: Any) -> None:
    pass


class AsgiClass:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        pass


def test_asgi_and_wsgi_apps_are_told_apart() -> None:
    assert app_kind(wsgi) == "wsgi"
    assert app_kind(asgi) == "asgi"
    assert app_kind(AsgiClass()) == "asgi"
    with pytest.raises(ValueError, match="not an ASGI or WSGI app"):
        app_kind(42)
    with pytest.raises(ValueError, match="is not an ASGI app"):
        app_kind(lambda: None)


def test_the_app_must_suit_the_target() -> None:
    check_app(wsgi, is_async=False)
    check_app(asgi, is_async=True)
    with pytest.raises(ValueError, match="ASGI app: the target's tasks must be async"):
        check_app(asgi, is_async=False)
    with pytest.raises(ValueError, match="WSGI app: the target's tasks must be sync"):
        check_app(wsgi, is_async=True)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "https://staging.example.com/api"])
def test_base_urls(url: str) -> None:
    assert parse_base_url(url) == url
    assert parse_base_url("") is None


@pytest.mark.parametrize("url", ["ftp://example.com", "example.com", "http://", 3])
def test_bad_base_urls(url: object) -> None:
    with pytest.raises(ValueError, match="URL"):
        parse_base_url(url)


def test_without_httpx_vu_http_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)  # import httpx now fails
    setup = HttpSetup(base_url="http://127.0.0.1:1", app=None, is_async=False)
    with pytest.raises(ImportError, match=r"pip install 'pytest-loadtest\[http\]'"):
        setup.client_for(object())  # type: ignore[arg-type]


def test_a_base_url_beats_an_app() -> None:
    setup = HttpSetup(base_url="http://127.0.0.1:1", app=wsgi, is_async=False)
    assert setup.app is None


def test_app_and_base_url_in_one_layer_is_an_error_a_higher_base_url_wins() -> None:
    from pytest_loadtest._settings._layers import Layers, SettingError

    marker = ("@pytest.mark.load", {"app": wsgi, "base_url": "http://127.0.0.1:1"})
    with pytest.raises(SettingError, match=r"app= and base_url='http://127\.0\.0\.1:1' both say"):
        Layers(below=(marker,)).resolve()
    above = (("--load-base-url", {"base_url": "http://127.0.0.1:2"}),)
    below = (("@pytest.mark.load", {"app": wsgi}),)
    settings = Layers(above=above, below=below).resolve()
    assert settings.base_url == "http://127.0.0.1:2"
    assert HttpSetup.of(settings, is_async=False).app is None
