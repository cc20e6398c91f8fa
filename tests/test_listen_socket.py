"""The server's listening socket: connections accepted on it send without Nagle's delay.

With Nagle's algorithm on, a response written as headers then body waits, on a keep-alive
connection, for the client's delayed ACK of the headers before the body goes out: 40 ms more
on every request after the first.  asyncio turns it off (TCP_NODELAY) only on sockets that say
they are TCP, and an accepted connection takes the listening socket's protocol.
"""

from __future__ import annotations

import asyncio
import socket
import time

from imgproxy_py.server.listen import bind_socket


async def _nodelay_of_accepted(sock: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = writer.get_extra_info("socket")
        accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connect, sock=sock)
    async with server:
        host, port = sock.getsockname()[:2]
        _, writer = await asyncio.open_connection(host, port)
        value = await asyncio.wait_for(accepted, 5)
        writer.close()
        return value


def test_listening_socket_is_tcp_so_accepted_connections_get_nodelay() -> None:
    sock = bind_socket("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP
    assert asyncio.run(_nodelay_of_accepted(sock)) != 0


def test_keep_alive_responses_are_not_held_back_by_delayed_acks() -> None:
    """Headers then a body of a few KB, four times on one connection: no 40 ms wait each time."""
    body = b"x" * 20_000

    async def main() -> float:
        sock = bind_socket("127.0.0.1", 0)

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while await reader.readline():
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n")
                await writer.drain()
                writer.write(body)
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(on_connect, sock=sock)
        async with server:
            host, port = sock.getsockname()[:2]
            reader, writer = await asyncio.open_connection(host, port)
            started = time.perf_counter()
            for _ in range(4):
                writer.write(b"GET\n")
                await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(len(body))
            elapsed = time.perf_counter() - started
            writer.close()
            return elapsed

    # Nagle's algorithm would hold three of the four bodies for a delayed ACK (40 ms each).
    assert asyncio.run(main()) < 0.1
