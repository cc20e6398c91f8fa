"""IMGPROXY_READ_REQUEST_TIMEOUT and IMGPROXY_WRITE_RESPONSE_TIMEOUT through ``imgproxy-py serve``:
slow requests and clients that do not read are cut off; well-behaved keep-alive clients are not."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from imgproxy_py.config import read_config
from imgproxy_py.settings_check import settings_warnings
from tests.cluster_nodes import Node

DEADLINE = 1.5


@pytest.fixture(scope="module")
def node_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deadlines") / "node.log"


@pytest.fixture(scope="module")
def node(node_log: Path) -> Iterator[Node]:
    # A short deadline; the keep-alive timeout stays longer so that it is not what closes.
    started = Node({"IMGPROXY_READ_REQUEST_TIMEOUT": str(DEADLINE), "IMGPROXY_WRITE_RESPONSE_TIMEOUT": str(DEADLINE),
                    "IMGPROXY_KEEP_ALIVE_TIMEOUT": "30"}, log_path=node_log)
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


def closed_after(sock: socket.socket, limit: float = 10.0) -> float:
    """Seconds until the server closes ``sock`` (reading and dropping what it sends)."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def test_settings_and_their_older_names() -> None:
    config, _ = read_config({"IMGPROXY_READ_TIMEOUT": "3", "IMGPROXY_WRITE_TIMEOUT": "4"})
    # imgproxy 3's IMGPROXY_WRITE_TIMEOUT was the processing timeout's name, not the write deadline's.
    assert (config.http.read_request_timeout, config.server.timeout, config.http.write_response_timeout) == (3, 4, 10)
    config, _ = read_config({"IMGPROXY_READ_TIMEOUT": "3", "IMGPROXY_READ_REQUEST_TIMEOUT": "5"})
    assert config.http.read_request_timeout == 5
    assert read_config({})[0].http.read_request_timeout == 10  # imgproxy's default


def test_deprecated_names_warn_or_stop_start_up() -> None:
    env = {"IMGPROXY_READ_TIMEOUT": "3", "IMGPROXY_ENABLE_WEBP_DETECTION": "true"}
    config, problems = read_config(env)
    assert not problems and config.processing.auto_webp
    assert settings_warnings(config.settings_given, config.settings_read) == [
        "IMGPROXY_ENABLE_WEBP_DETECTION is deprecated, use IMGPROXY_AUTO_WEBP instead",
        "IMGPROXY_READ_TIMEOUT is deprecated, use IMGPROXY_READ_REQUEST_TIMEOUT instead"]
    _, problems = read_config({**env, "IMGPROXY_FAIL_ON_DEPRECATION": "true"})
    assert len(problems) == 2 and all("deprecated" in p for p in problems)


def test_a_silent_connection_is_closed(node: Node) -> None:
    with socket.create_connection(("127.0.0.1", node.port)) as sock:
        assert DEADLINE - 0.2 < closed_after(sock) < DEADLINE + 2


def test_headers_sent_slowly_are_cut_off(node: Node) -> None:
    with socket.create_connection(("127.0.0.1", node.port)) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        for _ in range(10):  # one header line every half second: never finishes in time
            time.sleep(0.5)
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break
        closed_after(sock)
        assert time.monotonic() - started < DEADLINE + 2


def test_a_body_sent_slowly_is_cut_off(node: Node) -> None:
    with socket.create_connection(("127.0.0.1", node.port)) as sock:
        sock.sendall(b"POST /thumbnail/best HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
        assert closed_after(sock) < DEADLINE + 2


def test_a_client_that_does_not_read_is_dropped(node: Node, node_log: Path) -> None:
    # A 27 MB BMP, more than the kernel's socket buffers hold (up to 4 MB on the server's side,
    # 2 MB here: a fixed receive buffer is not grown by autotuning), not read in time.
    path = "/unsafe/rs:fit:3000:3000:1:1/f:bmp/plain/local:///core/hopper.jpg"
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # before connecting: a small window too
        sock.connect(("127.0.0.1", node.port))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(DEADLINE + 4)  # processing, then the write deadline
        sock.settimeout(5)
        received = 0
        with pytest.raises((ConnectionResetError, socket.timeout, TimeoutError)):
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
            raise ConnectionResetError  # closed cleanly before the whole body: also a cut
    full = httpx.get(f"{node.base}{path}", timeout=30)
    assert full.status_code == 200 and received < len(full.content)
    assert "failed to write response: the client did not read it within 1.5 s" in node_log.read_text()


def test_keep_alive_clients_are_not_affected(node: Node) -> None:
    with httpx.Client(base_url=node.base, timeout=30) as client:
        for _ in range(3):
            response = client.get("/unsafe/rs:fit:32:32/plain/local:///core/hopper.jpg")
            assert response.status_code == 200
            time.sleep(DEADLINE + 0.5)  # idle between requests longer than the read deadline
        assert client.get("/health").status_code == 200
