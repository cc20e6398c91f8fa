"""imgproxy's own tests of its fetcher (``fetcher/request_test.go``,
``fetcher/transport/generichttp/generic_http_test.go``, ``fetcher/transport/round_tripper_test.go``)
and of its router and server (``server/router_test.go``, ``server/server_test.go``), imgproxy v4
commit eef3b312, Apache-2.0, run against ours.

- ``fetcher.Fetch`` is our ``HttpBackend.fetch`` (``imgproxy_py.sources.http``), and through the
  server the image endpoint; ``generichttp.VerifySourceNetwork(addr, config)`` is
  ``AddressPolicy.check`` (``imgproxy_py.security.addresses``) with the three
  ``IMGPROXY_ALLOW_*_SOURCE_ADDRESSES`` settings; the storage round tripper is our ``local://``
  backend (``imgproxy_py.sources.local``), an object store answering 200 or 404.
- The Go router tests register handlers of their own under ``PathPrefix = "/api"``; ours are
  run on our real routes with ``IMGPROXY_PATH_PREFIX=/api``, each Go route matched to the route
  of imgproxy's ``BuildRouter`` (``imgproxy.go``) that answers it: ``GET /health``, and
  ``HEAD /*`` and ``OPTIONS /*`` (``OkHandler``: 200).  ``WithCORS`` and ``WithSecret`` are
  ``IMGPROXY_ALLOW_ORIGIN`` and ``IMGPROXY_SECRET`` on the image endpoint; a handler's error and
  panic (``WithReportError``, ``WithPanic``) are an ``ImgproxyError`` and a ``RuntimeError``
  raised by our image handler; ``RemoteAddr`` is the ``client`` of our request log line.

Not ported (Go internals with no counterpart of ours): ``TestMiddlewareOrder`` (the router's
middleware chaining), ``TestRouteOrder`` (``Router.Paths()``' order of its route table),
``TestIntoSuccess`` (a mock handler's 200 through ``WithReportError``),
``TestIntoPanicWithAbortHandler`` (Go's ``http.ErrAbortHandler`` re-panic),
``TestIntoPanicWithNonError`` (a panic with a non-error value: Python raises exceptions only)."""

from __future__ import annotations

import gzip
import http.client
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import httpx
import pytest
import pyvips

from imgproxy_py.errors import ImgproxyError, SourceNotAllowedError
from imgproxy_py.security.addresses import AddressPolicy
from tests.servers import ASSETS, AppServer, Origin, origin_fetch

PNG = (ASSETS / "imgproxy" / "test1.png").read_bytes()
TEST1_PNG = "plain/local:///imgproxy/test1.png"
REQUEST_ID = re.compile(r"^[A-Za-z0-9_\-]+$")


# --- fetcher/request_test.go -------------------------------------------------------------------

def gzip_route(origin: Origin, body: bytes) -> str:
    """``body`` gzipped, with ``Content-Encoding: gzip`` and the compressed Content-Length."""
    path = f"/imgproxy-gzip/{uuid.uuid4().hex}"
    origin.add(path, gzip.compress(body), headers={"Content-Encoding": "gzip"})
    return path


def test_fetch_gzip_response_metadata_body(origin: Origin) -> None:
    """TestFetchGzipResponseMetadata: the body comes uncompressed."""
    source = b"gzip response body"
    assert origin_fetch(origin.url(gzip_route(origin, source))).data == source


@pytest.mark.parametrize("header", ["Content-Encoding", "Content-Length"])
def test_fetch_gzip_response_metadata_headers(origin: Origin, header: str) -> None:
    headers = {name.lower() for name in origin_fetch(origin.url(gzip_route(origin, b"gzip response body"))).headers}
    assert header.lower() not in headers


@pytest.mark.parametrize(("options", "header"), [
    pytest.param(options, header, id=f"TestFetchGzipResponseMetadata/server {options.split(':')[0]} {header}")
    for options in ("raw:1/", "rs:fill:4:4/") for header in ("Content-Encoding", "Content-Length", "Content-Type")])
def test_fetch_gzip_response_through_server(server_for: Callable[..., AppServer], client: httpx.Client,
                                            origin: Origin, options: str, header: str) -> None:
    """TestFetchGzipResponseMetadata through the server, with the origin's header asked back
    (``IMGPROXY_RESPONSE_HEADERS_PASSTHROUGH``): a processed image is made of the uncompressed
    PNG, and the client is never told its bytes are gzip, nor given the compressed size.  ``raw``
    streams the origin's bytes as they are, as imgproxy's stream handler does: gzip, said so."""
    server = server_for(IMGPROXY_RESPONSE_HEADERS_PASSTHROUGH=header)
    path = gzip_route(origin, PNG)
    with client.stream("GET", f"{server.base}/unsafe/{options}plain/{origin.url(path)}") as response:
        assert response.status_code == 200
        raw = b"".join(response.iter_raw())
        assert response.headers["content-length"] == str(len(raw))
        encoding = response.headers.get("content-encoding")
    if options == "raw:1/":
        assert encoding == "gzip" and gzip.decompress(raw) == PNG
    else:
        assert encoding is None and raw.startswith(b"\x89PNG")


# --- fetcher/transport/generichttp/generic_http_test.go -----------------------------------------

# name, address, allow loopback, allow link-local, allow private, refused
NETWORK_CASES = [
    ("Invalid IP address", "not-an-ip", True, True, True, True),
    ("Loopback local not allowed", "127.0.0.1", False, True, True, True),
    ("Loopback local allowed", "127.0.0.1", True, True, True, False),
    ("Unspecified (0.0.0.0) not allowed", "0.0.0.0", False, True, True, True),
    ("Link local unicast not allowed", "169.254.0.1", True, False, True, True),
    ("Link local unicast allowed", "169.254.0.1", True, True, True, False),
    ("Private address not allowed", "192.168.0.1", True, True, False, True),
    ("Private address allowed", "192.168.0.1", True, True, True, False),
    ("Global unicast should be allowed", "8.8.8.8", False, False, False, False),
    # Go's is given "8.8.8.8:8080" (a dialer's host:port); ours is given the address alone.
    ("Port in address with global IP", "8.8.8.8", False, False, False, False),
    ("CGNAT 100.64.0.1 not allowed", "100.64.0.1", True, True, False, True),
    ("CGNAT 100.64.0.1 allowed", "100.64.0.1", True, True, True, False),
    ("IPv4-compatible 10.0.0.1 not allowed", "::10.0.0.1", True, True, False, True),
    ("6to4 embedding 192.168.1.1 not allowed", "2002:c0a8:0101::", True, True, False, True),
    ("NAT64 well-known 172.16.0.1 not allowed", "64:ff9b::172.16.0.1", True, True, False, True),
    ("NAT64 well-known CGNAT 100.64.0.1 not allowed", "64:ff9b::100.64.0.1", True, True, False, True),
    ("IPv4-compatible 8.8.8.8 allowed", "::8.8.8.8", False, False, False, False),
    ("NAT64 well-known 8.8.8.8 allowed", "64:ff9b::8.8.8.8", False, False, False, False),
]


@pytest.mark.parametrize(("address", "loopback", "link_local", "private", "refused"), [
    pytest.param(*case[1:], id=f"TestVerifySourceNetwork/{case[0]}") for case in NETWORK_CASES])
def test_verify_source_network(address: str, loopback: bool, link_local: bool, private: bool,
                               refused: bool) -> None:
    policy = AddressPolicy(allow_loopback=loopback, allow_link_local=link_local, allow_private=private)
    if refused:
        with pytest.raises(SourceNotAllowedError):
            policy.check(address)
    else:
        policy.check(address)


# --- fetcher/transport/round_tripper_test.go ------------------------------------------------------

def test_round_tripper_success(server_for: Callable[..., AppServer], client: httpx.Client) -> None:
    """TestRoundTripperSuccess: an object the store has comes back whole, as its type."""
    response = client.get(f"{server_for().base}/unsafe/raw:1/{TEST1_PNG}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == PNG


def test_round_tripper_not_found(server_for: Callable[..., AppServer], client: httpx.Client) -> None:
    """TestRoundTripperNotFound"""
    response = client.get(f"{server_for().base}/unsafe/raw:1/plain/local:///imgproxy/no-such-key.png")
    assert response.status_code == 404


# --- server/router_test.go ------------------------------------------------------------------------

PREFIX = {"IMGPROXY_PATH_PREFIX": "/api"}


# The body asserted: the health check's for GET, none for HEAD; OPTIONS' (Go: its mock
# handler's; imgproxy's OkHandler writes one space) is not.
@pytest.mark.parametrize(("method", "path", "empty_body"), [
    pytest.param("GET", "/api/health", False, id="TestHTTPMethods/GET (GET /health)"),
    pytest.param("OPTIONS", "/api/options-test", None, id="TestHTTPMethods/OPTIONS"),
    pytest.param("OPTIONS", "/api/options-test/sub", None, id="TestHTTPMethods/OPTIONSPrefixed"),
    pytest.param("HEAD", "/api/health", True, id="TestHTTPMethods/HEAD (HEAD /health)"),
    pytest.param("HEAD", "/api/head-test", True, id="TestHTTPMethods/HEAD", marks=pytest.mark.xfail(
        strict=True, reason="HEAD /api/head-test with IMGPROXY_PATH_PREFIX=/api: imgproxy answers 200 (its "
                            "HEAD /* route, OkHandler); ours routes HEAD to the image endpoint: 404, no image URL")),
])
def test_http_methods(server_for: Callable[..., AppServer], client: httpx.Client, method: str, path: str,
                      empty_body: bool | None) -> None:
    response = client.request(method, server_for(**PREFIX).base + path)
    assert response.status_code == 200
    if empty_body is not None:
        assert (response.content == b"") is empty_body


# imgproxy's router has GET, HEAD and OPTIONS routes only: any other method falls through to its
# NotFoundHandler (404, one space), and OPTIONS answers 200 on every path, /info's too.
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/unsafe/rs:fit:50:50/plain/local:///test1.jpg", "/info/unsafe/plain/local:///test1.jpg",
                                  "/health", "/"])
def test_methods_without_a_route_are_not_found(server_for: Callable[..., AppServer], client: httpx.Client,
                                               method: str, path: str) -> None:
    response = client.request(method, server_for().base + path, content=b"x")
    assert (response.status_code, response.content) == (404, b" ")


def test_options_on_every_path(server_for: Callable[..., AppServer], client: httpx.Client) -> None:
    server = server_for(IMGPROXY_ALLOW_ORIGIN="https://page.example")
    for path in ("/info/unsafe/plain/local:///test1.jpg", "/health", "/unsafe/plain/local:///test1.jpg"):
        response = client.options(server.base + path)
        assert response.status_code == 200, path
        assert response.headers["access-control-allow-origin"] == "https://page.example"


@pytest.mark.parametrize("env", [
    pytest.param({}, id="TestServeHTTP", marks=pytest.mark.xfail(strict=True, reason=(
        "any request, default settings: imgproxy answers Server 'imgproxy'; ours 'imgproxy_py' (deliberate: "
        "IMGPROXY_SERVER_NAME=imgproxy restores it)"))),
    pytest.param({"IMGPROXY_SERVER_NAME": "imgproxy"}, id="TestServeHTTP (IMGPROXY_SERVER_NAME=imgproxy)"),
])
def test_serve_http(server_for: Callable[..., AppServer], client: httpx.Client, env: dict[str, str]) -> None:
    response = client.get(server_for(**PREFIX, **env).base + "/api/health")
    assert response.status_code == 200
    assert response.headers.get("server") == "imgproxy"
    assert response.headers.get("x-request-id")


def request_id(server: AppServer, client: httpx.Client, headers: dict[str, str]) -> str:
    response = client.get(server.base + "/api/health", headers=headers)
    assert response.status_code == 200
    return str(response.headers.get("x-request-id", ""))


def test_request_id_passthrough(server_for: Callable[..., AppServer], client: httpx.Client) -> None:
    """TestRequestID: a valid X-Request-ID is kept; none given, one is made of [A-Za-z0-9_-]."""
    server = server_for(**PREFIX)
    assert request_id(server, client, {"X-Request-ID": "valid-id-123"}) == "valid-id-123"
    assert REQUEST_ID.match(request_id(server, client, {}))


def test_request_id_invalid(server_for: Callable[..., AppServer], client: httpx.Client) -> None:
    """TestRequestID: an invalid X-Request-ID is replaced."""
    generated = request_id(server_for(**PREFIX), client, {"X-Request-ID": "invalid id with spaces!"})
    assert generated and generated != "invalid id with spaces!"


def test_lambda_request_id_extraction(server_for: Callable[..., AppServer], client: httpx.Client) -> None:
    """TestLambdaRequestIDExtraction"""
    headers = {"X-Amzn-Request-Context": '{"requestId":"lambda-req-123"}'}
    assert request_id(server_for(**PREFIX), client, headers) == "lambda-req-123"


@pytest.mark.parametrize(("header", "value", "expected"), [
    pytest.param("CF-Connecting-IP", "1.2.3.4", "1.2.3.4", id="TestReplaceIP/CFConnectingIP"),
    pytest.param("X-Forwarded-For", "5.6.7.8, 9.10.11.12", "5.6.7.8", id="TestReplaceIP/XForwardedForMulti"),
    pytest.param("X-Forwarded-For", "13.14.15.16", "13.14.15.16", id="TestReplaceIP/XForwardedForSingle"),
    pytest.param("X-Real-IP", "17.18.19.20", "17.18.19.20", id="TestReplaceIP/XRealIP"),
])
def test_replace_ip(server_for: Callable[..., AppServer], client: httpx.Client, caplog: pytest.LogCaptureFixture,
                    header: str, value: str, expected: str) -> None:
    caplog.set_level(logging.INFO, logger="imgproxy_py.server")
    server = server_for(**PREFIX)
    marker = uuid.uuid4().hex
    client.get(f"{server.base}/api/unsafe/{TEST1_PNG}", headers={header: value, "X-Request-ID": marker})
    deadline = time.monotonic() + 5
    records: list[logging.LogRecord] = []
    while not records and time.monotonic() < deadline:  # the line is written after the response
        records = [r for r in caplog.records
                   if r.getMessage().startswith("Completed in ") and getattr(r, "request_id", "") == marker]
        time.sleep(0.01)
    assert records and records[0].__dict__.get("client_ip") == expected


# --- server/server_test.go ------------------------------------------------------------------------

def test_start_server_with_invalid_bind() -> None:
    """TestStartServerWithInvalidBind: ``IMGPROXY_BIND=-1.-1.-1.-1`` is an error, no server."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("IMGPROXY_")}, "IMGPROXY_BIND": "-1.-1.-1.-1"}
    result = subprocess.run([sys.executable, "-m", "imgproxy_py", "serve"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "IMGPROXY_BIND" in result.stderr


def test_shutdown(start_server: Callable[..., AppServer], client: httpx.Client) -> None:
    """TestShutdown: a started server stops gracefully, well within 10 s."""
    server = start_server()
    assert client.get(server.base + "/health").status_code == 200
    started = time.monotonic()
    server.close()
    assert not server.thread.is_alive() and time.monotonic() - started < 10


@pytest.mark.parametrize(("allow_origin", "header", "expected"), [
    pytest.param("https://example.com", "Access-Control-Allow-Origin", "https://example.com",
                 id="TestWithCORS/WithCORSOrigin/Allow-Origin"),
    pytest.param("https://example.com", "Access-Control-Allow-Methods", "GET, OPTIONS",
                 id="TestWithCORS/WithCORSOrigin/Allow-Methods", marks=pytest.mark.xfail(strict=True, reason=(
                     "IMGPROXY_ALLOW_ORIGIN=https://example.com, GET of an image: imgproxy answers "
                     "Access-Control-Allow-Methods 'GET, OPTIONS'; ours 'GET, HEAD, OPTIONS'"))),
    pytest.param("", "Access-Control-Allow-Origin", None, id="TestWithCORS/NoCORSOrigin/Allow-Origin"),
    pytest.param("", "Access-Control-Allow-Methods", None, id="TestWithCORS/NoCORSOrigin/Allow-Methods"),
])
def test_with_cors(server_for: Callable[..., AppServer], client: httpx.Client, allow_origin: str, header: str,
                   expected: str | None) -> None:
    response = client.get(f"{server_for(IMGPROXY_ALLOW_ORIGIN=allow_origin).base}/unsafe/{TEST1_PNG}")
    assert response.status_code == 200
    assert response.headers.get(header) == expected


@pytest.mark.parametrize(("secret", "authorization", "status"), [
    pytest.param("test-secret", "Bearer test-secret", 200, id="TestWithSecret/ValidSecret"),
    pytest.param("foo-secret", "Bearer wrong-secret", 403, id="TestWithSecret/InvalidSecret"),
    pytest.param("", "", 200, id="TestWithSecret/NoSecretConfigured"),
])
def test_with_secret(server_for: Callable[..., AppServer], client: httpx.Client, secret: str, authorization: str,
                     status: int) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get(f"{server_for(IMGPROXY_SECRET=secret).base}/unsafe/{TEST1_PNG}", headers=headers)
    assert response.status_code == status


async def _raise_error(*args: object) -> None:
    raise ImgproxyError("test error")


async def _raise_panic(*args: object) -> None:
    raise RuntimeError("panic error")


@pytest.mark.parametrize(("raiser", "check"), [
    pytest.param(_raise_error, "status", id="TestIntoWithError/status"),
    pytest.param(_raise_error, "content-type", id="TestIntoWithError/Content-Type", marks=pytest.mark.xfail(
        strict=True, reason="a handler's error with no status of its own: imgproxy answers 500 with Content-Type "
                            "'text/plain'; ours 500 with 'text/plain; charset=utf-8'")),
    pytest.param(_raise_panic, "status", id="TestIntoPanicWithError"),
])
def test_handler_errors(server_for: Callable[..., AppServer], client: httpx.Client, monkeypatch: pytest.MonkeyPatch,
                        raiser: Callable[..., object], check: str) -> None:
    server = server_for()
    monkeypatch.setattr("imgproxy_py.server.app.handle_image", raiser)
    response = client.get(f"{server.base}/unsafe/{TEST1_PNG}")
    assert response.status_code == 500
    if check == "content-type":
        assert response.headers["content-type"] == "text/plain"
    monkeypatch.undo()
    with httpx.Client(timeout=30) as fresh:  # the server goes on
        assert fresh.get(f"{server.base}/unsafe/{TEST1_PNG}").status_code == 200


def test_handler_panic_keeps_connection(server_for: Callable[..., AppServer], monkeypatch: pytest.MonkeyPatch) -> None:
    """TestIntoPanicWithError: the 500 is an answer like any other, on a connection that lives on."""
    server = server_for()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        monkeypatch.setattr("imgproxy_py.server.app.handle_image", _raise_panic)
        connection.request("GET", f"/unsafe/{TEST1_PNG}")
        first = connection.getresponse()
        first.read()
        assert first.status == 500 and first.getheader("connection", "").lower() != "close"
        monkeypatch.undo()
        time.sleep(0.3)  # whatever the server does after the answer is done by now
        connection.request("GET", f"/unsafe/{TEST1_PNG}")
        second = connection.getresponse()
        assert second.status == 200
        result = pyvips.Image.new_from_buffer(second.read(), "")
        source = pyvips.Image.new_from_buffer(PNG, "")
        assert result.get("vips-loader") == "pngload_buffer"
        assert (result.width, result.height) == (source.width, source.height)
    finally:
        connection.close()
