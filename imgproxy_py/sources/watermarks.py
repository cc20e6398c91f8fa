"""``watermark_url`` images: downloaded through the source fetcher (its allowed sources, size
limit and timeout) before processing, and kept in a small cache
(``IMGPROXY_WATERMARKS_CACHE_SIZE`` watermarks, 256 by default as in imgproxy; 0: no cache).
Concurrent requests for one watermark share its download."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cachetools import LRUCache

from imgproxy_py.cache import SingleFlight
from imgproxy_py.envreader import EnvReader
from imgproxy_py.errors import ImgproxyError

if TYPE_CHECKING:
    from imgproxy_py.sources.fetcher import SourceFetcher
    from imgproxy_py.url.tokenizer import URLGrammar

log = logging.getLogger("imgproxy_py.sources")

# However many watermarks the setting allows, the cache holds no more bytes than this.
MAX_CACHE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class WatermarksConfig:
    cache_size: int = 256  # IMGPROXY_WATERMARKS_CACHE_SIZE; 0: no cache
    # IMGPROXY_WATERMARK_PREPROCESS_URL: apply IMGPROXY_URL_REPLACEMENTS and IMGPROXY_BASE_URL
    # to watermark_url values, as to source URLs.
    preprocess_url: bool = False

    @staticmethod
    def from_env(r: EnvReader) -> WatermarksConfig:
        return WatermarksConfig(
            cache_size=r.integer("IMGPROXY_WATERMARKS_CACHE_SIZE", 256, minimum=0),
            preprocess_url=r.boolean("IMGPROXY_WATERMARK_PREPROCESS_URL", False),
        )


class WatermarkImages:
    def __init__(self, config: WatermarksConfig, fetcher: SourceFetcher, url_grammar: URLGrammar) -> None:
        self.config = config
        self._fetcher = fetcher
        self._grammar = url_grammar
        self._cache: LRUCache[str, bytes] = LRUCache(maxsize=MAX_CACHE_BYTES, getsizeof=len)
        self._flights: SingleFlight[str, bytes] = SingleFlight()

    def resolve(self, url: str) -> str:
        """The URL to download: preprocessed like a source URL when the setting says so."""
        if not self.config.preprocess_url:
            return url
        for pattern, replacement in self._grammar.url_replacements:
            url = pattern.sub(replacement, url)
        base = self._grammar.base_url
        return url if not base or url.startswith(base) else base + url

    async def get_all(self, urls: Iterable[str]) -> dict[str, bytes]:
        """The bytes of each watermark URL (as the option gave it); a failed download is the
        source's error (404, 502, 504...) with a public message naming the watermark."""
        return {url: await self.get(url) for url in dict.fromkeys(urls)}

    async def get(self, url: str) -> bytes:
        cached = self._cache.get(url)
        if cached is not None:
            return cached
        return await self._flights.run(url, lambda: self._download(url))

    async def _download(self, url: str) -> bytes:
        try:
            data = (await self._fetcher.fetch(self.resolve(url))).data
        except ImgproxyError as exc:
            log.warning("watermark %s: %s", url, exc)
            exc.public_message = f"Watermark: {exc.public_message}"
            raise
        if self.config.cache_size and len(data) <= MAX_CACHE_BYTES:
            while len(self._cache) >= self.config.cache_size:
                self._cache.popitem()
            self._cache[url] = data
        return data

    def __len__(self) -> int:
        return len(self._cache)
