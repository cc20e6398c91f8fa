"""Images named by URL options besides the source: ``watermark_url`` images and
``fallback_image_url`` images.  Downloaded through the source fetcher (its allowed sources, size
limit and timeout) and kept in a small cache each (``IMGPROXY_WATERMARKS_CACHE_SIZE`` and
``IMGPROXY_FALLBACK_IMAGES_CACHE_SIZE`` images, 256 by default as in imgproxy; 0: no cache);
``IMGPROXY_WATERMARK_PREPROCESS_URL`` / ``IMGPROXY_FALLBACK_IMAGE_PREPROCESS_URL`` apply the source
URLs' replacements and base URL to them.  Concurrent requests for one image share its download."""

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

# However many images the setting allows, a cache holds no more bytes than this.
MAX_CACHE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class URLImagesConfig:
    cache_size: int = 256  # 0: no cache
    # Apply IMGPROXY_URL_REPLACEMENTS and IMGPROXY_BASE_URL to the option's URLs, as to source URLs.
    preprocess_url: bool = False
    label: str = "Watermark"  # names the image in a failure's public message


@dataclass(frozen=True)
class WatermarksConfig(URLImagesConfig):
    @staticmethod
    def from_env(r: EnvReader) -> WatermarksConfig:
        return WatermarksConfig(
            cache_size=r.integer("IMGPROXY_WATERMARKS_CACHE_SIZE", 256, minimum=0),
            preprocess_url=r.boolean("IMGPROXY_WATERMARK_PREPROCESS_URL", False),
        )


@dataclass(frozen=True)
class FallbackImagesConfig(URLImagesConfig):
    label: str = "Fallback image"

    @staticmethod
    def from_env(r: EnvReader) -> FallbackImagesConfig:
        return FallbackImagesConfig(
            cache_size=r.integer("IMGPROXY_FALLBACK_IMAGES_CACHE_SIZE", 256, minimum=0),
            preprocess_url=r.boolean("IMGPROXY_FALLBACK_IMAGE_PREPROCESS_URL", False),
        )


class URLImages:
    def __init__(self, config: URLImagesConfig, fetcher: SourceFetcher, url_grammar: URLGrammar) -> None:
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
        """The bytes of each URL (as the option gave it); a failed download is the source's
        error (404, 502, 504...) with a public message naming the image."""
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
            log.warning("%s %s: %s", self.config.label.lower(), url, exc)
            exc.public_message = f"{self.config.label}: {exc.public_message}"
            raise
        if self.config.cache_size and len(data) <= MAX_CACHE_BYTES:
            while len(self._cache) >= self.config.cache_size:
                self._cache.popitem()
            self._cache[url] = data
        return data

    def __len__(self) -> int:
        return len(self._cache)
