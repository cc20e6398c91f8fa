"""Where the server listens: ``IMGPROXY_NETWORK`` and ``IMGPROXY_BIND`` as imgproxy reads them.

``tcp`` (the default), ``tcp4`` and ``tcp6`` listen on ``host:port``; ``unix`` on the socket
file ``IMGPROXY_BIND`` names (a front proxy on the same host, e.g. nginx's
``proxy_pass http://unix:/run/imgproxy.sock``).  The socket is bound before start-up so that a
busy address is one clear error, and before the fork when there are several processes.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from dataclasses import dataclass
from typing import Any

NETWORKS = ("tcp", "tcp4", "tcp6", "unix")


@dataclass(frozen=True)
class ListenAddress:
    network: str = "tcp"
    host: str = "0.0.0.0"
    port: int = 8080
    path: str = ""  # the socket file when network is "unix"

    @property
    def where(self) -> str:
        """For messages: ``host:port`` or ``unix:/path``."""
        if self.network == "unix":
            return f"unix:{self.path}"
        return f"{f'[{self.host}]' if ':' in self.host else self.host}:{self.port}"

    @property
    def url(self) -> str:
        """For the start-up log: ``http://host:port`` or ``unix:/path``."""
        return self.where if self.network == "unix" else f"http://{self.where}"

    def local_base_url(self) -> str:
        """The URL a client on this host uses (a wildcard address means loopback)."""
        if self.network == "unix":
            return "http://localhost"
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"


def parse_listen_address(network: str, bind: str) -> tuple[ListenAddress, list[str]]:
    """imgproxy's ``IMGPROXY_NETWORK`` + ``IMGPROXY_BIND`` (blank host: every address)."""
    network = network.strip().lower() or "tcp"
    if network not in NETWORKS:
        hint = " (HTTP needs a stream socket: use unix)" if network == "unixpacket" else ""
        return ListenAddress(), [f"IMGPROXY_NETWORK: {network!r} is not one of {', '.join(NETWORKS)}{hint}"]
    if network == "unix":
        if not bind or bind.startswith(":"):
            return ListenAddress(), [f"IMGPROXY_BIND: {bind!r} is not a socket path (IMGPROXY_NETWORK=unix)"]
        return ListenAddress(network, "", 0, bind), []
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return ListenAddress(network), [f"IMGPROXY_BIND: {bind!r} is not host:port"]
    host = host.strip("[]") or ("::" if network == "tcp6" else "0.0.0.0")
    return ListenAddress(network, host, int(port)), []


def bind_socket(host: str, port: int, *, reuse_port: bool = False, ipv6_only: bool = False) -> socket.socket:
    """A listening TCP socket; ``reuse_port`` (``IMGPROXY_SO_REUSEPORT``) lets other servers bind
    the same port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on connections
    # whose socket says TCP, and accepted connections inherit this socket's protocol.  With Nagle
    # on, a response's body waits for the client's delayed ACK of its headers: +40 ms on every
    # keep-alive request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if ipv6_only else 0)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def bind_unix_socket(path: str) -> socket.socket:
    """A listening unix socket at ``path``; a socket file left by a server that is gone is
    replaced, one that a live server answers on is not."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(os.lstat(path).st_mode) and not _answers(path):
            os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _answers(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def listen(address: ListenAddress, *, reuse_port: bool = False) -> socket.socket:
    if address.network == "unix":
        return bind_unix_socket(address.path)
    return bind_socket(address.host, address.port, reuse_port=reuse_port, ipv6_only=address.network == "tcp6")


class OneAcceptPerTurn(socket.socket):
    """A listening socket shared by several server processes that takes one connection each time
    its event loop looks, so that the processes share a burst of new connections out.

    asyncio accepts until the kernel's queue is empty each time the socket is readable.  Every
    process sharing the socket is woken by a connection, and the first one to run takes the
    whole burst: a load balancer's or a benchmark's eight keep-alive connections opened at once
    can all land on one process while the others idle, for as long as the connections live.
    Here the accept after a successful one ends the turn (``BlockingIOError``, which asyncio
    takes for an empty queue); the socket is still readable, so the next turn of whichever loop
    is free first takes the next connection, and a busy process takes fewer."""

    _took_one = False

    def accept(self) -> tuple[socket.socket, Any]:
        if self._took_one:
            self._took_one = False
            raise BlockingIOError
        conn, address = super().accept()
        self._took_one = True
        return conn, address


def one_accept_per_turn(sock: socket.socket) -> OneAcceptPerTurn:
    """``sock`` (a listening socket, given up) as a :class:`OneAcceptPerTurn`."""
    return OneAcceptPerTurn(sock.family, sock.type, sock.proto, fileno=sock.detach())
