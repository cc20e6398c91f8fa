"""imgproxy's own tests of the ``raw`` option's streaming (``handlers/stream/handler_test.go``),
the health handler (``handlers/health/handler_test.go``) and the hostile BMP
(``integration_test/bmp_overflow_test.go``), imgproxy v4 commit eef3b312, Apache-2.0, run
against our server and a loopback origin.

- ``stream.Handler.Execute(req, imageURL, reqID, options, rw)`` is our image endpoint with
  ``raw:1`` (``imgproxy_py.server.raw_stream``): the options the Go test sets
  (``keys.Filename``, ``keys.ReturnAttachment``, ``keys.Expires``) are the URL's ``fn``,
  ``att`` and ``exp``; the response writer's settings (``CacheControlPassthrough``,
  ``DefaultTTL``, ``SetCanonicalHeader``) and the cookie setting (``CookiePassthrough``) are
  ``IMGPROXY_CACHE_CONTROL_PASSTHROUGH``, ``IMGPROXY_TTL``, ``IMGPROXY_SET_CANONICAL_HEADER``
  and ``IMGPROXY_COOKIE_PASSTHROUGH``.  Its test server is our ``Origin``, each case on a path
  of its own.
- ``health.Handler.Execute`` is our ``GET /health``.
- ``TestBMPUnsupportedBitDepthRejected`` fetches imgproxy's ``testdata/bmp-invalid-bpp.bmp``
  (``tests/assets/imgproxy/``) through ``local://``."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from email.utils import formatdate

import httpx
import pytest

from tests.servers import ASSETS, AppServer, Origin

PNG = (ASSETS / "imgproxy" / "test1.png").read_bytes()
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
DEFAULT_TTL = 4242
ONE_MINUTE = 60


def route(origin: Origin, headers: dict[str, str] | None = None, body: bytes = PNG, status: int = 200,
          name: str = "") -> str:
    """A new origin path answering ``body`` with ``headers`` (the origin adds Content-Length)."""
    path = f"/imgproxy-stream/{uuid.uuid4().hex}/{name}"
    origin.add(path, body, status=status, headers=headers)
    return path


def stream(server: AppServer, client: httpx.Client, origin: Origin, path: str, options: str = "",
           headers: dict[str, str] | None = None) -> httpx.Response:
    return client.get(f"{server.base}/unsafe/raw:1/{options}plain/{origin.url(path)}", headers=headers)


def sent_to_origin(origin: Origin, path: str) -> dict[str, str]:
    """The headers of the one request the origin was sent for ``path``, names lower-cased."""
    sent = [headers for p, headers in origin.requests if p == path]
    assert len(sent) == 1
    return {name.lower(): value for name, value in sent[0].items()}


def max_age(response: httpx.Response) -> int:
    """``maxAgeValue``: the max-age of a Cache-Control that starts with it, else 0."""
    match = re.match(r"max-age=(\d+)", response.headers.get("cache-control", ""))
    return int(match.group(1)) if match else 0


def http_date(offset: float) -> str:
    return formatdate(time.time() + offset, usegmt=True)


def test_handler_basic_request(server_for: Callable[..., AppServer], client: httpx.Client, origin: Origin) -> None:
    """TestHandlerBasicRequest"""
    response = stream(server_for(), client, origin, route(origin, {"Content-Type": "image/png"}))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == PNG


@pytest.mark.parametrize(("name", "value"), [
    pytest.param("Content-Type", "image/png", id="TestHandlerResponseHeadersPassthrough/Content-Type"),
    pytest.param("Content-Length", str(len(PNG)), id="TestHandlerResponseHeadersPassthrough/Content-Length"),
    pytest.param("Accept-Ranges", "bytes", id="TestHandlerResponseHeadersPassthrough/Accept-Ranges"),
    pytest.param("ETag", "etag", id="TestHandlerResponseHeadersPassthrough/ETag"),
    pytest.param("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT",
                 id="TestHandlerResponseHeadersPassthrough/Last-Modified"),
])
def test_handler_response_headers_passthrough(server_for: Callable[..., AppServer], client: httpx.Client,
                                              origin: Origin, name: str, value: str) -> None:
    path = route(origin, {"Content-Type": "image/png", "Accept-Ranges": "bytes", "ETag": "etag",
                          "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT"})
    response = stream(server_for(), client, origin, path)
    assert response.status_code == 200
    assert response.headers.get(name) == value


ETAG = '"test-etag-123"'
CLIENT_HEADERS = {"If-None-Match": ETAG, "Accept-Encoding": "gzip", "Range": "bytes=*"}
@pytest.mark.parametrize(("name", "value"), [
    pytest.param("If-None-Match", ETAG, id="TestHandlerRequestHeadersPassthrough/If-None-Match"),
    pytest.param("Accept-Encoding", "gzip", id="TestHandlerRequestHeadersPassthrough/Accept-Encoding"),
    pytest.param("Range", "bytes=*", id="TestHandlerRequestHeadersPassthrough/Range"),
])
def test_handler_request_headers_passthrough(server_for: Callable[..., AppServer], client: httpx.Client,
                                             origin: Origin, name: str, value: str) -> None:
    path = route(origin, {"ETag": ETAG})
    stream(server_for(), client, origin, path, headers=CLIENT_HEADERS)
    assert sent_to_origin(origin, path).get(name.lower()) == value


@pytest.mark.parametrize("part", [
    pytest.param("status", id="TestHandlerRequestHeadersPassthrough/status"),
    pytest.param("etag", id="TestHandlerRequestHeadersPassthrough/ETag"),
])
def test_handler_request_headers_passthrough_response(server_for: Callable[..., AppServer], client: httpx.Client,
                                                      origin: Origin, part: str) -> None:
    """TestHandlerRequestHeadersPassthrough: the client's answer."""
    response = stream(server_for(), client, origin, route(origin, {"ETag": ETAG}), headers=CLIENT_HEADERS)
    assert response.status_code == 200
    if part == "etag":
        assert response.headers.get("etag") == ETAG


def test_handler_content_disposition(server_for: Callable[..., AppServer], client: httpx.Client,
                                     origin: Origin) -> None:
    """TestHandlerContentDisposition"""
    path = route(origin, {"Content-Type": "image/png"}, name="test.png")
    response = stream(server_for(), client, origin, path, options="fn:custom_name/att:1/")
    assert response.status_code == 200
    assert "custom_name.png" in response.headers["content-disposition"]
    assert "attachment" in response.headers["content-disposition"]


# name, IMGPROXY_CACHE_CONTROL_PASSTHROUGH, origin headers (a function: Expires is made now),
# the URL's expires offset, (expected max-age, delta) or the exact Cache-Control, no Expires asserted
CACHE_CASES: list[tuple[str, bool, Callable[[], dict[str, str]], int | None, tuple[int, int] | str, bool]] = [
    ("Passthrough", True, lambda: {"Cache-Control": "max-age=3600, public"}, None, "max-age=3600, public", False),
    ("ExpiresPassthrough", True, lambda: {"Expires": http_date(3600)}, None, (3600, ONE_MINUTE), True),
    ("PassthroughDisabled", False, lambda: {"Cache-Control": "max-age=3600, public"}, None, (DEFAULT_TTL, 0), False),
    ("WithProcessingOptionsExpires", False, dict, 3600, (3600, ONE_MINUTE), False),
    ("ProcessingOptionsOverridesOrigin", True, lambda: {"Cache-Control": "max-age=7200, public"}, 1800,
     (1800, ONE_MINUTE), False),
    ("BothHeadersPassthroughEnabled", True,
     lambda: {"Cache-Control": "max-age=1800, public", "Expires": http_date(3600)}, None, (1800, ONE_MINUTE), True),
    ("ProcessingOptionsOverridesBothOriginHeaders", True,
     lambda: {"Cache-Control": "max-age=7200, public", "Expires": http_date(7200)}, 2700, (2700, ONE_MINUTE), True),
    ("NoOriginHeaders", False, dict, None, (DEFAULT_TTL, 0), False),
]


def cache_response(server_for: Callable[..., AppServer], client: httpx.Client, origin: Origin, passthrough: bool,
                   origin_headers: Callable[[], dict[str, str]], expires_in: int | None) -> httpx.Response:
    server = server_for(IMGPROXY_TTL=str(DEFAULT_TTL), IMGPROXY_CACHE_CONTROL_PASSTHROUGH=str(passthrough).lower())
    path = route(origin, {**origin_headers(), "Content-Type": "image/png"})
    options = f"exp:{int(time.time()) + expires_in}/" if expires_in is not None else ""
    response = stream(server, client, origin, path, options=options)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize(("passthrough", "origin_headers", "expires_in", "expected"), [
    pytest.param(passthrough, headers, expires_in, expected, id=f"TestHandlerCacheControl/{name}")
    for name, passthrough, headers, expires_in, expected, _ in CACHE_CASES])
def test_handler_cache_control(server_for: Callable[..., AppServer], client: httpx.Client, origin: Origin,
                               passthrough: bool, origin_headers: Callable[[], dict[str, str]],
                               expires_in: int | None, expected: tuple[int, int] | str) -> None:
    response = cache_response(server_for, client, origin, passthrough, origin_headers, expires_in)
    if isinstance(expected, str):
        assert response.headers["cache-control"] == expected
    else:
        seconds, delta = expected
        assert abs(max_age(response) - seconds) <= delta


@pytest.mark.parametrize(("passthrough", "origin_headers", "expires_in"), [
    pytest.param(passthrough, headers, expires_in, id=f"TestHandlerCacheControl/{name}/no Expires")
    for name, passthrough, headers, expires_in, _, no_expires in CACHE_CASES if no_expires])
def test_handler_cache_control_no_expires(server_for: Callable[..., AppServer], client: httpx.Client,
                                          origin: Origin, passthrough: bool,
                                          origin_headers: Callable[[], dict[str, str]],
                                          expires_in: int | None) -> None:
    response = cache_response(server_for, client, origin, passthrough, origin_headers, expires_in)
    assert "expires" not in response.headers


def test_handler_security_headers(server_for: Callable[..., AppServer], client: httpx.Client,
                                  origin: Origin) -> None:
    """TestHandlerSecurityHeaders"""
    response = stream(server_for(), client, origin, route(origin, {"Content-Type": "image/png"}))
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP


def test_handler_error_response(server_for: Callable[..., AppServer], client: httpx.Client, origin: Origin) -> None:
    """TestHandlerErrorResponse"""
    response = stream(server_for(), client, origin, route(origin, body=b"Not Found", status=404))
    assert response.status_code == 404


def test_handler_cookie_passthrough(server_for: Callable[..., AppServer], client: httpx.Client,
                                    origin: Origin) -> None:
    """TestHandlerCookiePassthrough: 200, and a cookie the origin gets is the client's."""
    path = route(origin, {"Content-Type": "image/png"})
    response = stream(server_for(IMGPROXY_COOKIE_PASSTHROUGH="true"), client, origin, path,
                      headers={"Cookie": "test_cookie=test_value"})
    assert response.status_code == 200
    cookie = sent_to_origin(origin, path).get("cookie")
    if cookie is not None:
        assert "test_cookie=test_value" in [part.strip() for part in cookie.split(";")]


@pytest.mark.parametrize("canonical", [
    pytest.param(True, id="TestHandlerCanonicalHeader/true"),
    pytest.param(False, id="TestHandlerCanonicalHeader/false"),
])
def test_handler_canonical_header(server_for: Callable[..., AppServer], client: httpx.Client, origin: Origin,
                                  canonical: bool) -> None:
    path = route(origin, {"Content-Type": "image/png"})
    response = stream(server_for(IMGPROXY_SET_CANONICAL_HEADER=str(canonical).lower()), client, origin, path)
    assert response.status_code == 200
    if canonical:
        assert f'<{origin.url(path)}>; rel="canonical"' in response.headers.get("link", "")
    else:
        assert not response.headers.get("link")


# --- handlers/health ---------------------------------------------------------------------------

@pytest.mark.parametrize(("env", "header", "expected"), [
    pytest.param({}, "content-type", "text/plain", id="TestHealthHandler/Content-Type", marks=pytest.mark.xfail(
        strict=True, reason="GET /health: imgproxy answers Content-Type 'text/plain'; ours 'text/plain; "
                            "charset=utf-8' (starlette's PlainTextResponse)")),
    pytest.param({}, "cache-control", "no-cache", id="TestHealthHandler/Cache-Control"),
    pytest.param({}, "body", "imgproxy is running", id="TestHealthHandler/body", marks=pytest.mark.xfail(
        strict=True, reason="GET /health with default settings: imgproxy answers 'imgproxy is running'; ours "
                            "'imgproxy_py is running' (deliberate: IMGPROXY_HEALTH_CHECK_MESSAGE restores it)")),
    pytest.param({"IMGPROXY_HEALTH_CHECK_MESSAGE": "imgproxy is running"}, "body", "imgproxy is running",
                 id="TestHealthHandler/body (IMGPROXY_HEALTH_CHECK_MESSAGE)"),
])
def test_health_handler(server_for: Callable[..., AppServer], client: httpx.Client, env: dict[str, str],
                        header: str, expected: str) -> None:
    response = client.get(f"{server_for(**env).base}/health")
    assert response.status_code in (200, 500)
    assert response.text  # never empty
    assert (response.text if header == "body" else response.headers.get(header)) == expected


# --- integration_test/bmp_overflow ---------------------------------------------------------------

BMP_URL = "/unsafe/rs:fill:4:4/plain/local:///imgproxy/bmp-invalid-bpp.bmp"


@pytest.mark.xfail(strict=True, reason=(
    "testdata/bmp-invalid-bpp.bmp (BI_RGB, bpp=40, width 512) resized: imgproxy answers 500 (its BMP loader's "
    "error); ours answers 422 (our BMP decoder refuses the bit depth as an unprocessable source)"))
def test_bmp_unsupported_bit_depth_rejected(server_for: Callable[..., AppServer], client: httpx.Client) -> None:
    """TestBMPUnsupportedBitDepthRejected"""
    assert client.get(server_for().base + BMP_URL).status_code == 500


def test_bmp_unsupported_bit_depth_refused_and_server_alive(server_for: Callable[..., AppServer],
                                                            client: httpx.Client) -> None:
    """TestBMPUnsupportedBitDepthRejected, what both agree on: the BMP is refused at once (an
    error status, no image) and the server goes on answering."""
    server = server_for()
    started = time.monotonic()
    response = client.get(server.base + BMP_URL)
    assert response.status_code >= 400 and not response.headers["content-type"].startswith("image/")
    assert time.monotonic() - started < 10
    assert client.get(f"{server.base}/health").status_code == 200
