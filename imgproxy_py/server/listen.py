"""Where the server listens: ``IMGPROXY_NETWORK`` and ``IMGPROXY_BIND`` as imgproxy reads them.

``tcp`` (the default), ``tcp4`` and ``tcp6`` listen on ``host:port``; ``unix`` on the socket
file ``IMGPROXY_BIND`` names (a front proxy on the same host, e.g. nginx's
``proxy_pass http://unix:/run/imgproxy.sock``).  The socket is bound before start-up so that a
busy address is one clear error, and before the fork when there are several processes.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import socket
import stat
import time
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


class ConnectionTable:
    """How many connections each server process sharing a socket holds open, in memory that the
    processes share (made before the fork; one slot per process, a replacement takes the slot of
    the process it replaces).  A slot whose process is not accepting (not started yet, or gone)
    holds ``ABSENT``.  Values are read without a lock: a stale one is only ever too high (a
    process publishes on each look at the socket, and its connections only close in between),
    and a too-high neighbour never makes a process hold back (see ``OneAcceptPerTurn``)."""

    ABSENT = -1

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._memory = mmap.mmap(-1, 8 * slots)  # anonymous and MAP_SHARED: shared with forked children
        self._counts = memoryview(self._memory).cast("q")
        for slot in range(slots):
            self._counts[slot] = self.ABSENT

    def publish(self, slot: int, open_connections: int) -> None:
        self._counts[slot] = open_connections

    def gone(self, slot: int) -> None:
        """The slot's process has exited: nobody waits for it to accept."""
        self._counts[slot] = self.ABSENT

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The fewest connections another accepting process holds (None: no other accepts)."""
        others = [self._counts[other] for other in range(self.slots) if other != slot]
        accepting = [count for count in others if count != self.ABSENT]
        return min(accepting) if accepting else None


# How long a process holds back a connection waiting for a less loaded one to take it, at most:
# a neighbour whose event loop is stuck costs a new connection this much, once.
HOLD_BACK_LIMIT = 0.02
# While holding back, the socket stays readable and asyncio calls accept on every turn of the
# loop: a short sleep gives the core (and this process's GIL) to the others instead of spinning.
HOLD_BACK_PAUSE = 0.0002


class OneAcceptPerTurn(socket.socket):
    """A listening socket shared by several server processes that takes one connection each time
    its event loop looks, so that the processes share a burst of new connections out.

    asyncio accepts until the kernel's queue is empty each time the socket is readable.  Every
    process sharing the socket is woken by a connection, and the first one to run takes the
    whole burst: a load balancer's or a benchmark's eight keep-alive connections opened at once
    can all land on one process while the others idle, for as long as the connections live.
    Here the accept after a successful one ends the turn (``BlockingIOError``, which asyncio
    takes for an empty queue); the socket is still readable, so the next turn of whichever loop
    is free first takes the next connection, and a busy process takes fewer.

    With a :class:`ConnectionTable` (the supervisor's), a process that holds more connections
    than another accepting process also lets the connection wait (up to ``HOLD_BACK_LIMIT``) for
    that one to take it: nginx's ``least_conn`` at the accept, so that eight connections over
    two processes split 4/4, not 5/3 (a process with one connection more than its workers can
    serve queues its requests while its neighbour idles: the p99 at concurrency 8)."""

    _took_one = False
    _table: ConnectionTable | None = None
    _slot = 0
    # The connections this process accepted that are still open (asyncio's transport closes the
    # very socket object accept returned, whose fileno() is then -1).
    _accepted: list[socket.socket]
    # While holding back: since when, and the neighbour's count then (a change means another
    # process took a connection: the wait starts again for the next one).
    _holding_since: float | None = None
    _holding_for: int | None = None
    # The neighbour's count when a hold-back ran out: until it changes, the neighbour is not
    # accepting (its loop is stuck, or it is being replaced) and the connections queued behind
    # are taken at once, not HOLD_BACK_LIMIT each.
    _gave_up_at: int | None = None

    def accept(self) -> tuple[socket.socket, Any]:
        if self._took_one:
            self._took_one = False
            raise BlockingIOError
        if self._table is not None and self._holds_back():
            time.sleep(HOLD_BACK_PAUSE)
            raise BlockingIOError
        conn, address = super().accept()
        self._took_one = True
        self._holding_since = None
        if self._table is not None:
            self._accepted.append(conn)
            self._table.publish(self._slot, len(self._accepted))
        return conn, address

    def _holds_back(self) -> bool:
        assert self._table is not None
        self._accepted = [conn for conn in self._accepted if conn.fileno() != -1]
        mine = len(self._accepted)
        self._table.publish(self._slot, mine)
        fewest = self._table.fewest_elsewhere(self._slot)
        if fewest is None or mine <= fewest:
            self._holding_since = self._gave_up_at = None
            return False
        if fewest == self._gave_up_at:
            return False
        now = time.monotonic()
        if self._holding_since is None or self._holding_for != fewest:
            self._holding_since, self._holding_for = now, fewest
        if now - self._holding_since < HOLD_BACK_LIMIT:
            return True
        self._holding_since, self._gave_up_at = None, fewest
        return False

    def balanced_by(self, table: ConnectionTable, slot: int) -> OneAcceptPerTurn:
        # The slot stays ABSENT until the first accept: a process still loading its models must
        # not make the others hold connections back for it.
        self._table, self._slot, self._accepted = table, slot, []
        return self

    def close(self) -> None:
        # The server stops accepting (a drain on SIGTERM): the others stop waiting for it.
        if self._table is not None:
            self._table.gone(self._slot)
        super().close()


def one_accept_per_turn(sock: socket.socket, table: ConnectionTable | None = None, slot: int = 0) -> OneAcceptPerTurn:
    """``sock`` (a listening socket, given up) as a :class:`OneAcceptPerTurn`; with ``table``,
    the process in ``slot`` also leaves a connection to a process that holds fewer."""
    shared = OneAcceptPerTurn(sock.family, sock.type, sock.proto, fileno=sock.detach())
    return shared if table is None else shared.balanced_by(table, slot)
