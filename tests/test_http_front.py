"""imgproxy's settings of the HTTP front: IMGPROXY_HEALTH_CHECK_PATH / _MESSAGE, IMGPROXY_SERVER_NAME,
IMGPROXY_CUSTOM_RESPONSE_HEADERS, IMGPROXY_KEEP_ALIVE_TIMEOUT, IMGPROXY_SO_REUSEPORT,
IMGPROXY_ENABLE_DEBUG_HEADERS and IMGPROXY_RETURN_ATTACHMENT."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable

import httpx
import pytest

from imgproxy_py.cli import MAX_REQUEST_HEAD
from imgproxy_py.config import read_config
from imgproxy_py.server.listen import bind_socket
from tests.cluster_nodes import Node
from tests.conftest import asset, decode
from tests.servers import AppServer


def test_extra_health_path_and_message(client: httpx.Client, start_server: Callable[..., AppServer]) -> None:
    server = start_server(IMGPROXY_HEALTH_CHECK_PATH="/healthz", IMGPROXY_HEALTH_CHECK_MESSAGE="all good")
    for path in ("/healthz", "/health"):
        response = client.get(server.base + path)
        assert response.status_code == 200 and response.text == "all good"
    assert client.head(server.base + "/healthz").status_code == 200


def test_server_header_and_custom_response_headers(client: httpx.Client,
                                                   start_server: Callable[..., AppServer]) -> None:
    default = start_server()
    assert client.get(default.base + "/health").headers["server"] == "imgproxy_py"
    server = start_server(IMGPROXY_SERVER_NAME="imgproxy",
                          IMGPROXY_CUSTOM_RESPONSE_HEADERS="X-Served-By=edge 7\\;Timing-Allow-Origin=*")
    image = client.get(f"{server.base}/unsafe/w:20/plain/local:///core/hopper.jpg")
    assert image.status_code == 200 and image.headers["server"] == "imgproxy"
    assert image.headers["x-served-by"] == "edge 7" and image.headers["timing-allow-origin"] == "*"
    missing = client.get(f"{server.base}/unsafe/w:20/plain/local:///core/missing.jpg")
    assert missing.status_code == 404 and missing.headers["server"] == "imgproxy"
    assert "x-served-by" not in missing.headers  # only on images, as imgproxy


@pytest.mark.parametrize("setting", [
    {"IMGPROXY_CUSTOM_RESPONSE_HEADERS": "Bad Name=1"},
    {"IMGPROXY_CUSTOM_RESPONSE_HEADERS": "X-A"},
    {"IMGPROXY_CUSTOM_RESPONSE_HEADERS": "X-A=a\x01b"},
    {"IMGPROXY_HEALTH_CHECK_PATH": "healthz"},
    {"IMGPROXY_KEEP_ALIVE_TIMEOUT": "-1"},
])
def test_bad_front_settings_are_start_up_problems(setting: dict[str, str]) -> None:
    _, problems = read_config(setting)
    assert any(next(iter(setting)) in problem for problem in problems)


def test_so_reuseport_lets_a_second_server_bind_the_port() -> None:
    first = bind_socket("127.0.0.1", 0, reuse_port=True)
    first.listen()
    try:
        port = first.getsockname()[1]
        second = bind_socket("127.0.0.1", port, reuse_port=True)
        second.close()
        with pytest.raises(OSError):
            bind_socket("127.0.0.1", port)
    finally:
        first.close()


def test_keep_alive_timeout_closes_idle_connections() -> None:
    node = Node({"IMGPROXY_KEEP_ALIVE_TIMEOUT": "1"})
    try:
        node.wait_ready()
        conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=10)
        try:
            conn.request("GET", "/health")
            response = conn.getresponse()
            assert response.status == 200 and response.read() == b"imgproxy_py is running"
            assert conn.sock is not None  # kept open after a whole response
            started = time.monotonic()
            assert conn.sock.recv(4096) == b""  # the server closed the idle connection
            assert 0.5 < time.monotonic() - started < 5
        finally:
            conn.close()
    finally:
        node.stop()


def test_a_large_request_head_is_read_as_imgproxys_server_reads_it() -> None:
    """Up to Go's MaxHeaderBytes (1 MiB): a 300 KB cookie, which arrives in many pieces, makes a
    request (uvicorn's h11 refused anything past 16 KiB in pieces); a 2 MB one is refused with
    Go's 431 (uvicorn answered 400)."""
    node = Node({})
    try:
        node.wait_ready()
        with httpx.Client(timeout=30) as client:
            url = f"{node.base}/unsafe/rs:fit:20:20/plain/local:///core/hopper.jpg"
            response = client.get(url, headers={"Cookie": "session=" + "x" * 300_000})
            assert response.status_code == 200 and decode(response.content).width == 20
            try:
                refused = client.get(url, headers={"Cookie": "session=" + "x" * 2_000_000})
                assert refused.status_code == 431 and refused.text == "431 Request Header Fields Too Large"
            except httpx.TransportError:  # the 431 lost to the reset of a connection closed mid-request
                pass
        # Just past the limit, all of it read by the server before it answers: no reset to lose
        # the answer to.
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: "
        with socket.create_connection(("127.0.0.1", node.port), timeout=30) as sock:
            sock.sendall(head + b"y" * (MAX_REQUEST_HEAD + 100 - len(head)))
            assert sock.recv(4096).startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    finally:
        node.stop()


def test_return_attachment_by_default(client: httpx.Client, start_server: Callable[..., AppServer]) -> None:
    server = start_server(IMGPROXY_RETURN_ATTACHMENT="true")
    default = client.get(f"{server.base}/unsafe/rs:fit:32:32/plain/local:///core/hopper.jpg")
    assert default.status_code == 200
    assert default.headers["content-disposition"] == 'attachment; filename="hopper.jpg"'
    inline = client.get(f"{server.base}/unsafe/rs:fit:32:32/att:0/plain/local:///core/hopper.jpg")
    assert inline.headers["content-disposition"] == 'inline; filename="hopper.jpg"'


def test_debug_headers(client: httpx.Client, start_server: Callable[..., AppServer]) -> None:
    server = start_server(IMGPROXY_ENABLE_DEBUG_HEADERS="true")
    response = client.get(f"{server.base}/unsafe/rs:fit:40:40/plain/local:///core/hopper.jpg")
    source = decode(asset("hopper.jpg").read_bytes())
    result = decode(response.content)
    assert response.headers["x-origin-content-length"] == str(asset("hopper.jpg").stat().st_size)
    assert (response.headers["x-origin-width"], response.headers["x-origin-height"]) == (str(source.width),
                                                                                         str(source.height))
    assert (response.headers["x-result-width"], response.headers["x-result-height"]) == (str(result.width),
                                                                                         str(result.height))
    plain = start_server()
    assert "x-result-width" not in client.get(f"{plain.base}/unsafe/rs:fit:40:40/plain/local:///core/hopper.jpg").headers
