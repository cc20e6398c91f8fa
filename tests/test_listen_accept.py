"""``server.listen.OneAcceptPerTurn``: one connection each time asyncio looks at the socket, and
with a ``ConnectionTable`` none while another process holds fewer connections."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

from imgproxy_py.server.listen import HOLD_BACK_LIMIT, ConnectionTable, OneAcceptPerTurn, one_accept_per_turn


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


def test_the_table_knows_only_the_processes_that_accept() -> None:
    table = ConnectionTable(3)
    assert table.fewest_elsewhere(0) is None  # nobody accepts yet
    table.publish(1, 4)
    table.publish(2, 2)
    assert table.fewest_elsewhere(0) == 2 and table.fewest_elsewhere(2) == 4
    table.gone(2)
    assert table.fewest_elsewhere(0) == 4 and table.fewest_elsewhere(1) is None


class Pair:
    """Two processes' sockets on one listening socket (one process here: the same table)."""

    def __init__(self) -> None:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self.table = ConnectionTable(2)
        second = listener.dup()
        self.first = one_accept_per_turn(listener, self.table, 0)
        self.second = one_accept_per_turn(second, self.table, 1)
        self.clients: list[socket.socket] = []
        self.conns: list[socket.socket] = []

    def connect(self, count: int) -> None:
        self.clients += [socket.create_connection(("127.0.0.1", self.port)) for _ in range(count)]
        time.sleep(0.05)  # in the kernel's accept queue

    def take(self, sock: OneAcceptPerTurn) -> bool:
        """One turn of ``sock``'s loop: did it take a connection?"""
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return False
        self.conns.append(conn)
        sock._took_one = False  # the next turn of its loop
        return True

    def close(self) -> None:
        for s in self.clients + self.conns + [self.first, self.second]:
            s.close()


@pytest.fixture
def pair() -> Iterator[Pair]:
    made = Pair()
    yield made
    made.close()


def test_a_process_holding_more_connections_leaves_the_next_to_the_other(pair: Pair) -> None:
    pair.connect(6)
    assert pair.take(pair.second)
    assert pair.take(pair.first) and pair.take(pair.first)  # 0, then 1, against 1: not more than the other
    assert pair.table.fewest_elsewhere(1) == 2
    assert not pair.take(pair.first)  # 2 against 1: it holds back, the connection waits
    assert pair.take(pair.second)  # ... for the other
    assert pair.take(pair.first)  # 2 against 2: its turn again
    assert not pair.take(pair.first)  # 3 against 2
    for conn in pair.conns[1:3]:  # two of the first's close: it counts them when it next looks
        conn.close()
    assert pair.take(pair.first)  # 1 against 2
    assert pair.table.fewest_elsewhere(1) == 2


def test_a_process_holds_back_only_so_long(pair: Pair) -> None:
    """A neighbour whose loop is stuck costs a connection HOLD_BACK_LIMIT, not more."""
    pair.connect(4)
    assert pair.take(pair.second)
    assert pair.take(pair.first) and pair.take(pair.first)
    assert not pair.take(pair.first)
    time.sleep(HOLD_BACK_LIMIT * 1.5)
    assert pair.take(pair.first)


def test_connections_queued_behind_a_stuck_neighbour_wait_for_it_once(pair: Pair) -> None:
    """Ten connections queued while the other process's loop is stuck cost one HOLD_BACK_LIMIT
    in all, not one each; once the other takes a connection again, holding back resumes."""
    pair.connect(12)
    assert pair.take(pair.second)  # then its loop stops looking
    started = time.monotonic()
    taken = 0
    while taken < 10 and time.monotonic() - started < 1:
        taken += pair.take(pair.first)
    assert taken == 10 and time.monotonic() - started < 3 * HOLD_BACK_LIMIT
    assert pair.take(pair.second)  # it looks again: 10 against 2
    assert not pair.take(pair.first)  # the next connection is left to it


def test_a_process_counts_only_once_it_accepts_and_no_more_once_closed(pair: Pair) -> None:
    """One still loading its models, or one draining, must not make the others wait for it."""
    pair.connect(3)
    assert pair.table.fewest_elsewhere(1) is None
    assert pair.take(pair.first) and pair.take(pair.first) and pair.take(pair.first)
    assert pair.table.fewest_elsewhere(0) is None  # the second never looked: not counted
    pair.connect(1)
    assert pair.take(pair.second)
    assert pair.table.fewest_elsewhere(0) == 1
    pair.second.close()
    assert pair.table.fewest_elsewhere(0) is None
