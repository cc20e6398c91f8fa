"""A small response leaves in one piece (``server/http_protocol.py``): a server process killed
between a response's headers and its body sends nothing, so nginx retries the request on another
node instead of passing a broken image on; and held writes still all arrive."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cluster_services import Nginx
from tests.whole_response_server import BIG_CHUNK, SMALL_BODY

ROOT = Path(__file__).resolve().parent.parent


class Server:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.whole_response_server", *args], cwd=ROOT,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture()
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        started += [Server("mortal"), Server()]
        yield started
    finally:
        for server in started:
            server.stop()


def exchange(port: int, request: bytes) -> bytes:
    """Everything the server sends in answer to ``request`` until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(1 << 20):
                received += chunk
        except ConnectionResetError:
            pass
        return received


def test_a_process_killed_before_the_body_sends_nothing(servers: list[Server]) -> None:
    killed = servers[0]
    assert exchange(killed.port, b"GET /die-before-body HTTP/1.1\r\nHost: x\r\n\r\n") == b""
    assert killed.proc.wait(10) == -signal.SIGKILL


def test_nginx_retries_a_request_whose_node_died_mid_response(servers: list[Server], tmp_path: Path) -> None:
    nginx = Nginx(tmp_path / "nginx", [server.port for server in servers])
    try:
        # Round robin hands the first request to the first node, which dies before the body;
        # with the headers unsent, nginx takes it as a failed node and asks the second.
        response = httpx.get(f"{nginx.base}/die-before-body", timeout=10)
        assert servers[0].proc.wait(10) == -signal.SIGKILL
        assert response.status_code == 200 and response.content == SMALL_BODY, nginx.error_log()
    finally:
        nginx.stop()


def test_held_writes_all_arrive(servers: list[Server]) -> None:
    server = servers[1]
    # Connection: close: the body written just before uvicorn closes still goes out first.
    answer = exchange(server.port, b"GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"\r\n\r\n" + SMALL_BODY)
    answer = exchange(server.port, b"HEAD /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"\r\n\r\n")
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client:
        assert client.get("/die-before-body").content == SMALL_BODY  # a server not started mortal
        for _ in range(3):  # keep-alive: each response whole, none held back for the next
            assert client.get("/small").content == SMALL_BODY
            assert client.get("/big").content == BIG_CHUNK * 3
