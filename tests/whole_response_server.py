"""A bare ASGI app served through imgproxy-py's own HTTP protocol (``server/http_protocol.py``),
for tests of what reaches the wire; it prints its port, then serves.

Started with ``mortal``, ``/die-before-body`` sends a response's headers and then kills its
process before the body, as a SIGKILL or the OOM killer can land between the two; ``/big`` sends
3 MB in chunks; any other path (and ``/die-before-body`` on a server started without ``mortal``) a
2 KiB body, a small thumbnail's size.  Run with ``python -m tests.whole_response_server [mortal]``.
"""

from __future__ import annotations

import os
import signal
import socket
import sys

import uvicorn
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from imgproxy_py.server.http_protocol import server_protocol

SMALL_BODY = bytes(range(256)) * 8
BIG_CHUNK = bytes(range(256)) * 4096  # 1 MiB


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    path = scope["path"]
    size = 3 * len(BIG_CHUNK) if path == "/big" else len(SMALL_BODY)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/octet-stream"), (b"content-length", str(size).encode())]})
    if path == "/die-before-body" and "mortal" in sys.argv[1:]:
        os.kill(os.getpid(), signal.SIGKILL)
    if path == "/big":
        for n in range(3):
            await send({"type": "http.response.body", "body": BIG_CHUNK, "more_body": n < 2})
        return
    await send({"type": "http.response.body", "body": SMALL_BODY})


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    print(sock.getsockname()[1], flush=True)
    protocol = server_protocol(AutoHTTPProtocol, 10, 10)
    config = uvicorn.Config(app, http=protocol, lifespan="off", log_config=None, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
