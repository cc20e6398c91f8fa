"""Outbound proxies from ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY``, as imgproxy's fetcher takes
them from Go's ``http.ProxyFromEnvironment``: the rules (``ProxySettings``), and the server going
through a real HTTP forward proxy and a real SOCKS5 proxy on loopback."""

from __future__ import annotations

import base64
import http.client
import socket
import socketserver
import struct
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import pytest

from imgproxy_py.config import load_config, read_config
from imgproxy_py.sources.proxies import ProxySettings
from tests.conftest import asset
from tests.servers import AppServer, Origin

JPEG = asset("hopper.jpg").read_bytes()
HTTP, HTTPS = "http://proxy.internal:3128", "http://tls-proxy.internal:3129"


def settings(**env: str) -> ProxySettings:
    return load_config(env).fetch.proxies


@pytest.mark.parametrize(
    ("no_proxy", "url", "proxied"),
    [
        ("", "http://images.example.com/a.jpg", HTTP),
        ("", "https://images.example.com/a.jpg", HTTPS),
        ("", "ftp://images.example.com/a.jpg", ""),
        # localhost and loopback addresses never go through a proxy
        ("", "http://localhost:8080/a.jpg", ""),
        ("", "http://127.0.0.2/a.jpg", ""),
        ("", "http://[::1]/a.jpg", ""),
        ("*", "http://images.example.com/a.jpg", ""),
        # a domain covers itself and its subdomains, not a name that merely ends like it
        ("example.com", "http://example.com/a.jpg", ""),
        ("example.com", "http://images.example.com/a.jpg", ""),
        ("example.com", "http://badexample.com/a.jpg", HTTP),
        # a leading dot (or *.) covers the subdomains only
        (".example.com", "http://example.com/a.jpg", HTTP),
        (".example.com", "http://images.example.com/a.jpg", ""),
        ("*.example.com", "https://images.example.com/a.jpg", ""),
        # a port narrows an entry; a URL without one has its scheme's
        ("example.com:8080", "http://example.com:8080/a.jpg", ""),
        ("example.com:8080", "http://example.com/a.jpg", HTTP),
        ("example.com:443", "https://example.com/a.jpg", ""),
        # IPs and networks cover addresses only
        ("10.0.0.0/8", "http://10.1.2.3/a.jpg", ""),
        ("10.0.0.0/8", "http://11.1.2.3/a.jpg", HTTP),
        ("192.168.1.1", "http://192.168.1.1:8080/a.jpg", ""),
        ("192.168.1.1:80", "http://192.168.1.1:8080/a.jpg", HTTP),
        ("[2001:db8::1]:443", "https://[2001:db8::1]/a.jpg", ""),
        ("2001:db8::/32", "https://[2001:db8::7]/a.jpg", ""),
        ("10.0.0.0/8", "http://ten.example.com/a.jpg", HTTP),
        # entries are trimmed, compared case-insensitively and as IDNA
        (" Other.org , EXAMPLE.com ", "http://Images.Example.com/a.jpg", ""),
        ("bücher.de", "http://www.bücher.de/a.jpg", ""),
        (":8080, ,", "http://images.example.com/a.jpg", HTTP),  # no host part: ignored
    ],
)
def test_which_urls_go_through_the_proxy(no_proxy: str, url: str, proxied: str) -> None:
    proxies = settings(HTTP_PROXY=HTTP, HTTPS_PROXY=HTTPS, NO_PROXY=no_proxy)
    assert proxies.proxy_for(httpx.URL(url)) == proxied


def test_proxy_settings_are_read_as_go_reads_them() -> None:
    # the upper-case name first, then the lower-case; a bare host:port is http://
    assert settings(HTTP_PROXY="proxy:3128", http_proxy="http://other:1").http == "http://proxy:3128"
    assert settings(https_proxy="https://secure-proxy:8443", no_proxy="example.com").https == "https://secure-proxy:8443"
    assert settings(no_proxy="*").bypass_all and settings().http == settings().https == ""
    assert settings(HTTPS_PROXY="socks5://127.0.0.1:1080").https == "socks5://127.0.0.1:1080"
    _, problems = read_config({"HTTPS_PROXY": "ftp://127.0.0.1:21", "HTTP_PROXY": "http://"})
    assert any(p.startswith("HTTPS_PROXY:") for p in problems) and any(p.startswith("HTTP_PROXY:") for p in problems)


class ForwardProxy:
    """A real HTTP forward proxy on loopback: it relays absolute-form GETs to ``upstream``
    (whatever their host) and refuses CONNECT; it records what it was asked."""

    def __init__(self, upstream_port: int) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.requests.append(("GET", self.path, dict(self.headers)))
                target = urlsplit(self.path)
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=10)
                upstream.request("GET", target.path, headers={"Host": target.netloc})
                answer = upstream.getresponse()
                body = answer.read()
                self.send_response(answer.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                upstream.close()

            def do_CONNECT(self) -> None:
                proxy.requests.append(("CONNECT", self.path, dict(self.headers)))
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def forward_proxy(origin: Origin) -> Iterator[ForwardProxy]:
    proxy = ForwardProxy(origin.port)
    yield proxy
    proxy.server.shutdown()
    proxy.server.server_close()


def test_sources_are_fetched_through_the_proxy(client: httpx.Client, origin: Origin, forward_proxy: ForwardProxy,
                                               start_server: Callable[..., AppServer]) -> None:
    origin.add("/proxied/a.jpg", JPEG)
    user_proxy = forward_proxy.url.replace("http://", "http://img:s3cret@")
    server = start_server(HTTP_PROXY=user_proxy, HTTPS_PROXY=forward_proxy.url, NO_PROXY="direct.example.test")
    response = client.get(f"{server.base}/unsafe/rs:fit:64:64/plain/http://images.example.test/proxied/a.jpg")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    method, target, headers = forward_proxy.requests[-1]
    assert (method, target) == ("GET", "http://images.example.test/proxied/a.jpg")
    assert headers["Proxy-Authorization"] == "Basic " + base64.b64encode(b"img:s3cret").decode()
    assert origin.count("/proxied/a.jpg") == 1
    # https goes through the proxy's tunnel (refused by this one: the source is unreachable)
    response = client.get(f"{server.base}/unsafe/w:10/plain/https://images.example.test/proxied/a.jpg")
    assert response.status_code == 404
    assert forward_proxy.requests[-1][:2] == ("CONNECT", "images.example.test:443")
    # NO_PROXY and loopback go direct: the proxy is not asked
    seen = len(forward_proxy.requests)
    assert client.get(f"{server.base}/unsafe/w:10/plain/http://direct.example.test/a.jpg").status_code == 404
    response = client.get(f"{server.base}/unsafe/w:10/plain/http://localhost:{origin.port}/proxied/a.jpg")
    assert response.status_code == 200
    assert len(forward_proxy.requests) == seen


def test_the_proxys_address_is_checked_as_a_sources(client: httpx.Client, origin: Origin,
                                                    forward_proxy: ForwardProxy,
                                                    start_server: Callable[..., AppServer]) -> None:
    """imgproxy's dialer checks every address it connects to, the proxy's included: a proxy on
    loopback needs IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES, as there."""
    origin.add("/proxied/b.jpg", JPEG)
    server = start_server(HTTP_PROXY=forward_proxy.url, IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES="false")
    response = client.get(f"{server.base}/unsafe/w:10/plain/http://images.example.test/proxied/b.jpg")
    assert response.status_code == 404
    assert forward_proxy.requests == []


class Socks5Proxy:
    """A real SOCKS5 proxy on loopback (RFC 1928, with RFC 1929's user and password): it connects
    every CONNECT to ``upstream``, whatever its host, relays both ways, and records the targets."""

    def __init__(self, upstream_port: int, user: bytes, password: bytes) -> None:
        self.targets: list[tuple[str, int]] = []
        self.logins: list[tuple[bytes, bytes]] = []
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                client: socket.socket = self.request
                _, count = client.recv(2)
                if 2 not in client.recv(count):  # user/password required
                    client.sendall(b"\x05\xff")
                    return
                client.sendall(b"\x05\x02")
                _, length = client.recv(2)
                name = client.recv(length)
                secret = client.recv(client.recv(1)[0])
                proxy.logins.append((name, secret))
                client.sendall(b"\x01\x00" if (name, secret) == (user, password) else b"\x01\x01")
                _, _connect, _, kind = client.recv(4)
                if kind == 3:
                    host = client.recv(client.recv(1)[0]).decode()
                else:
                    host = socket.inet_ntop(socket.AF_INET if kind == 1 else socket.AF_INET6,
                                            client.recv(4 if kind == 1 else 16))
                (port,) = struct.unpack("!H", client.recv(2))
                proxy.targets.append((host, port))
                upstream = socket.create_connection(("127.0.0.1", upstream_port))
                client.sendall(b"\x05\x00\x00\x01" + bytes(6))
                relay = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
                relay.start()
                pipe(client, upstream)
                relay.join(10)
                upstream.close()

        def pipe(source: socket.socket, target: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    target.sendall(data)
                target.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"socks5://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_sources_are_fetched_through_a_socks5_proxy(client: httpx.Client, origin: Origin,
                                                    start_server: Callable[..., AppServer]) -> None:
    proxy = Socks5Proxy(origin.port, b"img", b"s3cret")
    try:
        origin.add("/proxied/socks.jpg", JPEG)
        server = start_server(HTTP_PROXY=proxy.url.replace("socks5://", "socks5://img:s3cret@"))
        response = client.get(f"{server.base}/unsafe/rs:fit:64:64/plain/http://images.example.test/proxied/socks.jpg")
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        assert proxy.targets == [("images.example.test", 80)]  # the proxy resolves the name
        assert proxy.logins == [(b"img", b"s3cret")]
        assert origin.count("/proxied/socks.jpg") == 1
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()
