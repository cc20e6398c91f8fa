"""The request's time budget, shared by the server (queueing, downloads) and the pipeline."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from imgproxy_py.errors import DeadlineExceededError, RequestCancelledError


@dataclass
class Deadline:
    """The request's time budget (``IMGPROXY_TIMEOUT``), checked between steps; cancelled when
    its client leaves (``server.disconnect``)."""

    expires_at: float
    cancelled: bool = False
    # What stops the computations running for this request now (libvips' kill flags, ONNX
    # Runtime's terminate flags, the RAW worker's kill); called on the event loop's thread while
    # the computations run in workers.
    _stoppers: list[Callable[[], None]] = field(default_factory=list, repr=False, compare=False)
    # Held while stoppers are called or a block enters or leaves: a stop never comes after its
    # block has ended (the RAW worker may by then be decoding for another request).
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def check(self) -> None:
        if self.cancelled:
            raise RequestCancelledError("the client closed the connection")
        if time.monotonic() > self.expires_at:
            raise DeadlineExceededError("processing exceeded IMGPROXY_TIMEOUT")

    @property
    def remaining(self) -> float:
        return self.expires_at - time.monotonic()

    def cancel(self) -> None:
        """Nobody waits for the answer any more: the next check raises, and what runs under
        :meth:`stopped_by` is stopped at once."""
        with self._lock:
            self.cancelled = True
            for stop in self._stoppers:
                stop()

    @contextlib.contextmanager
    def stopped_by(self, stop: Callable[[], None]) -> Iterator[None]:
        """Within the block, a cancellation calls ``stop`` (at once if it came already), and
        never once the block has ended.  ``stop`` must be quick: it runs under the lock."""
        with self._lock:
            self._stoppers.append(stop)
            if self.cancelled:
                stop()
        try:
            yield
        finally:
            with self._lock:
                self._stoppers.remove(stop)


# The deadline of the request whose blocking work runs here, for code too deep to be handed it
# (an inference inside a detector: ``detection.sessions``; the worker processes: ``worker_pipes``;
# video decoding: ``media.video``), as Go code reads its context's.  Set by
# ``server.workers.WorkerPool.execute`` in the context its worker thread runs in.
REQUEST_DEADLINE: ContextVar[Deadline | None] = ContextVar("request_deadline", default=None)
