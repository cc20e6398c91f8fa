"""The request's time budget, shared by the server (queueing, downloads) and the pipeline."""

from __future__ import annotations

import contextlib
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
    # What stops the computations running for this request now (libvips' kill flags); called
    # on the event loop's thread while the computations run in workers.
    _stoppers: list[Callable[[], None]] = field(default_factory=list, repr=False)

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
        self.cancelled = True
        for stop in list(self._stoppers):
            stop()

    @contextlib.contextmanager
    def stopped_by(self, stop: Callable[[], None]) -> Iterator[None]:
        """Within the block, a cancellation calls ``stop`` (at once if it came already)."""
        self._stoppers.append(stop)
        try:
            # After the append: a cancel() that ran before it is seen here, one after it calls stop.
            if self.cancelled:
                stop()
            yield
        finally:
            self._stoppers.remove(stop)


# The deadline of the request whose blocking work runs here, for code too deep to be handed it
# (an inference inside a detector: ``detection.sessions``; the RAW worker: ``media.raw_pipe``;
# video decoding: ``media.video``),
# as Go code reads its context's.  Set
# by ``server.workers.WorkerPool.execute`` in the context its worker thread runs in.
REQUEST_DEADLINE: ContextVar[Deadline | None] = ContextVar("request_deadline", default=None)
