"""uvicorn's HTTP protocol with imgproxy's connection deadlines, and whole small responses.

uvicorn closes a connection idle between requests (``IMGPROXY_KEEP_ALIVE_TIMEOUT``) but waits
without end for a request that arrives slowly, and for a client that does not read its
response: a few hundred such connections ("slowloris", slow reads) would hold every client slot
and the memory of every unread image.  imgproxy's Go server bounds both, and so do we:

- ``IMGPROXY_READ_REQUEST_TIMEOUT`` (10 s): from a connection's opening, or from the first byte
  of a later request on it, until that request, headers and body, is read (a video upload's
  body is also bounded by ``IMGPROXY_TIMEOUT``, as its processing is);
- ``IMGPROXY_WRITE_RESPONSE_TIMEOUT`` (10 s): from a response's first byte until the client has
  taken all of it.

Past either, the connection is closed, as Go's server closes it.  0 turns a deadline off.

The protocol also sees what the application cannot: a response the client did not take whole
(the connection lost mid-response, or cut by the write deadline).  ``on_undelivered`` hears of
each, as imgproxy hears of a failed write (``IMGPROXY_REPORT_IO_ERRORS``).

And it sends a small response's headers and body in one piece (see ``_WatchedTransport``), so
that a process killed mid-response leaves nothing a front proxy could not retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

import h11
from starlette.types import Scope

# Told of a response the client did not take whole: its request's scope and why.
UndeliveredHook = Callable[[Scope, str], None]


# Writes at least this large leave at once (with what waits before them): holding them for the
# end of the loop's turn would save no send.
_HOLD_LIMIT = 64 * 1024


class _WatchedTransport:
    """The transport as uvicorn's protocol sees it.

    Writes made in one turn of the event loop leave in one send.  uvicorn writes a response's
    headers and its body separately, with no pause between; sent apart, a process killed between
    the two (SIGKILL, the OOM killer) leaves the front proxy holding a response's headers without
    its body: nginx has passed them on and cannot retry on another node, and the client gets a
    broken image.  Together, a small response is all or nothing, and costs one send, not two.

    Every write reports itself first, and a send that finds the connection failing reports itself
    after.  uvicorn writes nothing once it has closed a connection itself, so a send that leaves
    the transport closing was refused by the socket (the client reset it) or dropped (the reset
    was seen just before)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop,
                 on_write: Callable[[], None], on_refused: Callable[[], None]) -> None:
        self._transport = transport
        self._loop = loop
        self._on_write = on_write
        self._on_refused = on_refused
        self._held: list[bytes] = []
        self._held_size = 0
        self._send_soon: asyncio.Handle | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._on_write()
        if not data:
            return
        self._held.append(bytes(data))
        self._held_size += len(data)
        if self._held_size >= _HOLD_LIMIT:
            self._send()
        elif self._send_soon is None:
            self._send_soon = self._loop.call_soon(self._send)

    def _send(self) -> None:
        if self._send_soon is not None:
            self._send_soon.cancel()
            self._send_soon = None
        if not self._held:
            return
        held, self._held, self._held_size = self._held, [], 0
        if self._transport.is_closing():  # reset by the client since these were written
            self._on_refused()
            return
        # One write, not writelines: Python 3.12's writelines skips the transport's high-water
        # check, which pauses uvicorn's writing for a client that reads slowly.  The join copies
        # at most one large piece, once.
        self._transport.write(held[0] if len(held) == 1 else b"".join(held))
        if self._transport.is_closing():
            self._on_refused()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held_size

    def close(self) -> None:
        self._send()  # what was written goes before the close, as the transport's own buffer does
        self._transport.close()

    def abort(self) -> None:
        if self._send_soon is not None:
            self._send_soon.cancel()
            self._send_soon = None
        self._held, self._held_size = [], 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def server_protocol(base: type[asyncio.Protocol], read_timeout: float, write_timeout: float,
                    on_undelivered: UndeliveredHook | None = None) -> type[asyncio.Protocol]:
    """``base`` (one of uvicorn's HTTP/1.1 protocols) closing connections past imgproxy's read
    and write deadlines (0: none), telling ``on_undelivered`` of responses not taken whole, and
    sending what one turn of the event loop writes in one piece."""
    class ServerProtocol(base):  # type: ignore[valid-type,misc]
        _read_timer: asyncio.TimerHandle | None = None
        _write_timer: asyncio.TimerHandle | None = None
        _written_cycle: Any = None
        _undelivered_told: Any = None  # the cycle whose failed response was reported
        _backlogged = False  # more of a response waits in our buffer than the transport's high-water mark
        _refused = False  # a write of the current response failed: uvicorn still calls it complete

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            # What the request cycles write through.
            self.transport: Any = _WatchedTransport(cast(asyncio.Transport, transport), self.loop,
                                                    self._response_writing, self._write_refused)
            self._arm_read()

        def data_received(self, data: bytes) -> None:
            if self._read_timer is None and not self._reading_done():
                self._arm_read()  # the first bytes of a request after the previous response
            super().data_received(data)
            if self._reading_done():
                self._cancel_read()

        def send_400_response(self, msg: str) -> None:
            """uvicorn answers every malformed request 400; a request head past the limit (h11's
            buffer past it) gets Go's 431 instead, as imgproxy's server answers it."""
            conn, limit = getattr(self, "conn", None), getattr(self.config, "h11_max_incomplete_event_size", 0)
            if not (isinstance(conn, h11.Connection) and limit and len(conn.trailing_data[0]) > limit):
                super().send_400_response(msg)
                return
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
            for event in (h11.Response(status_code=431, headers=headers, reason=b"Request Header Fields Too Large"),
                          h11.Data(data=b"431 Request Header Fields Too Large"), h11.EndOfMessage()):
                self.transport.write(conn.send(event))
            self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            for timer in (self._read_timer, self._write_timer):
                if timer is not None:
                    timer.cancel()
            # uvicorn calls a response complete once the application has handed over its last
            # byte; a large image may then still wait in the transport's buffer for the client.
            cycle = getattr(self, "cycle", None)
            if cycle is not None and cycle.response_started and (
                    not cycle.response_complete or self._backlogged or self._refused):
                self._undelivered(cycle, "the client closed the connection before the whole response")
            super().connection_lost(exc)

        def pause_writing(self) -> None:
            self._backlogged = True
            super().pause_writing()

        def resume_writing(self) -> None:
            self._backlogged = False
            super().resume_writing()

        def _undelivered(self, cycle: Any, reason: str) -> None:
            if on_undelivered is not None and cycle is not self._undelivered_told:
                self._undelivered_told = cycle
                on_undelivered(cycle.scope, reason)

        def _reading_done(self) -> bool:
            """A request is fully read and its response not yet complete."""
            cycle = getattr(self, "cycle", None)
            return cycle is not None and not cycle.more_body and not cycle.response_complete

        def _cancel_read(self) -> None:
            if self._read_timer is not None:
                self._read_timer.cancel()
                self._read_timer = None

        def _arm_read(self) -> None:
            if read_timeout:
                self._read_timer = self.loop.call_later(read_timeout, self._read_expired)

        def _read_expired(self) -> None:
            self._read_timer = None
            if not self._reading_done():
                self.transport.close()

        def _write_refused(self) -> None:
            self._refused = True

        def _response_writing(self) -> None:
            cycle = getattr(self, "cycle", None)
            if not write_timeout or cycle is None or cycle is self._written_cycle:
                return
            if self._write_timer is not None:
                self._write_timer.cancel()
            self._written_cycle = cycle
            self._write_timer = self.loop.call_later(write_timeout, self._write_expired, cycle)

        def _write_expired(self, cycle: Any) -> None:
            self._write_timer = None
            unsent = self.transport.get_write_buffer_size() > 0
            if not cycle.response_complete or (unsent and self._written_cycle is cycle):
                self._undelivered(cycle, f"the client did not read it within {write_timeout:g} s "
                                         "(IMGPROXY_WRITE_RESPONSE_TIMEOUT)")
                self.transport.abort()  # close() would wait for the client to read

    return ServerProtocol
