"""Error reports to Sentry (IMGPROXY_SENTRY_*, IMGPROXY_REPORT_DOWNLOADING_ERRORS): the real
sentry-sdk in a real server process, sending to a Sentry-protocol listener on loopback; and the
detailed answers of IMGPROXY_DEVELOPMENT_ERRORS_MODE."""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgproxy_py.errors import InvalidURLError, SourceNotFoundError, SourceTimeoutError, UnprocessableImageError
from imgproxy_py.server.error_reporting import should_report
from tests.cluster_nodes import Node
from tests.servers import AppServer, Origin


class ReportListener:
    """An error-tracking service's API on loopback: answers every POST and keeps its path,
    headers and body (un-gzipped)."""

    def __init__(self) -> None:
        posts: list[tuple[str, dict[str, str], bytes]] = []
        self.posts = posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                posts.append((self.path, dict(self.headers), body))
                answer = b'{"id": "1"}'
                self.send_response(201 if "/notices" in self.path else 200)  # Honeybadger, Airbrake: created
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SentryListener(ReportListener):
    """Takes the SDK's envelopes (``POST /api/<project>/envelope/``)."""

    @property
    def dsn(self) -> str:
        return self.url.replace("http://", "http://publickey@") + "/1"

    @property
    def events(self) -> list[dict[str, Any]]:
        found = []
        for _, _, body in self.posts:
            lines = body.split(b"\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found


@pytest.fixture()
def sentry() -> Iterator[SentryListener]:
    listener = SentryListener()
    yield listener
    listener.close()


def serve_and_stop(requests: list[str], **settings: str) -> list[int]:
    """Start `imgproxy-py serve`, make ``requests``, stop it with SIGTERM (which sends what is
    queued); the statuses answered."""
    node = Node(settings)
    try:
        node.wait_ready()
        return [httpx.get(node.base + path, timeout=30).status_code for path in requests]
    finally:
        node.stop()


def test_reported_errors_reach_sentry(sentry: SentryListener, origin: Origin) -> None:
    broken = origin.add("/reporting/broken.jpg", b"oops", status=500)
    statuses = serve_and_stop([f"/unsafe/w:10/plain/{broken}", "/unsafe/not-a-valid-url"],
                              IMGPROXY_SENTRY_DSN=sentry.dsn, IMGPROXY_SENTRY_ENVIRONMENT="staging")
    assert statuses == [502, 404]
    assert len(sentry.events) == 1  # the bad URL is the client's error: not reported
    event = sentry.events[0]
    exception = event["exception"]["values"][-1]  # type: ignore[index]
    assert exception["type"] == "OriginStatusError"
    assert event["environment"] == "staging" and str(event["release"]).startswith("imgproxy_py@")
    assert event["contexts"]["request"]["path"] == f"/unsafe/w:10/plain/{broken}"  # type: ignore[index]


def test_downloading_errors_can_be_left_out(sentry: SentryListener, origin: Origin) -> None:
    broken = origin.add("/reporting/broken-too.jpg", b"oops", status=500)
    statuses = serve_and_stop([f"/unsafe/w:10/plain/{broken}"], IMGPROXY_SENTRY_DSN=sentry.dsn,
                              IMGPROXY_REPORT_DOWNLOADING_ERRORS="false")
    assert statuses == [502] and sentry.events == []


@pytest.mark.parametrize(("exc", "downloading", "reported"), [
    (RuntimeError("bug"), False, True),
    (SourceNotFoundError("gone"), True, True),
    (SourceNotFoundError("gone"), False, False),
    (SourceTimeoutError("slow"), False, False),
    (InvalidURLError("bad"), True, False),
    (UnprocessableImageError("garbage"), True, False),
])
def test_what_is_reported(exc: Exception, downloading: bool, reported: bool) -> None:
    assert should_report(exc, downloading) is reported


def test_development_errors_mode(start_server: Callable[..., AppServer]) -> None:
    target = "/unsafe/w:10/plain/local:///core/no-such-<file>.jpg"
    quiet, detailed = start_server(), start_server(IMGPROXY_DEVELOPMENT_ERRORS_MODE="true")
    with httpx.Client(timeout=30) as client:
        short = client.get(quiet.base + target)
        text = client.get(detailed.base + target)
        page = client.get(detailed.base + target, headers={"Accept": "text/html,*/*"})
    assert short.status_code == text.status_code == page.status_code == 404
    assert "Traceback" not in short.text and "no-such" not in short.text
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text.startswith(short.text) and "Traceback" in text.text and "no-such-<file>.jpg" in text.text
    assert page.headers["content-type"].startswith("text/html")
    assert "<pre>" in page.text and "no-such-&lt;file&gt;.jpg" in page.text and "<file>" not in page.text


@pytest.mark.parametrize("report_io_errors", [False, True])
def test_responses_the_client_abandons(sentry: SentryListener, tmp_path: Path, report_io_errors: bool) -> None:
    """A client that goes away in the middle of a large response: logged always, reported to the
    error service (as imgproxy's IO errors) only with IMGPROXY_REPORT_IO_ERRORS."""
    log_path = tmp_path / "node.log"
    node = Node({"IMGPROXY_SENTRY_DSN": sentry.dsn, "IMGPROXY_REPORT_IO_ERRORS": str(report_io_errors).lower()},
                log_path=log_path)
    path = "/unsafe/rs:fit:3000:3000:1:1/f:bmp/plain/local:///core/hopper.jpg"  # 27 MB
    try:
        node.wait_ready()
        with httpx.Client(base_url=node.base, timeout=30) as client:  # taken whole, twice, on one connection
            for _ in range(2):
                taken = client.get(path)
                assert taken.status_code == 200 and len(taken.content) > 20_000_000, (taken, taken.content[:300])
        with socket.socket() as sock:
            # A small receive buffer set before connecting, so the window the client offers stays
            # small: else the kernels may take the whole image, which then counts as delivered.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
            sock.connect(("127.0.0.1", node.port))
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            sock.settimeout(30)
            assert sock.recv(1024).startswith(b"HTTP/1.1 200")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not a close
        assert httpx.get(f"{node.base}/health", timeout=30).status_code == 200  # the server carries on

        def reported() -> list[dict[str, Any]]:
            return [event for event in sentry.events
                    if event["exception"]["values"][-1]["type"] == "ResponseWriteError"]  # type: ignore[index]

        waited = time.monotonic() + 20
        while time.monotonic() < waited and ("failed to write response" not in log_path.read_text(errors="replace")
                                             or (report_io_errors and not reported())):
            time.sleep(0.1)
    finally:
        node.stop()
    log = log_path.read_text(errors="replace")
    assert log.count("failed to write response") == 1, log
    assert "failed to write response: the client closed the connection" in log, log
    assert len(reported()) == (1 if report_io_errors else 0), (log, sentry.events)
    if report_io_errors:
        assert reported()[0]["contexts"]["request"]["path"] == path  # type: ignore[index]
