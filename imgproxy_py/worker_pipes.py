"""Worker processes for what can't be stopped in ours: both ends of their pipes.

A computation in C that checks no flag (ImageMagick and its RAW converter, librsvg, PDFium) can only be
stopped by killing the process it runs in.  Such work runs in a worker process
(``media.raw_worker``, ``imaging.codecs.vector_worker``) that reads requests from its stdin and
writes replies to its stdout, each framed as

    4-byte big-endian header length, 8-byte big-endian payload length, JSON header, payload

The worker's side is ``send``, ``receive``, ``detach_stdio`` and ``limit_process``; the
server's side (``write``, ``read_message``) waits on the pipes with a limit, and
``killed_if_the_client_leaves`` kills the worker when the request's client goes away.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import select
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext, suppress
from pathlib import Path
from typing import Any

from imgproxy_py.deadline import REQUEST_DEADLINE

logger = logging.getLogger("imgproxy_py.workers")

FRAME = struct.Struct(">IQ")
# A header is a small JSON object; anything larger means the stream is out of step.
MAX_HEADER = 64 * 1024


# -- the worker's side ------------------------------------------------------------------------------


def read_exact(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``, or None at end of file."""
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def send(fd: int, header: dict[str, Any], payload: bytes | bytearray | memoryview = b"") -> None:
    encoded = json.dumps(header).encode()
    write_all(fd, FRAME.pack(len(encoded), len(payload)) + encoded)
    if len(payload):
        write_all(fd, payload)


def receive(fd: int, max_payload: int) -> tuple[dict[str, Any], bytes] | None:
    """The next request, or None when the server has closed the pipe."""
    prefix = read_exact(fd, FRAME.size)
    if prefix is None:
        return None
    header_size, payload_size = FRAME.unpack(prefix)
    if header_size > MAX_HEADER or payload_size > max_payload:
        raise ValueError("request frame is out of bounds")
    header = read_exact(fd, header_size)
    payload = read_exact(fd, payload_size) if payload_size else b""
    if header is None or payload is None:
        return None
    return json.loads(header), payload


def detach_stdio() -> tuple[int, int]:
    """Keep the protocol pipes on private descriptors and point 0 and 1 at /dev/null.

    Whatever the worker's libraries (or programs they run) print must not reach the protocol
    stream, and nothing they read may consume a request.
    """
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    return proto_in, proto_out


def limit_process(address_space: int | None = 0, file_size: int | None = 0) -> None:
    """Kernel limits, inherited by whatever the worker starts: memory, file size (0 or None:
    unlimited), and no core dump."""
    for limit, value in ((resource.RLIMIT_AS, address_space), (resource.RLIMIT_FSIZE, file_size),
                         (resource.RLIMIT_CORE, 0)):
        if not value and limit != resource.RLIMIT_CORE:
            continue
        try:
            resource.setrlimit(limit, (value or 0, value or 0))
        except (ValueError, OSError):
            # A hard limit already lower than ours stays in force, which is just as safe.
            pass


# -- the server's side ------------------------------------------------------------------------------


def worker_environment(inherited: Iterable[str]) -> dict[str, str]:
    """A worker's environment: only the ``inherited`` variables it needs to find Python and its
    libraries, and this package on its path.  The server's environment holds secrets (signing
    keys, cloud credentials) that a worker parsing hostile files must not see."""
    env = {name: os.environ[name] for name in inherited if name in os.environ}
    env.setdefault("PATH", os.defpath)
    package_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH", "")]))
    return env


class WorkerGone(Exception):
    """The worker closed its pipes: it crashed, was killed or could not start."""


class Expired(Exception):
    """The deadline passed while talking to the worker."""


def wait(fd: int, events: int, limit: float) -> None:
    """Until ``fd`` is ready for ``events`` (``select.POLLIN``/``POLLOUT``), or ``Expired``."""
    remaining = limit - time.monotonic()
    if remaining <= 0:
        raise Expired
    poller = select.poll()  # no descriptor of its own, unlike epoll: one system call a wait
    poller.register(fd, events)
    if not poller.poll(remaining * 1000):
        raise Expired


def write(process: subprocess.Popen[bytes], data: bytes | bytearray | memoryview, limit: float) -> None:
    """All of ``data`` to the worker's (non-blocking) stdin before ``limit`` (``time.monotonic()``)."""
    assert process.stdin is not None
    fd = process.stdin.fileno()
    view = memoryview(data)
    while view:
        # Written at once while the pipe takes it; waited for only when it is full.
        if time.monotonic() > limit:
            raise Expired
        try:
            written = os.write(fd, view[: 1 << 20])
        except BlockingIOError:
            wait(fd, select.POLLOUT, limit)
            continue
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise WorkerGone("its input pipe closed") from exc
        view = view[written:]


def read(process: subprocess.Popen[bytes], size: int, limit: float) -> bytearray:
    assert process.stdout is not None
    fd = process.stdout.fileno()
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        if time.monotonic() > limit:
            raise Expired
        try:
            count = os.readv(fd, [view[got:]])
        except BlockingIOError:
            wait(fd, select.POLLIN, limit)
            continue
        if count == 0:
            raise WorkerGone("its output pipe closed")
        got += count
    return buffer


def read_message(process: subprocess.Popen[bytes], limit: float) -> tuple[dict[str, Any], bytearray]:
    header_size, payload_size = FRAME.unpack(read(process, FRAME.size, limit))
    if header_size > MAX_HEADER:
        raise WorkerGone("it sent a malformed reply")
    header = json.loads(read(process, header_size, limit))
    payload = read(process, payload_size, limit) if payload_size else bytearray()
    return header, payload


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the worker's process group (it leads its own: ``start_new_session``), so what
    it started ends with it."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def stop(process: subprocess.Popen[bytes], name: str) -> None:
    """Kill the worker's process group, reap it and close its pipes (``name`` for the log)."""
    kill_group(process)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        logger.error("%s %d did not exit after SIGKILL", name, process.pid)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with suppress(OSError):
                stream.close()


def killed_if_the_client_leaves(process: subprocess.Popen[bytes]) -> AbstractContextManager[None]:
    """Within the block, the request's deadline cancelled (its client left) kills the worker's
    process group: its pipe then ends and the work with it.  Never after the block
    (``Deadline.stopped_by``): the worker may then work for another request."""
    deadline = REQUEST_DEADLINE.get()
    if deadline is None:
        return nullcontext()
    return deadline.stopped_by(lambda: kill_group(process))
