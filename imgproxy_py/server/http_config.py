"""imgproxy's settings of the HTTP front: the health check's extra path and message, the
``Server`` header, custom response headers, debug headers, keep-alive, the read and write
deadlines (``http_protocol.py``) and ``SO_REUSEPORT``.

Read once at start-up with the rest of the configuration root; the app, its middleware and the
CLI's uvicorn take their parts from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgproxy_py.envreader import EnvReader
from imgproxy_py.sources.origin_headers import custom_headers

HEALTH_PATH = "/health"
FAVICON_PATH = "/favicon.ico"  # answered 404 and not logged, as imgproxy does
WELL_KNOWN_PREFIX = "/.well-known/"  # likewise


@dataclass(frozen=True)
class HttpConfig:
    health_check_path: str = ""  # answered as /health is (IMGPROXY_HEALTH_CHECK_PATH)
    health_check_message: str = "imgproxy_py is running"
    # imgproxy names itself "imgproxy"; we say what answers (IMGPROXY_SERVER_NAME=imgproxy restores it).
    server_name: str = "imgproxy_py"
    custom_response_headers: tuple[tuple[str, str], ...] = ()  # on every processed image
    keep_alive_timeout: int = 10  # seconds an idle client connection is kept; 0: none
    so_reuseport: bool = False  # other servers may listen on the same port (the kernel spreads connections)
    enable_debug_headers: bool = False  # X-Origin-* and X-Result-* sizes on processed images
    read_request_timeout: float = 10.0  # seconds to receive a whole request; 0: none
    write_response_timeout: float = 10.0  # seconds for the client to take a whole response; 0: none

    @staticmethod
    def from_env(r: EnvReader) -> HttpConfig:
        path = r.string("IMGPROXY_HEALTH_CHECK_PATH")
        if path and (not path.startswith("/") or any(ch in path for ch in "?#{}") or not path.isprintable()):
            r.errors.append(f"IMGPROXY_HEALTH_CHECK_PATH: {path!r} is not a path starting with /")
            path = ""
        server_name = r.string("IMGPROXY_SERVER_NAME", "imgproxy_py")
        if not server_name.isprintable():
            r.errors.append(f"IMGPROXY_SERVER_NAME: {server_name!r} has control characters")
            server_name = "imgproxy_py"
        return HttpConfig(
            health_check_path="" if path == HEALTH_PATH else path.rstrip("/") or path,
            health_check_message=r.string("IMGPROXY_HEALTH_CHECK_MESSAGE", "imgproxy_py is running"),
            server_name=server_name,
            custom_response_headers=custom_headers(r, "IMGPROXY_CUSTOM_RESPONSE_HEADERS"),
            keep_alive_timeout=r.integer("IMGPROXY_KEEP_ALIVE_TIMEOUT", 10, minimum=0),
            so_reuseport=r.boolean("IMGPROXY_SO_REUSEPORT", False),
            enable_debug_headers=r.boolean("IMGPROXY_ENABLE_DEBUG_HEADERS", False),
            read_request_timeout=r.number("IMGPROXY_READ_REQUEST_TIMEOUT",  # imgproxy 3: IMGPROXY_READ_TIMEOUT
                                          r.number("IMGPROXY_READ_TIMEOUT", 10.0, minimum=0), minimum=0),
            write_response_timeout=r.number("IMGPROXY_WRITE_RESPONSE_TIMEOUT", 10.0, minimum=0),
        )
