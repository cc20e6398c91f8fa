"""The image endpoint's internal-cache path: answer from the shared cache, or render once in
the cluster and keep the result.

Rendering here ignores the client's conditional headers (the entry serves every client);
``If-None-Match`` and ``If-Modified-Since`` are answered afterwards from the entry's own
``ETag`` and ``Last-Modified``.  What is not in the cache key (``expires``, ``cache_tags``) is
not in the entry either: each answer gets its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response

from imgproxy_py.cluster.entry import CacheEntry, entry_from_response
from imgproxy_py.cluster.internal import InternalCache
from imgproxy_py.deadline import Deadline
from imgproxy_py.server.delivery import CACHE_TAG_HEADERS

RenderResponse = Callable[[], Awaitable[Response]]
# A stale entry made fresh again (the source did not change), or None: render it anew.
Revalidate = Callable[[CacheEntry], Awaitable[CacheEntry | None]]
_NOT_MODIFIED_KEEPS = ("Cache-Control", "Expires", "ETag", "Last-Modified", "Vary")
# Entries stored before cache_tags was left out of them hold their first request's tags.
_TAG_HEADERS = frozenset(name.lower() for names in CACHE_TAG_HEADERS.values() for name in names)


async def serve_cached(request: Request, cache: InternalCache, key: str, render: RenderResponse,
                       revalidate: Revalidate, deadline: Deadline, bypass: bool,
                       expires: int | None = None, tag_headers: dict[str, str] | None = None) -> Response:
    """``expires`` and ``tag_headers`` (``cache_tags``'): this request's own, applied to the
    shared entry as it is served."""
    entry = None if bypass else await cache.lookup(key)
    if entry is not None and not entry.fresh() and entry.revalidatable:
        # Stale: ask the origin with the source's validators; a 304 keeps the entry.
        entry = await revalidate(entry)
        if entry is not None:
            await cache.save(key, entry)
    cache.counted(entry is not None and entry.fresh())
    if entry is None or not entry.fresh():
        # bypass_cache renders and replaces the entry.
        async def render_entry() -> CacheEntry:
            response = await render()
            etag, last_modified = getattr(request.state, "source_validators", ("", ""))
            return entry_from_response(response.status_code, response.media_type or "", bytes(response.body),
                                       _plain_headers(response), source_etag=etag,
                                       source_last_modified=last_modified,
                                       fallback=getattr(request.state, "served_fallback", False))

        # Waiting for another node leaves this request half its time to render by itself.
        wait = max(0.0, min(cache.config.redis_wait, deadline.remaining / 2))
        entry = await cache.fill(key, render_entry, wait, bypass=bypass)
    request.state.result_format = entry.media_type.rpartition("/")[2]
    headers = {k: v for k, v in entry.served_headers(expires=expires).items() if k.lower() not in _TAG_HEADERS}
    headers.update(tag_headers or {})
    if _not_modified(request, headers):
        return Response(status_code=304, headers={k: v for k, v in headers.items() if k in _NOT_MODIFIED_KEEPS})
    return Response(entry.body, status_code=entry.status, media_type=entry.media_type or None, headers=headers)


def _plain_headers(response: Response) -> dict[str, str]:
    # Starlette keeps header names lower-cased; store them in imgproxy's spelling.
    skip = {"content-type", "content-length"}
    return {"-".join(p.capitalize() for p in k.split("-")) if k.lower() != "etag" else "ETag": v
            for k, v in response.headers.items() if k.lower() not in skip}


def _not_modified(request: Request, headers: dict[str, str]) -> bool:
    etag = headers.get("ETag")
    inm = request.headers.get("if-none-match")
    if etag and inm:
        # Weak comparison (RFC 9110 13.1.2), as If-None-Match asks: CDNs weaken the ETags they
        # pass on, and the client's W/"tag" still names this entry.
        return any(_opaque(tag) in (_opaque(etag), "*") for tag in inm.split(","))
    last_modified = headers.get("Last-Modified")
    ims = request.headers.get("if-modified-since")
    if last_modified and ims:
        try:
            return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
    return False


def _opaque(tag: str) -> str:
    return tag.strip().removeprefix("W/")
