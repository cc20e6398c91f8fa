"""Real servers for tests: the imgproxy_py app under uvicorn, and an origin HTTP server.

Both listen on 127.0.0.1 on a random port and run in background threads.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import uvicorn

from imgproxy_py.cli import MAX_REQUEST_HEAD
from imgproxy_py.config import load_config
from imgproxy_py.server.app import create_app
from imgproxy_py.server.composition import Services, build_services
from imgproxy_py.sources.base import Conditional, SizeLimit, SourceImage
from imgproxy_py.sources.dialer import Resolver, system_resolver
from imgproxy_py.sources.http import HttpBackend

ASSETS = Path(__file__).parent / "assets"


@dataclass
class OriginResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


class Origin:
    """A loopback HTTP origin: routes map a path to bytes or to a response factory (which gets
    the handler: one per connection).  ``keep_alive``: HTTP/1.1 with persistent connections, which
    ``connections`` counts; ``tls``: the certificate and key files of an https origin."""

    def __init__(self, keep_alive: bool = False, tls: tuple[Path, Path] | None = None) -> None:
        self.routes: dict[str, OriginResponse | Callable[[BaseHTTPRequestHandler], OriginResponse]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.connections = 0
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def setup(self) -> None:
                super().setup()
                origin.connections += 1

            def do_GET(self) -> None:
                origin.requests.append((self.path, dict(self.headers)))
                route = origin.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    response = OriginResponse(404, b"not found")
                elif callable(route):
                    response = route(self)
                else:
                    response = route
                if response.delay:
                    time.sleep(response.delay)
                if response.drop:
                    self.close_connection = True
                    return
                try:
                    self.send_response(response.status)
                    for key, value in response.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(response.body)))
                    self.end_headers()
                    self.wfile.write(response.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes, status: int = 200, headers: Mapping[str, str] | None = None,
            delay: float = 0.0) -> str:
        self.routes[path] = OriginResponse(status, body, dict(headers or {}), delay)
        return self.url(path)

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p.split("?", 1)[0] == path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def self_signed_origin(folder: Path) -> Origin:
    """An https Origin on 127.0.0.1 with a new self-signed certificate, written to
    ``folder / "cert.pem"`` (the authority a trusting client needs) with its key."""
    from tests.otlp_receiver import self_signed_certificate  # its OpenTelemetry imports, only here

    certificate, key = self_signed_certificate()
    (folder / "cert.pem").write_text(certificate)
    (folder / "key.pem").write_text(key)
    return Origin(tls=(folder / "cert.pem", folder / "key.pem"))


def origin_fetch(url: str, *, env: Mapping[str, str] | None = None, resolver: Resolver = system_resolver,
                 headers: dict[str, str] | None = None) -> SourceImage:
    """``url`` fetched once by a fresh origins' backend (``HttpBackend``) with loopback allowed and
    ``env``'s settings, sending ``headers`` as a client's passed-through ones; closed after."""
    config = load_config({"IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES": "true", **(env or {})})

    async def run() -> SourceImage:
        backend = HttpBackend(config.fetch, config.security, resolver)
        try:
            return await backend.fetch(url, SizeLimit(url, 0), Conditional(), headers)
        finally:
            await backend.close()

    return asyncio.run(run())


class AppServer:
    """imgproxy_py under a real uvicorn on a random loopback port."""

    def __init__(self, env: Mapping[str, str]) -> None:
        config = load_config(env)
        self.app = create_app(config)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # as the CLI binds it: TCP_NODELAY
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        # The request head's limit of `imgproxy-py serve` (imgproxy's 1 MB), not h11's 16 KB.
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_config=None, access_log=False, server_header=False,
                                                    timeout_graceful_shutdown=5,
                                                    h11_max_incomplete_event_size=MAX_REQUEST_HEAD))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)

    @property
    def services(self):  # type: ignore[no-untyped-def]
        return self.app.state.services

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


# uvicorn stamps ``Date`` from a clock its event loop refreshes once a second, later still on a
# loaded machine; ``Expires`` is computed when the response is made.
DATE_SLACK = 5


def expires_in(response: httpx.Response) -> float:
    """Seconds from the response's Date to its Expires."""
    expires = parsedate_to_datetime(response.headers["expires"])
    return (expires - parsedate_to_datetime(response.headers["date"])).total_seconds()


@functools.cache
def _services(env: frozenset[tuple[str, str]]) -> Services:
    return build_services(load_config(dict(env)))


def services_for(env: Mapping[str, str]) -> Services:
    """The server's parts for these settings, without a server: built once per set of settings."""
    return _services(frozenset(env.items()))
