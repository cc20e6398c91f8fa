"""Talking to the RAW worker over its pipes, framed, with a deadline on every wait."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass
from typing import Any

from imgproxy_py.deadline import REQUEST_DEADLINE
from imgproxy_py.media.raw_worker import FRAME, MAX_HEADER


class WorkerGone(Exception):
    """The worker closed its pipes: it crashed, was killed or could not start."""


class Expired(Exception):
    """The deadline passed while talking to the worker."""


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    root: str
    workdir: str


def wait(fd: int, events: int, limit: float) -> None:
    remaining = limit - time.monotonic()
    if remaining <= 0:
        raise Expired
    with selectors.DefaultSelector() as selector:
        selector.register(fd, events)
        if not selector.select(remaining):
            raise Expired


def write(worker: Worker, data: bytes, limit: float) -> None:
    assert worker.process.stdin is not None
    fd = worker.process.stdin.fileno()
    view = memoryview(data)
    while view:
        wait(fd, selectors.EVENT_WRITE, limit)
        try:
            written = os.write(fd, view[: 1 << 20])
        except BlockingIOError:
            continue
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise WorkerGone("its input pipe closed") from exc
        view = view[written:]


def read(worker: Worker, size: int, limit: float) -> bytearray:
    assert worker.process.stdout is not None
    fd = worker.process.stdout.fileno()
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        wait(fd, selectors.EVENT_READ, limit)
        try:
            count = os.readv(fd, [view[got:]])
        except BlockingIOError:
            continue
        if count == 0:
            raise WorkerGone("its output pipe closed")
        got += count
    return buffer


def read_message(worker: Worker, limit: float) -> tuple[dict[str, Any], bytearray]:
    header_size, payload_size = FRAME.unpack(read(worker, FRAME.size, limit))
    if header_size > MAX_HEADER:
        raise WorkerGone("it sent a malformed reply")
    header = json.loads(read(worker, header_size, limit))
    payload = read(worker, payload_size, limit) if payload_size else bytearray()
    return header, payload


def killed_if_the_client_leaves(worker: Worker) -> AbstractContextManager[None]:
    """Within the block, the request's deadline cancelled (its client left) kills the worker's
    process group, converter included: its pipe then ends and the decode with it.  Never after
    the block (``Deadline.stopped_by``): the worker may then decode for another request."""
    deadline = REQUEST_DEADLINE.get()
    if deadline is None:
        return nullcontext()

    def kill() -> None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(worker.process.pid, signal.SIGKILL)

    return deadline.stopped_by(kill)
