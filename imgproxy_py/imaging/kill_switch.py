"""Stops libvips computations and ONNX inferences whose request ran out of time, from one timer
thread; and, with ``enforced``, those whose client left (the request's deadline cancelled).

libvips checks an image's kill flag each time it computes a region of it, so the flag set on an
image stops every computation that reads it, an encoding included.  The flag used to be set from
libvips' ``eval`` signal: a Python callback for every strip computed (21 for a 500x375 image), each
taking the GIL back from a worker that had released it; it cost 2 of the 20 CPU ms of a sharpen
at that size.  Here nothing runs during the computation: a thread sleeps until the earliest
deadline among the armed images and sets the flags of those still armed when it passes.
onnxruntime stops an inference whose ``RunOptions.terminate`` is set the same way, between two
of its operators (``detection.sessions``).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator

from imgproxy_py.deadline import Deadline


class KillSwitch:
    """Stops armed with a deadline (``time.monotonic()``), called if still armed after it."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._armed: dict[int, Callable[[], None]] = {}
        # (deadline, token), earliest first; entries of disarmed stops wait there for their time
        # (a heap has no cheap removal), holding nothing.
        self._due: list[tuple[float, int]] = []
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def stopping(self, stop: Callable[[], None], deadline: float) -> Iterator[None]:
        """``stop()`` is called (on the timer thread) if the block is still running at ``deadline``."""
        token = next(self._tokens)
        with self._changed:
            self._armed[token] = stop
            heapq.heappush(self._due, (deadline, token))
            # A forked child inherits the Thread object but not the thread.
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._watch, name="libvips-kill-switch", daemon=True)
                self._thread.start()
            elif self._due[0][1] == token:
                self._changed.notify()
        try:
            yield
        finally:
            with self._changed:
                del self._armed[token]

    @property
    def armed_count(self) -> int:
        with self._changed:
            return len(self._armed)

    def _watch(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                while self._due and self._due[0][0] <= now:
                    _, token = heapq.heappop(self._due)
                    stop = self._armed.get(token)
                    if stop is not None:
                        stop()
                self._changed.wait(self._due[0][0] - now if self._due else None)


# One per process: the timer thread serves every request's images.
KILL_SWITCH = KillSwitch()


@contextlib.contextmanager
def enforced(deadline: Deadline, stop: Callable[[], None]) -> Iterator[None]:
    """Within the block, ``stop()`` is called when ``deadline`` passes (on the timer thread) or
    when its request is cancelled (its client left: on the event loop's thread)."""
    with KILL_SWITCH.stopping(stop, deadline.expires_at), deadline.stopped_by(stop):
        yield
