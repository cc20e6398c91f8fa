"""Blocking work (libvips, onnxruntime) off the event loop, bounded.

``IMGPROXY_WORKERS`` jobs run at once in a thread pool (libvips releases the GIL);
at most ``IMGPROXY_REQUESTS_QUEUE_SIZE`` more wait for a slot (0: unlimited), others get
429 at once.  Time spent waiting counts against the request's deadline.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from imgproxy_py.errors import DeadlineExceededError, QueueFullError
from imgproxy_py.imaging.context import Deadline

T = TypeVar("T")


SpanReporter = Callable[[str, float], None]


class WorkerPool:
    def __init__(self, workers: int, queue_size: int, on_span: SpanReporter | None = None) -> None:
        self.on_span = on_span  # gets ("queue", seconds waited) and ("processing", seconds run)
        self.workers = workers
        self.queue_size = queue_size
        self._slots = asyncio.Semaphore(workers)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imgproxy-worker")
        self.waiting = 0
        self.running = 0

    @property
    def utilization(self) -> float:
        return self.running / self.workers

    async def run(self, deadline: Deadline, fn: Callable[..., T], *args: object) -> T:
        if self.queue_size and self.waiting >= self.queue_size and self._slots.locked():
            raise QueueFullError("requests queue is full")
        self.waiting += 1
        queued_at = time.perf_counter()
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=max(0.0, deadline.remaining))
        except TimeoutError:
            raise DeadlineExceededError("timed out waiting for a worker") from None
        finally:
            self.waiting -= 1
        started = time.perf_counter()
        self.running += 1
        try:
            loop = asyncio.get_running_loop()
            call = functools.partial(contextvars.copy_context().run, fn, *args)
            return await loop.run_in_executor(self._executor, call)
        finally:
            self.running -= 1
            self._slots.release()
            if self.on_span is not None:
                self.on_span("queue", started - queued_at)
                self.on_span("processing", time.perf_counter() - started)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)
