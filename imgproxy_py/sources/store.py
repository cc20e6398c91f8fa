"""Sources with a memory-bounded cache, revalidated with the origin.

A cached original is reused without asking the origin while its ``Cache-Control:
max-age`` holds; after that it is revalidated with ``If-None-Match`` /
``If-Modified-Since`` (a 304 costs no download).  ``no-store`` / ``private`` responses
are never kept.  Concurrent requests for one URL share one download.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from dataclasses import dataclass, replace

from imgproxy_py.cache import BytesCache, SingleFlight
from imgproxy_py.errors import SourceTooBigError
from imgproxy_py.sources.base import Conditional, SourceImage
from imgproxy_py.sources.fetcher import SourceFetcher

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*(\d+)", re.IGNORECASE)
_NO_STORE = re.compile(r"(?:^|,)\s*(no-store|private)\b", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*no-cache\b", re.IGNORECASE)


@dataclass(frozen=True)
class CachedSource:
    image: SourceImage
    fresh_until: float


def source_identity(image: SourceImage) -> str:
    """What identifies these source bytes: the origin's ETag, else a hash of the bytes."""
    if image.etag:
        return "R" + image.etag
    return "D" + hashlib.sha256(image.data).hexdigest()[:32]


# SHA-256 takes about 1.2 ms a MiB: a 12 MB source without an ETag would stop the event loop, and
# every connection it serves, for 14 ms.  hashlib lets go of the GIL, so a thread hashes it.
HASHED_ON_THE_LOOP_MAX_BYTES = 256 * 1024


async def identify(image: SourceImage) -> str:
    """``source_identity``, with a large source's hash computed off the event loop."""
    if image.etag or len(image.data) <= HASHED_ON_THE_LOOP_MAX_BYTES:
        return source_identity(image)
    return await asyncio.to_thread(source_identity, image)


def _freshness(cache_control: str | None) -> float:
    if not cache_control or _NO_CACHE.search(cache_control):
        return 0.0
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else 0.0


class SourceStore:
    def __init__(self, fetcher: SourceFetcher, cache_bytes: int) -> None:
        self.fetcher = fetcher
        self.cache: BytesCache[str, CachedSource] = BytesCache(cache_bytes, lambda c: len(c.image.data) + 512)
        self._flights: SingleFlight[tuple[str, str], SourceImage] = SingleFlight()

    async def get(self, url: str, *, if_none_match: str | None = None, if_modified_since: str | None = None,
                  bypass: bool = False, max_size: int | None = None,
                  forwarded: dict[str, str] | None = None, any_file: bool = False) -> SourceImage:
        """The source, or a ``not_modified`` marker when the client's validators still hold.

        ``bypass`` downloads it again whatever the cache holds (and keeps the new copy);
        ``max_size`` replaces ``IMGPROXY_MAX_SRC_FILE_SIZE`` for this request (0: no limit).
        With ``forwarded`` headers (cookies, passed-through request headers) the origin's answer
        may be the client's own: it is downloaded for this request, never kept or shared.
        ``any_file``: taken whatever its bytes are (``raw``), not only a source the server reads."""
        self.fetcher.check_allowed(url)
        validators = Conditional(if_none_match, if_modified_since)
        if forwarded:
            return await self.fetcher.fetch(url, max_size=max_size, request_headers=validators.headers(),
                                            forwarded=forwarded, any_file=any_file)
        cached = None if bypass else self.cache.get(url)
        if cached is not None and max_size and len(cached.image.data) > max_size:
            raise SourceTooBigError(f"{url}: {len(cached.image.data)} bytes > {max_size}")
        if cached is not None:
            image = cached.image
            if time.time() >= cached.fresh_until:
                image = await self._flights.run((url, f"revalidate|{max_size}|{any_file}"),
                                                lambda: self._revalidate(url, cached, max_size, any_file))
            if validators.matches(image.etag):
                return replace(image, data=b"", not_modified=True)
            return image
        key = (url, f"{if_none_match or ''}|{if_modified_since or ''}|{max_size}|{bypass}|{any_file}")
        return await self._flights.run(key, lambda: self._download(url, validators.headers(), max_size, any_file))

    async def _download(self, url: str, headers: dict[str, str], max_size: int | None,
                        any_file: bool) -> SourceImage:
        image = await self.fetcher.fetch(url, max_size=max_size, request_headers=headers, any_file=any_file)
        if not image.not_modified:
            self._remember(url, image)
        return image

    async def _revalidate(self, url: str, cached: CachedSource, max_size: int | None,
                          any_file: bool) -> SourceImage:
        old = cached.image
        headers = Conditional(old.etag, old.last_modified).headers()
        fresh = await self.fetcher.fetch(url, max_size=max_size, request_headers=headers, any_file=any_file)
        if fresh.not_modified:
            # The origin's word on how long the unchanged source now stays fresh.
            image = replace(old, cache_control=fresh.cache_control or old.cache_control,
                            expires=fresh.expires or old.expires)
        else:
            image = fresh
        self._remember(url, image)
        return image

    def _remember(self, url: str, image: SourceImage) -> None:
        if not self.cache.enabled or url.startswith("local:"):  # a local file is read faster than kept
            return
        if image.cache_control and _NO_STORE.search(image.cache_control):
            self.cache.pop(url)
            return
        self.cache.put(url, CachedSource(image, time.time() + _freshness(image.cache_control)))
