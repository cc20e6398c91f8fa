"""``raw`` streams the source as imgproxy's stream handler does: the client's Range and
validators go to an http(s) origin and its answer comes back as it is; a local file answers
them itself; nothing is held whole, size-checked or queued behind the worker slots."""

from __future__ import annotations

import gzip
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from imgproxy_py.errors import ResponseAborted
from imgproxy_py.server.logs import already_logged
from tests.cloud_services import stalled_server
from tests.servers import ASSETS, AppServer, Origin, OriginResponse

PNG = (ASSETS / "imgproxy" / "test1.png").read_bytes()
MP4 = (ASSETS / "media" / "bikes.mp4").read_bytes()


def ranged(body: bytes, content_type: str = "") -> Callable[[BaseHTTPRequestHandler], OriginResponse]:
    """An origin route that answers a single ``Range`` with a 206, as a file server does."""
    def answer(handler: BaseHTTPRequestHandler) -> OriginResponse:
        headers = {"Accept-Ranges": "bytes", "ETag": '"v1"', **({"Content-Type": content_type} if content_type else {})}
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", handler.headers.get("Range", ""))
        if match is None:
            return OriginResponse(200, body, headers)
        start, end = int(match.group(1)), int(match.group(2) or len(body) - 1)
        content_range = f"bytes {start}-{end}/{len(body)}"
        return OriginResponse(206, body[start:end + 1], {**headers, "Content-Range": content_range})
    return answer


def add(origin: Origin, route: Callable[[BaseHTTPRequestHandler], OriginResponse] | OriginResponse,
        name: str = "file.bin") -> str:
    path = f"/raw-stream/{uuid.uuid4().hex}/{name}"
    origin.routes[path] = route
    return path


def raw(server: AppServer, source: str) -> str:
    return f"{server.base}/unsafe/raw:1/plain/{source}"


def sent_to_origin(origin: Origin, path: str) -> dict[str, str]:
    (sent,) = [headers for p, headers in origin.requests if p == path]
    return {name.lower(): value for name, value in sent.items()}


def test_range_goes_to_the_origin_and_its_206_comes_back(server: AppServer, client: httpx.Client,
                                                         origin: Origin) -> None:
    path = add(origin, ranged(MP4, "video/mp4"), "bikes.mp4")
    response = client.get(raw(server, origin.url(path)), headers={"Range": "bytes=100-1099"})
    assert response.status_code == 206
    assert response.content == MP4[100:1100]
    assert response.headers["content-range"] == f"bytes 100-1099/{len(MP4)}"
    assert response.headers["content-type"] == "video/mp4" and response.headers["etag"] == '"v1"'
    assert sent_to_origin(origin, path)["range"] == "bytes=100-1099"


def test_the_origins_304_and_validators_come_back(server: AppServer, client: httpx.Client, origin: Origin) -> None:
    path = add(origin, lambda handler: OriginResponse(304 if handler.headers.get("If-None-Match") == '"v1"' else 200,
                                                      b"" if handler.headers.get("If-None-Match") else PNG,
                                                      {"ETag": '"v1"'}))
    response = client.get(raw(server, origin.url(path)), headers={"If-None-Match": '"v1"'})
    assert response.status_code == 304 and response.headers["etag"] == '"v1"' and response.content == b""


def test_no_size_limit_and_no_worker_slot(start_server: Callable[..., AppServer], client: httpx.Client,
                                          origin: Origin) -> None:
    """imgproxy: raw "doesn't check the source image's type, resolution, and file size" and "is not
    limited by IMGPROXY_WORKERS": two slow streams run at once on one slot with no queue."""
    server = start_server(IMGPROXY_WORKERS="1", IMGPROXY_REQUESTS_QUEUE_SIZE="1", IMGPROXY_MAX_SRC_FILE_SIZE="10")
    path = add(origin, OriginResponse(200, MP4, {"Content-Type": "video/mp4"}, delay=1.0))
    results: list[httpx.Response] = []

    def get() -> None:
        with httpx.Client(timeout=30) as own:
            results.append(own.get(raw(server, origin.url(path))))

    threads = [threading.Thread(target=get) for _ in range(3)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [200, 200, 200]
    assert all(r.content == MP4 for r in results)
    assert time.monotonic() - started < 2.5  # side by side, not one after another


def test_encoding_is_the_clients_choice(server: AppServer, origin: Origin) -> None:
    def answer(handler: BaseHTTPRequestHandler) -> OriginResponse:
        if "gzip" in handler.headers.get("Accept-Encoding", ""):
            return OriginResponse(200, gzip.compress(PNG), {"Content-Encoding": "gzip", "Content-Type": "image/png"})
        return OriginResponse(200, PNG, {"Content-Type": "image/png"})

    path = add(origin, answer, "test1.png")
    plain = httpx.get(raw(server, origin.url(path)), headers={"Accept-Encoding": ""}, timeout=30)
    assert plain.content == PNG and "content-encoding" not in plain.headers
    assert [h.get("Accept-Encoding") for p, h in origin.requests if p == path] == ["identity"]
    with httpx.Client(timeout=30, headers={"Accept-Encoding": "gzip"}) as gzipping:
        zipped = gzipping.get(raw(server, origin.url(path)))
    assert zipped.headers["content-encoding"] == "gzip" and zipped.content == PNG  # httpx decodes it


def test_the_type_is_sniffed_when_the_origin_names_none(server: AppServer, client: httpx.Client,
                                                        origin: Origin) -> None:
    png = client.get(raw(server, origin.url(add(origin, OriginResponse(200, PNG), "test1.png"))))
    assert png.headers["content-type"] == "image/png"
    assert png.headers["content-disposition"] == 'inline; filename="test1.png"'
    video = client.get(raw(server, origin.url(add(origin, OriginResponse(200, MP4), "bikes"))))
    assert video.headers["content-type"] == "video/mp4" and video.content == MP4


def test_head_reads_no_body(server: AppServer, client: httpx.Client, origin: Origin) -> None:
    path = add(origin, OriginResponse(200, MP4, {"Content-Type": "video/mp4"}))
    response = client.head(raw(server, origin.url(path)))
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-length"] == str(len(MP4))


def test_origin_errors_come_back_as_they_are(server: AppServer, client: httpx.Client, origin: Origin) -> None:
    path = add(origin, OriginResponse(410, b"Gone for good", {"Content-Type": "text/plain"}))
    response = client.get(raw(server, origin.url(path)))
    assert response.status_code == 410 and response.text == "Gone for good"
    assert response.headers["cache-control"] == "no-cache"


def test_unreachable_origin_is_imgproxys_404(server: AppServer, client: httpx.Client) -> None:
    response = client.get(raw(server, "http://127.0.0.1:1/x.mp4"))
    assert response.status_code == 404 and response.text == "Source is unreachable"


def test_stalled_origin_is_504(start_server: Callable[..., AppServer], client: httpx.Client) -> None:
    server = start_server(IMGPROXY_DOWNLOAD_TIMEOUT="1")
    with stalled_server() as port:
        started = time.monotonic()
        response = client.get(raw(server, f"http://127.0.0.1:{port}/x.mp4"))
    assert response.status_code == 504 and time.monotonic() - started < 10


# --- local files ---------------------------------------------------------------------------

LOCAL = "local:///media/bikes.mp4"


def test_local_file_answers_ranges(server: AppServer, client: httpx.Client) -> None:
    response = client.get(raw(server, LOCAL), headers={"Range": "bytes=0-99"})
    assert response.status_code == 206 and response.content == MP4[:100]
    assert response.headers["content-range"] == f"bytes 0-99/{len(MP4)}"
    whole = client.get(raw(server, LOCAL))
    assert whole.status_code == 200 and whole.content == MP4
    assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"


def test_local_file_answers_validators(server: AppServer, client: httpx.Client) -> None:
    first = client.get(raw(server, LOCAL))
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get(raw(server, LOCAL), headers={"If-None-Match": etag}).status_code == 304
    assert client.get(raw(server, LOCAL), headers={"If-Modified-Since": last_modified}).status_code == 304
    assert client.get(raw(server, LOCAL), headers={"If-None-Match": '"other"'}).status_code == 200
    past = formatdate(time.time() - 10 * 365 * 86400, usegmt=True)
    assert client.get(raw(server, LOCAL), headers={"If-Modified-Since": past}).status_code == 200


# "%2e%2e": httpx would remove a plain "../" before sending.
@pytest.mark.parametrize("source", ["local:///media/missing.mp4", "local:///media", "local:///%2e%2e/%2e%2e/etc/passwd"])
def test_local_missing_or_outside_is_404(server: AppServer, client: httpx.Client, source: str) -> None:
    assert client.get(raw(server, source)).status_code == 404


def written(answer: bytes) -> Callable[[BaseHTTPRequestHandler], OriginResponse]:
    """An origin route that writes ``answer`` (status line, headers, body) as it is, then hangs up."""
    def route(handler: BaseHTTPRequestHandler) -> OriginResponse:
        handler.wfile.write(answer)
        return OriginResponse(drop=True)
    return route


def test_a_source_cut_mid_stream_cuts_the_answer(server: AppServer, client: httpx.Client, origin: Origin,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """As Go's server: the client's connection is closed mid-body, so it never takes the start of
    a file for the whole; the request's line says why, with no traceback of an "unexpected error"."""
    path = add(origin, written(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 100000\r\n\r\n"
                               + MP4[:5000]), "cut.mp4")
    with caplog.at_level(logging.INFO):
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(raw(server, origin.url(path)))
        deadline = time.monotonic() + 5  # the request's line comes once the server has closed the connection
        while not [r for r in caplog.records if "stopped mid-stream" in getattr(r, "error", "")]:
            assert time.monotonic() < deadline, "the request's line does not say why"
            time.sleep(0.05)
    assert not [record for record in caplog.records if record.getMessage() == "unexpected error"]
    assert client.get(raw(server, LOCAL)).status_code == 200  # the server goes on


def test_uvicorns_trace_of_an_ended_response_is_dropped() -> None:
    def record(exc: Exception) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application", (),
                                 (type(exc), exc, None))
    assert not already_logged(record(ResponseAborted("cut")))
    assert already_logged(record(RuntimeError("a bug")))


def test_a_status_past_599_is_a_bad_gateway(server: AppServer, client: httpx.Client, origin: Origin) -> None:
    path = add(origin, written(b"HTTP/1.1 999 Odd\r\nContent-Length: 3\r\n\r\nabc"))
    assert client.get(raw(server, origin.url(path))).status_code == 502


def test_a_chunked_body_goes_on_without_its_content_length(server: AppServer, client: httpx.Client,
                                                           origin: Origin) -> None:
    """A body sent chunked with a Content-Length too: the chunks set its length (RFC 9112)."""
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (PNG[:1000], PNG[1000:])) + b"0\r\n\r\n"
    path = add(origin, written(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n"
                               b"Content-Length: 3\r\n\r\n" + chunks))
    response = client.get(raw(server, origin.url(path)))
    assert response.status_code == 200 and response.content == PNG
