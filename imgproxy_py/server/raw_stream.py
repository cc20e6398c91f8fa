"""``raw``: the source streamed as it is, as imgproxy's stream handler does.

- The client's ``If-None-Match``, ``If-Modified-Since``, ``Accept-Encoding`` and ``Range`` go to
  the origin, and its answer comes back as it is: its status (200, 206, 304, or its error) and
  body, with its ``Content-Type``, ``Content-Encoding``, ``Content-Range``, ``Accept-Ranges``,
  ``Last-Modified``, ``ETag`` and ``Content-Length``.  A video player seeks with ``Range`` and
  gets only the bytes it asked for.
- Nothing is held in memory or checked (type, resolution, file size), and no worker slot is
  taken: imgproxy documents ``raw`` so.  The download timeout bounds the wait for the origin's
  answer and each read of its body; ``IMGPROXY_TIMEOUT`` does not cut a long stream.

``http(s)://`` origins and the cloud stores (S3, GCS, Azure Blob, Swift) stream their answers;
a ``local:///`` file answers its ranges and validators itself.  A store's error status is answered
as any request's is (not its body).  S3 objects with client-side decryption on (they may need
decrypting), and a ``raw`` request that checks a ``hashsum``, are read whole first
(``server.processing.raw_response``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from imgproxy_py.errors import ResponseAborted, SourceIncompleteError, SourceTimeoutError
from imgproxy_py.formats import sniff_format
from imgproxy_py.options.model import OutputOptions
from imgproxy_py.server.composition import Services
from imgproxy_py.server.delivery import cache_tag_headers
from imgproxy_py.server.logs import error_in_request_line
from imgproxy_py.server.responses import CONTENT_SECURITY_POLICY, CachePolicy, content_disposition
from imgproxy_py.sources.base import Conditional, StreamingBackend
from imgproxy_py.sources.http import HttpBackend, download_errors, origin_status_error
from imgproxy_py.sources.local import LocalBackend

FORWARDED_REQUEST_HEADERS = ("If-None-Match", "If-Modified-Since", "Accept-Encoding", "Range")
PASSED_RESPONSE_HEADERS = ("Content-Type", "Content-Encoding", "Content-Range", "Accept-Ranges",
                           "Last-Modified", "ETag", "Content-Length")
_SNIFF_BYTES = 256  # what the image and video sniffers read
_FILE_CHUNK = 1 << 20
# What an origin or store names bytes it has no type for: the first bytes tell better.
_UNTYPED = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def streaming_backend(services: Services, url: str,
                      out: OutputOptions) -> StreamingBackend | LocalBackend | None:
    """The backend this ``raw`` request streams from: one that can hand its answer over unread
    (or the local files); None when there is a ``hashsum`` to check (that needs the whole file
    first) or the backend can only read whole."""
    if out.hashsum is not None:
        return None
    backend = services.sources.fetcher.backend_for(url)
    if isinstance(backend, LocalBackend) or (isinstance(backend, StreamingBackend) and backend.streams_raw):
        return backend
    return None


async def stream_raw(request: Request, services: Services, backend: StreamingBackend | LocalBackend, url: str,
                     out: OutputOptions) -> Response:
    if isinstance(backend, LocalBackend):
        return await _stream_file(request, services, backend, url, out)
    config = services.config
    headers = config.fetch.origin_headers.forwarded(request.headers, url)
    headers.update({name: value for name in FORWARDED_REQUEST_HEADERS if (value := request.headers.get(name))})
    # Without the client's own, the origin must not compress: the bytes go on as they come.
    headers.setdefault("Accept-Encoding", "identity")
    try:
        async with asyncio.timeout(config.fetch.download_timeout):
            upstream = await backend.open(url, headers)
    except TimeoutError:
        raise SourceTimeoutError(f"opening {url} timed out") from None
    status = upstream.status_code
    if status >= 600:  # no HTTP status (Go passes it on; no client could read it): a bad gateway
        await upstream.aclose()
        raise origin_status_error(url, status)
    if not isinstance(backend, HttpBackend) and status >= 300 and status != 304:
        # A store's error is answered as for any request: its body (XML naming buckets and
        # request ids) is not the client's business.
        await upstream.aclose()
        raise origin_status_error(url, status, dict(upstream.headers))
    try:
        body = upstream.aiter_raw()
        with download_errors(url):  # the first bytes name the type when the origin doesn't
            first = await anext(body, b"") if 200 <= upstream.status_code < 300 else b""
    except BaseException:
        await upstream.aclose()
        raise
    answer = _headers(services, url, out, upstream.headers, upstream.status_code, first)
    if request.method == "HEAD":  # the headers only: the rest of the body is never read
        await upstream.aclose()
        return Response(status_code=upstream.status_code, headers=answer)

    async def chunks() -> AsyncIterator[bytes]:
        if first:
            yield first
        try:
            async for chunk in body:
                yield chunk
        except httpx.HTTPError as exc:  # the origin cut its body: so is the client's
            cut = SourceIncompleteError(f"{url}: the source stopped mid-stream: {exc!r}")
            error_in_request_line(request.scope, cut)
            raise ResponseAborted(str(cut)) from exc

    return StreamingResponse(chunks(), status_code=upstream.status_code, headers=answer,
                             background=BackgroundTask(upstream.aclose))


async def _stream_file(request: Request, services: Services, backend: LocalBackend, url: str,
                       out: OutputOptions) -> Response:
    path, stat, etag, last_modified = await asyncio.to_thread(backend.locate, url)
    head = await asyncio.to_thread(_file_head, path)
    origin = {"ETag": etag, "Last-Modified": last_modified, "Accept-Ranges": "bytes"}
    if Conditional.from_headers(request.headers).unchanged(etag, last_modified):
        return Response(status_code=304, headers=_headers(services, url, out, origin, 304, b""))
    # FileResponse answers Range (one or more) and If-Range from the file itself.
    answer = _headers(services, url, out, origin, 200, head)
    response = FileResponse(path, headers=answer, media_type=answer.pop("Content-Type"), stat_result=stat)
    response.chunk_size = _FILE_CHUNK  # each chunk is a hop to a thread: 64 KiB ones streamed at a fifth of the rate
    return response


def _file_head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(_SNIFF_BYTES)


def _headers(services: Services, url: str, out: OutputOptions, origin: httpx.Headers | dict[str, str], status: int,
             head: bytes) -> dict[str, str]:
    """The answer's headers: the cache policy (no ``Expires``, as imgproxy's stream handler),
    the origin's content headers, and for a 2xx its name and canonical link."""
    config = services.config
    lowered = {name.lower(): value for name, value in origin.items()}
    policy = CachePolicy(config.server.ttl, config.server.cache_control_passthrough)
    headers = policy.headers(out.expires, status=status, origin_cache_control=lowered.get("cache-control"),
                             origin_expires=lowered.get("expires"))
    headers.pop("Expires", None)
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers.update(config.fetch.origin_headers.passed_back(origin))
    headers.update({name: lowered[name.lower()] for name in PASSED_RESPONSE_HEADERS if name.lower() in lowered})
    if "transfer-encoding" in lowered or not headers.get("Content-Length", "0").isdigit():
        # A chunked body's Content-Length means nothing (RFC 9112, 6.3): the bytes set the length.
        headers.pop("Content-Length", None)
    if 200 <= status < 300:
        headers.update(cache_tag_headers(out, config))
        fmt = sniff_format(head) if head else None
        declared = headers.get("Content-Type", "")
        if declared.split(";", 1)[0].strip().lower() in _UNTYPED:  # a store's default for untyped uploads
            headers["Content-Type"] = fmt.mime if fmt else media_type_of(head, declared or None)
        if fmt is not None:
            headers["Content-Disposition"] = content_disposition(url, out, fmt)
        if config.server.set_canonical_header and url.startswith(("http://", "https://")):
            headers["Link"] = f'<{url}>; rel="canonical"'
    return headers


def media_type_of(head: bytes, declared: str | None = None) -> str:
    """A source that is no image: a video's type from its container, else what its origin
    declared, else unknown bytes."""
    from imgproxy_py.media.video_sniff import is_video

    if head and is_video(head):
        if head[:4] == b"\x1a\x45\xdf\xa3":
            return "video/webm"
        if head[:4] == b"RIFF":
            return "video/x-msvideo"
        return "video/quicktime" if head[8:10] == b"qt" else "video/mp4"
    return declared or "application/octet-stream"
