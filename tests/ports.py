"""Ports for the servers the tests start as programs of their own (nodes, nginx, Redis, emulators).

A port found by binding port 0 and closing the probe is free only for that moment: until the
program binds it, seconds later, the kernel can hand the same number to another test worker's
server or to an outgoing connection, and the test then talks to the wrong server (or its program
fails to start). So ports come from outside the kernel's ephemeral range, which port 0 and outgoing
connections draw from, and each xdist worker counts through a slice of its own, checking each port
with a bind before handing it out.
"""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Iterator
from pathlib import Path

_SLICES = 16  # more than the suite's workers
_SMALLEST_SLICE = 200


def _ports_outside_ephemeral_range() -> range:
    try:
        low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    return max(range(10000, low), range(high + 1, 65536), key=len)


def _worker_ports() -> range | None:
    ports = _ports_outside_ephemeral_range()
    size = len(ports) // _SLICES
    if size < _SMALLEST_SLICE:
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    start = ports.start + (int(worker) % _SLICES if worker.isdigit() else 0) * size
    return range(start, start + size)


_SLICE = _worker_ports()
_COUNTER: Iterator[int] | None = None
if _SLICE is not None:
    _offset = os.getpid() % len(_SLICE)  # a rerun soon after does not start on ports in TIME_WAIT
    _COUNTER = itertools.cycle([*_SLICE[_offset:], *_SLICE[:_offset]])


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A loopback port no other part of the suite will be handed before the caller binds it."""
    if _SLICE is None or _COUNTER is None:  # an unusual ephemeral range: the kernel's choice
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])
    for _ in range(len(_SLICE)):
        port = next(_COUNTER)
        if _bindable(port):
            return port
    raise RuntimeError("no free port left in this worker's slice")


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on ``port`` (any address, IPv4 or IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def listens_on(pids: list[int], port: int) -> bool:
    """Whether one of ``pids`` holds the socket listening on ``port``: the server a test started
    answers there, not another one that took the port first. True where /proc can't tell."""
    inodes = _listening_inodes(port)
    if not inodes:
        return not Path("/proc/net/tcp").exists()
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(fd)
            except OSError:  # closed meanwhile (the listing's own descriptor, for one)
                continue
            if link.startswith("socket:[") and link[8:-1] in inodes:
                return True
    return False
