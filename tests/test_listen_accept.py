"""``server.listen.OneAcceptPerTurn``: one connection each time asyncio looks at the socket."""

from __future__ import annotations

import asyncio
import socket

import pytest

from imgproxy_py.server.listen import one_accept_per_turn


def test_the_accept_after_a_successful_one_ends_the_turn() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    sock = one_accept_per_turn(listener)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    try:
        conn, _ = sock.accept()
        conn.close()
        with pytest.raises(BlockingIOError):  # asyncio's accept loop stops here
            sock.accept()
        conn, _ = sock.accept()  # the next turn takes the next one
        conn.close()
    finally:
        for c in clients:
            c.close()
        sock.close()


def test_an_asyncio_server_on_it_still_takes_every_connection() -> None:
    async def scenario() -> int:
        served = 0

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal served
            served += 1
            writer.close()

        sock = one_accept_per_turn(socket.create_server(("127.0.0.1", 0)))
        server = await asyncio.start_server(answer, sock=sock)
        port = sock.getsockname()[1]
        pairs = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(20)))
        for _ in range(100):
            if served == 20:
                break
            await asyncio.sleep(0.02)
        for _, writer in pairs:
            writer.close()
        server.close()
        await server.wait_closed()
        return served

    assert asyncio.run(scenario()) == 20
