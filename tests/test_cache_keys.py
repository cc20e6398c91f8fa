"""The internal cache key's cookies (IMGPROXY_CACHE_KEY_COOKIES) read as Go's net/http reads a
request's cookies, and in linear time whatever the ``Cookie`` header holds."""

from __future__ import annotations

import http.client
from collections.abc import Callable
from pathlib import Path

import pytest

from imgproxy_py.cluster.keys import key_cookies
from tests.servers import AppServer


@pytest.mark.parametrize(("headers", "expected"), [
    (["plan=pro; other=1"], {"plan": "pro"}),
    (["other=1;plan=pro;plan=free"], {"plan": "pro"}),  # the first of a name, as Request.Cookie
    (['plan="pro"'], {"plan": "pro"}),  # enclosing quotes dropped
    (['plan="pro'], {}),  # a quote, a backslash or a control character: no such cookie
    (["plan=a\\b"], {}),
    (["plan=a\x01b"], {}),
    (["plan=a b, c"], {"plan": "a b, c"}),  # spaces and commas pass, as in Go
    (["plan"], {"plan": ""}), (["=pro"], {}), ([""], {}), ([" plan = pro "], {"plan": " pro"}),
    (["x=1", "plan=pro"], {"plan": "pro"}),  # every Cookie header line
    (["plan=pro; tenant=t1"], {"plan": "pro", "tenant": "t1"}),
    (["plan=pro" + "; x=1" * 3000], {}),  # past Go's 3000 cookies a request has none
])
def test_key_cookies_as_go_reads_them(headers: list[str], expected: dict[str, str]) -> None:
    assert key_cookies(headers, ("plan", "tenant")) == expected


def test_no_key_cookies_reads_nothing() -> None:
    assert key_cookies(["plan=pro"], ()) == {}


def test_a_cookie_of_backslashes_is_answered_at_once(start_server: Callable[..., AppServer], tmp_path: Path) -> None:
    """500 KB of backslashes in a quoted cookie: Starlette's parser unquoted it in quadratic time
    on the event loop (32 KB took 2 s; this, minutes) whenever the internal cache was on."""
    server = start_server(IMGPROXY_CACHE_USE="fs", IMGPROXY_CACHE_FS_ROOT=str(tmp_path),
                          IMGPROXY_CACHE_KEY_COOKIES="plan")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", "/unsafe/rs:fit:20:20/plain/local:///core/hopper.jpg",
                           headers={"Cookie": 'plan="' + "\\" * 500_000 + '"'})
        response = connection.getresponse()
        assert response.status == 200 and response.read()[:2] == b"\xff\xd8"
    finally:
        connection.close()
