"""IMGPROXY_PROCESSES: several server processes on one port; a dead one is replaced, SIGTERM
lets every process finish its requests in flight."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from imgproxy_py.cluster.config import usable_cpus
from imgproxy_py.config import read_config
from tests.cluster_nodes import Node, wait_for
from tests.servers import Origin


@pytest.fixture()
def two_process_node() -> Iterator[Node]:
    node = Node({"IMGPROXY_PROCESSES": "2"})
    try:
        node.wait_ready()
        yield node
    finally:
        node.stop()


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_two_processes_serve_and_a_killed_one_is_replaced(two_process_node: Node, origin: Origin,
                                                          photo_jpeg: bytes) -> None:
    node = two_process_node
    wait_for(lambda: len(node.children()) == 2)
    first = node.children()
    url = origin.add("/processes/a.jpg", photo_jpeg)
    target = f"{node.base}/unsafe/rs:fit:64:64/plain/{url}@png"
    assert httpx.get(target, timeout=30).status_code == 200
    victim = first[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(node.children()) == 2 and victim not in node.children())
    replacement = (set(node.children()) - set(first)).pop()
    assert replacement != victim
    wait_for(lambda: httpx.get(f"{node.base}/health", timeout=5).status_code == 200)
    # Every request succeeds again, whichever process accepts it.
    assert all(httpx.get(target, timeout=30).status_code == 200 for _ in range(6))


def test_sigterm_drains_every_process(two_process_node: Node, origin: Origin, photo_jpeg: bytes) -> None:
    node = two_process_node
    wait_for(lambda: len(node.children()) == 2)
    urls = [origin.add(f"/processes/slow{n}.jpg", photo_jpeg, delay=1.5) for n in range(4)]
    results: list[int] = []

    def slow_request(n: int) -> None:
        response = httpx.get(f"{node.base}/unsafe/rs:fit:64:64/plain/{urls[n]}@png", timeout=30)
        results.append(response.status_code)

    threads = [threading.Thread(target=slow_request, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    # Every download has begun (and sleeps at the origin) when SIGTERM comes.
    wait_for(lambda: all(origin.count(f"/processes/slow{n}.jpg") for n in range(4)), timeout=20)
    node.signal(signal.SIGTERM)
    # While they finish, a new connection is refused at once (a load balancer tries another
    # node), not queued on a socket nobody accepts on any more.
    wait_for(lambda: refused(node.port), timeout=1)
    assert len(results) < 4  # (the origin answers one request at a time: the last is in flight)
    for thread in threads:
        thread.join(30)
    assert results == [200] * 4  # in flight when SIGTERM came, all finished
    assert node.proc.wait(30) == 0
    assert node.children() == []


def test_cgroup_quota_caps_the_cpus(tmp_path: Path) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("150000 100000\n")  # docker --cpus 1.5
    assert usable_cpus(cpu_max) == min(2, len(os.sched_getaffinity(0)))
    cpu_max.write_text("max 100000\n")
    assert usable_cpus(cpu_max) == len(os.sched_getaffinity(0))
    assert usable_cpus(tmp_path / "missing") == len(os.sched_getaffinity(0))


def test_default_is_a_process_per_cpu_and_imgproxy_limits_are_shared_out() -> None:
    config, problems = read_config({})
    cpus = usable_cpus()
    assert not problems and config.processes == cpus
    assert config.server.workers == -(-2 * cpus // config.processes)  # imgproxy's 2 x CPUs for the host
    config, _ = read_config({"IMGPROXY_PROCESSES": "3", "IMGPROXY_WORKERS": "8", "IMGPROXY_REQUESTS_QUEUE_SIZE": "10",
                             "IMGPROXY_MAX_CLIENTS": "0"})
    assert (config.server.workers, config.server.requests_queue_size, config.server.max_clients) == (3, 4, 0)
    config, _ = read_config({"IMGPROXY_PROCESSES": "4", "IMGPROXY_WORKERS": "1"})
    assert config.server.workers == 1


def open_tcp_connections(pid: int) -> int:
    """Connected TCP sockets the process holds (its listening socket is not connected)."""
    inodes = {os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1] for fd in os.listdir(f"/proc/{pid}/fd")
              if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")}
    connected = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01":  # ESTABLISHED
                connected.add(fields[9])
    return len(inodes & connected)


def both_accept(node: Node) -> bool:
    """Both processes are serving (the second may still be loading its models): a few
    connections held open at a time land on each."""
    held = []
    try:
        for _ in range(6):
            client = socket.create_connection(("127.0.0.1", node.port), timeout=10)
            held.append(client)
            client.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            client.recv(64)
            time.sleep(0.05)
        return all(open_tcp_connections(pid) > 0 for pid in node.children())
    finally:
        for client in held:
            client.close()


def test_a_burst_of_connections_is_shared_out(two_process_node: Node) -> None:
    """Eight keep-alive connections opened at once (a load balancer's pool, a benchmark): each
    process takes half, not one process all of them or five of them (``server.listen``:
    ``OneAcceptPerTurn`` and its ``ConnectionTable``)."""
    node = two_process_node
    wait_for(lambda: len(node.children()) == 2)
    wait_for(lambda: both_accept(node))
    # Connected in a row, before any is served: all eight wait in the kernel's queue at once.
    clients = [socket.create_connection(("127.0.0.1", node.port), timeout=10) for _ in range(8)]
    try:
        for client in clients:
            client.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert all(client.recv(64).startswith(b"HTTP/1.1 200") for client in clients)
        taken = sorted(open_tcp_connections(pid) for pid in node.children())
        assert taken == [4, 4], taken
    finally:
        for client in clients:
            client.close()
