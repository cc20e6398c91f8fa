"""Blocking work (libvips, onnxruntime) off the event loop, bounded.

``IMGPROXY_WORKERS`` requests are worked on at once: as in imgproxy, a request takes its slot
before downloading the source, so the memory held by sources is bounded by the worker count,
not by the number of waiting clients.  At most ``IMGPROXY_REQUESTS_QUEUE_SIZE`` more wait for a
slot (0: unlimited); others get 429 at once.  Waiting counts against the request's deadline.
Inside a slot, blocking calls run in a thread pool (libvips releases the GIL).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from imgproxy_py.deadline import REQUEST_DEADLINE, Deadline
from imgproxy_py.errors import DeadlineExceededError, QueueFullError

T = TypeVar("T")
SpanReporter = Callable[[str, float], None]


class WorkerPool:
    def __init__(self, workers: int, queue_size: int, on_span: SpanReporter | None = None) -> None:
        self.workers = workers
        self.queue_size = queue_size
        # Gets ("queue", seconds waited) and ("processing_image", seconds run): imgproxy's span names.
        self.on_span = on_span
        self._slots = asyncio.Semaphore(workers)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imgproxy-worker")
        self.waiting = 0
        self.active = 0  # requests holding a slot
        self.running = 0  # blocking calls running in the thread pool (images in progress)

    @property
    def utilization(self) -> float:
        return self.active / self.workers

    @contextlib.asynccontextmanager
    async def slot(self, deadline: Deadline) -> AsyncIterator[None]:
        if self.queue_size and self.waiting >= self.queue_size and self._slots.locked():
            raise QueueFullError("requests queue is full")
        self.waiting += 1
        queued_at = time.perf_counter()
        try:
            # In this task (wait_for would start another, for every request that queues).
            async with asyncio.timeout(max(0.0, deadline.remaining)):
                await self._slots.acquire()
        except TimeoutError:
            raise DeadlineExceededError("timed out waiting for a worker") from None
        finally:
            self.waiting -= 1
        if self.on_span is not None:
            self.on_span("queue", time.perf_counter() - queued_at)
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
            self._slots.release()

    async def execute(self, fn: Callable[..., T], *args: object, deadline: Deadline | None = None,
                      span: str | None = "processing_image") -> T:
        """Run a blocking call in the thread pool; the caller holds a slot.  ``deadline``: the
        request's, which what the call runs deep down sees as ``REQUEST_DEADLINE``; ``span``:
        the name its time is reported under (None: not reported)."""
        started = time.perf_counter()
        self.running += 1
        try:
            loop = asyncio.get_running_loop()
            context = contextvars.copy_context()
            if deadline is not None:
                context.run(REQUEST_DEADLINE.set, deadline)
            call = functools.partial(context.run, fn, *args)
            running = loop.run_in_executor(self._executor, call)
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                # The request was cancelled (its client left: ``server.disconnect``), but a thread
                # cannot be stopped from here.  Its cancelled deadline stops libvips, an
                # inference, a RAW or video decode, and the next step; the slot stays taken until
                # then, so that no more than IMGPROXY_WORKERS images are ever in progress.
                await asyncio.wait([running])
                if not running.cancelled():
                    running.exception()  # retrieved: nobody is left to be told
                raise
            except Exception:
                # A job that fails once its deadline has passed, or its client has left, failed
                # of it (a libvips computation or an inference stopped): the deadline's 503 or
                # 499, whatever the job reported.
                if deadline is not None:
                    deadline.check()
                raise
        finally:
            self.running -= 1
            if self.on_span is not None and span is not None:
                self.on_span(span, time.perf_counter() - started)

    async def run(self, deadline: Deadline, fn: Callable[..., T], *args: object,
                  span: str | None = "processing_image") -> T:
        """Take a slot and run one blocking call in it."""
        async with self.slot(deadline):
            return await self.execute(fn, *args, deadline=deadline, span=span)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)
