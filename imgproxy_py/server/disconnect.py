"""A request whose client has left stops, as imgproxy's does.

Go cancels a request's context when its client's connection closes, and imgproxy gives up there:
the wait for a worker, the download and the processing between two steps.  Without this a client
that gives up (a browser leaving the page, a CDN's timeout, a load generator's end) still costs
the whole rendering, and the requests queued behind it wait for nothing.

The ASGI server tells of the closed connection through ``receive()``, which answers
``http.disconnect`` once nothing more of the request can come (the request has no body worth
reading here: the image routes are GET and HEAD).  A watcher task waits for that answer; when it
comes, the request's deadline is cancelled (libvips' computations of the request are killed,
``deadline.Deadline.cancel``) and so is the request's task, wherever it awaits.  The block then
raises ``RequestCancelledError``, which the error handler logs with imgproxy's 499.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from starlette.types import Receive

from imgproxy_py.deadline import Deadline
from imgproxy_py.errors import RequestCancelledError


@contextlib.asynccontextmanager
async def stopped_when_client_leaves(receive: Receive, deadline: Deadline) -> AsyncIterator[None]:
    """Runs the block in the request's task; raises ``RequestCancelledError`` once the client has
    closed its connection."""
    task = asyncio.current_task()
    assert task is not None
    started = time.monotonic()
    left = False

    def client_left() -> None:
        nonlocal left
        left = True
        deadline.cancel()
        task.cancel()

    watcher = asyncio.create_task(_wait_for_disconnect(receive, client_left))
    try:
        yield
    except asyncio.CancelledError:
        if not left:
            raise  # the server's own cancellation (shutdown), passed on
        raise RequestCancelledError(f"the client closed the connection after {time.monotonic() - started:.3f}s"
                                    ) from None
    finally:
        watcher.cancel()
        if left:
            # The watcher's cancel() was taken here, not by the server: the task goes on (to log
            # the request) without a cancellation pending.
            task.uncancel()


async def _wait_for_disconnect(receive: Receive, client_left: Callable[[], None]) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass  # a body sent with the request: not read by these routes
    client_left()
