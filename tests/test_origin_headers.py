"""What goes to an http(s) origin and back: custom and passed-through headers, cookies (and the
origin's own, kept for one download), the User-Agent, keep-alive."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http.cookiejar import Cookie
from http.server import BaseHTTPRequestHandler

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgproxy_py import __version__
from imgproxy_py.config import load_config, read_config
from imgproxy_py.sources.cookies import FetchCookieJar, RequestCookie, cookie_header, fetch_cookies, read_cookies
from tests.conftest import asset
from tests.servers import AppServer, Origin, OriginResponse

JPEG = asset("hopper.jpg").read_bytes()


def sent_headers(origin: Origin, path: str) -> dict[str, str]:
    """The headers of the last request the origin got for ``path``, names lower-cased."""
    last = [headers for p, headers in origin.requests if p.split("?", 1)[0] == path][-1]
    return {name.lower(): value for name, value in last.items()}


def test_custom_and_passed_through_request_headers(client: httpx.Client, origin: Origin,
                                                   start_server: Callable[..., AppServer]) -> None:
    server = start_server(IMGPROXY_CUSTOM_REQUEST_HEADERS="X-Token=abc\\;X-Team=img",
                          IMGPROXY_REQUEST_HEADERS_PASSTHROUGH="X-Trace,Accept-Language",
                          IMGPROXY_USER_AGENT="proxy/%current_version (test)")
    url = origin.add("/hdr/a.jpg", JPEG)
    response = client.get(f"{server.base}/unsafe/w:10/plain/{url}",
                          headers={"X-Trace": "t-1", "Accept-Language": "fr", "X-Other": "no"})
    assert response.status_code == 200
    sent = sent_headers(origin, "/hdr/a.jpg")
    assert sent["x-token"] == "abc" and sent["x-team"] == "img"
    assert sent["x-trace"] == "t-1" and sent["accept-language"] == "fr" and "x-other" not in sent
    assert sent["user-agent"] == f"proxy/{__version__} (test)"


def test_response_headers_passthrough(client: httpx.Client, origin: Origin,
                                      start_server: Callable[..., AppServer]) -> None:
    server = start_server(IMGPROXY_RESPONSE_HEADERS_PASSTHROUGH="X-Origin-Id,Surrogate-Key")
    url = origin.add("/hdr/b.jpg", JPEG, headers={"X-Origin-Id": "42", "Surrogate-Key": "cats", "X-Secret": "s"})
    response = client.get(f"{server.base}/unsafe/w:10/plain/{url}")
    assert response.headers["x-origin-id"] == "42" and response.headers["surrogate-key"] == "cats"
    assert "x-secret" not in response.headers
    # A name spelled in another case replaces ours: one Cache-Control (the origin's), one ETag (ours).
    lower = start_server(IMGPROXY_RESPONSE_HEADERS_PASSTHROUGH="cache-control,etag")
    url = origin.add("/hdr/c.jpg", JPEG, headers={"Cache-Control": "max-age=60", "ETag": '"origin"'})
    response = client.get(f"{lower.base}/unsafe/w:10/plain/{url}")
    assert response.headers.get_list("cache-control") == ["max-age=60"]
    assert len(response.headers.get_list("etag")) == 1 and response.headers["etag"] != '"origin"'
    # Headers about the origin's body are never passed back: ours is another body.
    body = start_server(IMGPROXY_RESPONSE_HEADERS_PASSTHROUGH="Content-Length,Content-Type,Content-Encoding")
    url = origin.add("/hdr/d.jpg", JPEG, headers={"Content-Type": "image/jpeg", "Content-Encoding": "identity"})
    response = client.get(f"{body.base}/unsafe/w:10/plain/{url}@webp")
    assert response.headers["content-type"] == "image/webp" and "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(response.content)) != str(len(JPEG))


@pytest.mark.parametrize(
    ("env", "path", "passed"),
    [
        ({}, "/cookie/a.jpg", False),  # passthrough off
        # scope from the request's Host (127.0.0.1:<app port>): same host name, ports don't matter
        ({"IMGPROXY_COOKIE_PASSTHROUGH": "true"}, "/cookie/a.jpg", True),
        ({"IMGPROXY_COOKIE_PASSTHROUGH": "true", "IMGPROXY_COOKIE_BASE_URL": "http://other.example/"},
         "/cookie/a.jpg", False),
        # the base URL's directory is the cookies' path
        ({"IMGPROXY_COOKIE_PASSTHROUGH": "true", "IMGPROXY_COOKIE_BASE_URL": "http://127.0.0.1/cookie/page"},
         "/cookie/a.jpg", True),
        ({"IMGPROXY_COOKIE_PASSTHROUGH": "true", "IMGPROXY_COOKIE_BASE_URL": "http://127.0.0.1/cookies/page"},
         "/cookie/a.jpg", False),
        ({"IMGPROXY_COOKIE_PASSTHROUGH": "true", "IMGPROXY_COOKIE_BASE_URL": "http://other.example/",
          "IMGPROXY_COOKIE_PASSTHROUGH_ALL": "true"}, "/cookie/a.jpg", True),
    ],
)
def test_cookie_passthrough(client: httpx.Client, origin: Origin, start_server: Callable[..., AppServer],
                            env: dict[str, str], path: str, passed: bool) -> None:
    server = start_server(**env)
    url = origin.add(path, JPEG)
    response = client.get(f"{server.base}/unsafe/w:10/plain/{url}", headers={"Cookie": "session=s1; theme=dark"})
    assert response.status_code == 200
    assert (sent_headers(origin, path).get("cookie") == "session=s1; theme=dark") is passed


def test_forwarded_host_scopes_the_cookies(client: httpx.Client, origin: Origin,
                                           start_server: Callable[..., AppServer]) -> None:
    server = start_server(IMGPROXY_COOKIE_PASSTHROUGH="true")
    url = origin.add("/cookie/fwd.jpg", JPEG)
    client.get(f"{server.base}/unsafe/w:10/plain/{url}",
               headers={"Cookie": "a=1", "X-Forwarded-Host": "cdn.example.com"})
    assert "cookie" not in sent_headers(origin, "/cookie/fwd.jpg")
    # The right host, but a scheme a cookie jar takes no cookies for
    client.get(f"{server.base}/unsafe/w:11/plain/{url}", headers={"Cookie": "a=1", "X-Forwarded-Proto": "ftp"})
    assert "cookie" not in sent_headers(origin, "/cookie/fwd.jpg")
    client.get(f"{server.base}/unsafe/w:12/plain/{url}", headers={"Cookie": "a=1", "X-Forwarded-Proto": "https"})
    assert sent_headers(origin, "/cookie/fwd.jpg")["cookie"] == "a=1"


def test_an_origins_cookies_never_reach_another_request(client: httpx.Client, origin: Origin,
                                                        start_server: Callable[..., AppServer]) -> None:
    """A cookie the origin sets while serving one visitor's image (here a session it refreshes
    from the visitor's passed-through cookie) is not sent with anyone's next request."""
    server = start_server(IMGPROXY_COOKIE_PASSTHROUGH="true")
    url = origin.add("/jar/private.jpg", JPEG, headers={"Set-Cookie": "session=visitor-a-refreshed; Path=/"})
    response = client.get(f"{server.base}/unsafe/w:10/plain/{url}", headers={"Cookie": "session=visitor-a"})
    assert response.status_code == 200
    assert sent_headers(origin, "/jar/private.jpg")["cookie"] == "session=visitor-a"
    for path in ("/jar/private.jpg", "/jar/other.jpg"):  # another visitor, with no cookie
        url = origin.add(path, JPEG)
        assert client.get(f"{server.base}/unsafe/w:11/plain/{url}").status_code == 200
        assert "cookie" not in sent_headers(origin, path)


def test_a_cookie_set_by_a_redirect_is_sent_on_its_next_hop(client: httpx.Client, origin: Origin,
                                                            start_server: Callable[..., AppServer]) -> None:
    """An origin's "cookie challenge": a redirect that sets a cookie and wants it back, as
    imgproxy's per-download jar passes it; the next request has to pass it again."""
    def challenge(handler: BaseHTTPRequestHandler) -> OriginResponse:
        if "passed=1" in (handler.headers.get("Cookie") or ""):
            return OriginResponse(200, JPEG)
        return OriginResponse(302, b"", {"Location": "/jar/challenge.jpg", "Set-Cookie": "passed=1; Path=/"})

    origin.routes["/jar/challenge.jpg"] = challenge
    server = start_server()
    for width, requests in ((10, 2), (11, 4)):
        response = client.get(f"{server.base}/unsafe/w:{width}/plain/{origin.url('/jar/challenge.jpg')}")
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        assert origin.count("/jar/challenge.jpg") == requests


def test_passed_through_cookies_follow_a_redirect_on_the_same_host_only(
        client: httpx.Client, origin: Origin, start_server: Callable[..., AppServer]) -> None:
    """As Go's client for imgproxy: the first request's Cookie goes on to a redirect's target on
    the same host (httpx drops it on every redirect), and not to another host."""
    def members_only(handler: BaseHTTPRequestHandler) -> OriginResponse:
        allowed = "session=s1" in (handler.headers.get("Cookie") or "")
        return OriginResponse(200, JPEG) if allowed else OriginResponse(403, b"members only")

    origin.routes["/jar/members/photo-v2.jpg"] = members_only
    here = origin.add("/jar/members/photo.jpg", b"", status=302, headers={"Location": "/jar/members/photo-v2.jpg"})
    away = origin.add("/jar/members/away.jpg", b"", status=302,
                      headers={"Location": f"http://localhost:{origin.port}/jar/members/photo-v2.jpg"})
    server = start_server(IMGPROXY_COOKIE_PASSTHROUGH_ALL="true", IMGPROXY_COOKIE_PASSTHROUGH="true")
    response = client.get(f"{server.base}/unsafe/w:10/plain/{here}", headers={"Cookie": "session=s1; theme=dark"})
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert sent_headers(origin, "/jar/members/photo-v2.jpg")["cookie"] in ("session=s1; theme=dark",
                                                                          "theme=dark; session=s1")
    response = client.get(f"{server.base}/unsafe/w:11/plain/{away}", headers={"Cookie": "session=s1"})
    assert response.status_code == 403
    assert "cookie" not in sent_headers(origin, "/jar/members/photo-v2.jpg")


# Two Cookie lines (HTTP/2 clients send one per cookie) with every kind of cookie Go leaves out.
CLIENT_COOKIES = [("Cookie", 'plan=pro; bad="x\\y"; na me=1; note=a b; q="v"; ctl=\x01'),
                  ("Cookie", "plan=free; e=")]


@pytest.mark.parametrize(("passthrough_all", "sent"), [
    # imgproxy's cookie jar: one cookie of a name, the last value in the first one's place
    ("false", 'plan=free; note="a b"; q="v"; e='),
    # _PASSTHROUGH_ALL's list: every valid cookie, in order
    ("true", 'plan=pro; note="a b"; q="v"; plan=free; e='),
])
def test_passed_through_cookies_are_those_go_reads(client: httpx.Client, origin: Origin,
                                                   start_server: Callable[..., AppServer],
                                                   passthrough_all: str, sent: str) -> None:
    """The origin gets the cookies Go's Request.Cookies reads for imgproxy, written again as Go's
    client writes them (a value with a space is quoted), not the client's raw header."""
    server = start_server(IMGPROXY_COOKIE_PASSTHROUGH="true", IMGPROXY_COOKIE_PASSTHROUGH_ALL=passthrough_all)
    path = f"/cookie/go-{passthrough_all}.jpg"
    response = client.get(f"{server.base}/unsafe/w:10/plain/{origin.add(path, JPEG)}", headers=CLIENT_COOKIES)
    assert response.status_code == 200
    assert sent_headers(origin, path)["cookie"] == sent
    # Past Go's 3000 cookies a request has none.
    crowd = "; ".join(f"c{i}=1" for i in range(3001))
    assert client.get(f"{server.base}/unsafe/w:11/plain/{origin.url(path)}",
                      headers={"Cookie": crowd}).status_code == 200
    assert "cookie" not in sent_headers(origin, path)


@pytest.mark.parametrize(("lines", "expected"), [
    (["a=1; b=2"], [RequestCookie("a", "1", False), RequestCookie("b", "2", False)]),
    ([' a="x y" ;; b = 1'], [RequestCookie("a", "x y", True), RequestCookie("b", " 1", False)]),
    (['a = "x"'], []),  # a value is not trimmed, so its quotes are inside it
    (['a="', "b=\\", "c=\x7f", "(d)=1", "=1"], []),
    (["a=1"] * 3001, []),
    (["a=1"] * 3000, [RequestCookie("a", "1", False)] * 3000),
])
def test_read_cookies_as_go(lines: list[str], expected: list[RequestCookie]) -> None:
    assert read_cookies(lines) == expected


@given(st.lists(st.tuples(st.from_regex(r"[A-Za-z0-9_.~-]{1,8}", fullmatch=True),
                          st.from_regex(r'[\x20\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{0,8}', fullmatch=True),
                          st.booleans()), max_size=8))
def test_written_cookies_read_back(items: list[tuple[str, str, bool]]) -> None:
    """What goes to an origin reads back as the same cookies."""
    cookies = [RequestCookie(name, value.strip(" "), quoted) for name, value, quoted in items]
    header = cookie_header(cookies)
    assert [(c.name, c.value) for c in read_cookies([header])] == [(c.name, c.value) for c in cookies]


def test_no_content_negotiation_is_asked_of_the_origin(client: httpx.Client, origin: Origin,
                                                       start_server: Callable[..., AppServer]) -> None:
    """As imgproxy's fetcher: no Accept-Encoding (images are compressed already) and no Accept."""
    server = start_server()
    url = origin.add("/hdr/plain.jpg", JPEG)
    assert client.get(f"{server.base}/unsafe/w:10/plain/{url}").status_code == 200
    sent = sent_headers(origin, "/hdr/plain.jpg")
    assert "accept-encoding" not in sent and "accept" not in sent


def test_cookies_set_outside_a_fetch_are_not_kept() -> None:
    jar = FetchCookieJar()
    with fetch_cookies():
        jar.set_cookie(make_cookie("a", "1"))
        assert [c.name for c in jar] == ["a"] and len(jar) == 1
    assert len(jar) == 0
    jar.set_cookie(make_cookie("b", "2"))  # a store's client: no fetch context
    assert list(jar) == []
    with fetch_cookies():
        assert list(jar) == []


def make_cookie(name: str, value: str) -> Cookie:
    return Cookie(0, name, value, None, False, "127.0.0.1", False, False, "/", True, False, None, False, None,
                  None, {})


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"IMGPROXY_CUSTOM_REQUEST_HEADERS": "NoValue"}, "IMGPROXY_CUSTOM_REQUEST_HEADERS"),
        ({"IMGPROXY_COOKIE_BASE_URL": "ftp://x/"}, "IMGPROXY_COOKIE_BASE_URL"),
        ({"IMGPROXY_CLIENT_KEEP_ALIVE_TIMEOUT": "-1"}, "IMGPROXY_CLIENT_KEEP_ALIVE_TIMEOUT"),
    ],
)
def test_bad_settings_are_reported(env: dict[str, str], problem: str) -> None:
    _, problems = read_config(env)
    assert any(problem in p for p in problems)


def test_custom_headers_separator() -> None:
    config = load_config({"IMGPROXY_CUSTOM_REQUEST_HEADERS": "A=1|B=2", "IMGPROXY_CUSTOM_HEADERS_SEPARATOR": "|"})
    assert config.fetch.origin_headers.custom_request_headers == (("A", "1"), ("B", "2"))


@pytest.fixture
def keepalive_origin() -> Iterator[Origin]:
    """An HTTP/1.1 origin that keeps connections open and counts them."""
    server = Origin(keep_alive=True)
    server.add("/k.jpg", JPEG)
    yield server
    server.close()


@pytest.fixture
def dropping_origin() -> Iterator[tuple[Origin, list[str]]]:
    """An HTTP/1.1 origin that answers the first request of each connection and keeps it open,
    then drops it unanswered when a second request comes on it (an idle timeout that struck just
    as the connection was reused).  It records "answered" and "dropped"."""
    server, events = Origin(keep_alive=True), []

    def first_only(handler: BaseHTTPRequestHandler) -> OriginResponse:
        if getattr(handler, "answered", False):  # one handler per connection
            events.append("dropped")
            return OriginResponse(drop=True)
        handler.answered = True  # type: ignore[attr-defined]
        events.append("answered")
        return OriginResponse(200, JPEG)

    server.routes["/d.jpg"] = first_only
    yield server, events
    server.close()


def test_a_connection_dropped_before_its_answer_is_retried(client: httpx.Client,
                                                           start_server: Callable[..., AppServer],
                                                           dropping_origin: tuple[Origin, list[str]]) -> None:
    """As Go's transport retries an idempotent request for imgproxy: once, on a new connection."""
    server = start_server()
    origin, events = dropping_origin
    url = origin.url("/d.jpg")
    for width in (10, 11):
        assert client.get(f"{server.base}/unsafe/w:{width}/plain/{url}").status_code == 200
    assert events == ["answered", "dropped", "answered"]


@pytest.mark.parametrize(("timeout", "expected"), [("90", 1), ("0", 3)])
def test_client_keep_alive_timeout(client: httpx.Client, start_server: Callable[..., AppServer],
                                   keepalive_origin: Origin, timeout: str, expected: int) -> None:
    server = start_server(IMGPROXY_CLIENT_KEEP_ALIVE_TIMEOUT=timeout)
    for width in (10, 11, 12):
        assert client.get(f"{server.base}/unsafe/w:{width}/plain/{keepalive_origin.url('/k.jpg')}").status_code == 200
    assert keepalive_origin.connections == expected
