"""imgproxy Pro's internal cache, shared by every node: look an entry up (Redis first, then
the store), or render it once in the whole cluster and keep it.

Cache failures fall back to processing and are logged, unless ``IMGPROXY_CACHE_REPORT_ERRORS``
turns them into a 500 "Cache error", as imgproxy documents.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from imgproxy_py.cache import SingleFlight
from imgproxy_py.cluster.config import CacheConfig
from imgproxy_py.cluster.entry import CacheEntry
from imgproxy_py.cluster.keys import cache_key
from imgproxy_py.cluster.redis_tier import RedisTier
from imgproxy_py.cluster.stores import CacheStore, FsCacheStore
from imgproxy_py.errors import ImgproxyError
from imgproxy_py.imaging.objects import SharedDetections
from imgproxy_py.sources.config import FetchConfig

log = logging.getLogger("imgproxy_py.cache")
POLL = 0.025  # seconds before the first look for another node's entry
MAX_POLL = 0.2  # and at most between later looks
# The cluster lock lives this long unless its renderer keeps extending it (every third of it):
# a node killed while rendering frees its keys within seconds, not after a whole timeout.
LOCK_TTL = 3.0


class CacheError(ImgproxyError):
    status = 500
    default_public_message = "Cache error"


Render = Callable[[], Awaitable[CacheEntry]]


class InternalCache:
    def __init__(self, config: CacheConfig, store: CacheStore | None, redis: RedisTier | None,
                 lock_ttl: float = LOCK_TTL) -> None:
        self.config = config
        self.store = store
        self.redis = redis
        self.lock_ttl = lock_ttl
        self._flights: SingleFlight[str, CacheEntry] = SingleFlight()
        self.renders = 0  # renderings this process did for the cache (for tests and metrics)
        # Told of each request the cache answered (True) or had rendered (False): imgproxy
        # Pro's cache_hits_total / cache_misses_total.
        self.on_lookup: Callable[[bool], None] | None = None

    def counted(self, hit: bool) -> None:
        if self.on_lookup is not None:
            self.on_lookup(hit)

    def key(self, source_url: str, canonical: str, headers: Mapping[str, str], cookies: Mapping[str, str]) -> str:
        return cache_key(source_url, canonical, headers, cookies, self.config.key_headers, self.config.key_cookies)

    async def lookup(self, key: str) -> CacheEntry | None:
        """The fresh or stale entry of ``key``; ``None``: none anywhere."""
        if self.redis is not None:
            blob = await self.redis.get(key)
            if blob is not None:
                entry = self._decode(key, blob)
                if entry is not None:
                    return entry
        if self.store is None:
            return None
        try:
            blob = await self.store.get(key)
        except Exception as exc:  # any client's failure: the store is a cache, not the truth
            self._store_failed("read", key, exc)
            return None
        entry = self._decode(key, blob) if blob is not None else None
        if entry is not None and entry.fresh() and self.redis is not None:
            await self.redis.put(key, blob or b"", entry.ttl())  # warm the hot tier for the next node
        return entry

    async def save(self, key: str, entry: CacheEntry) -> None:
        blob = entry.to_bytes()
        if self.redis is not None:
            await self.redis.put(key, blob, entry.ttl())
        if self.store is not None:
            try:
                await self.store.put(key, blob)
            except Exception as exc:
                self._store_failed("write", key, exc)

    async def fill(self, key: str, render: Render, wait_limit: float, bypass: bool = False) -> CacheEntry:
        """Render ``key`` once per process, and once per cluster when Redis coordinates: the
        other nodes wait (at most ``wait_limit`` seconds) and take the stored entry.

        ``bypass`` (``bypass_cache``): this request renders and its entry replaces the stored
        one; it never answers with the stored entry, so it neither joins another request's
        rendering nor waits for another node's."""
        if bypass:
            return await self._fill_cluster(key, render, wait_limit, bypass=True)
        return await self._flights.run(key, lambda: self._fill_cluster(key, render, wait_limit, bypass=False))

    async def _fill_cluster(self, key: str, render: Render, wait_limit: float, bypass: bool) -> CacheEntry:
        redis = self.redis
        if redis is None:
            return await self._render(key, render)
        # A bypass takes the lock when it is free, so the others wait for its entry, but renders
        # without it when another node holds it.
        mine = await redis.acquire(key, self.lock_ttl)
        try:
            if not mine and not bypass:
                give_up = time.monotonic() + wait_limit
                pause = POLL
                while time.monotonic() < give_up:
                    await asyncio.sleep(pause)
                    pause = min(pause * 1.5, MAX_POLL)  # long renders: fewer looks at the store
                    entry = await self.lookup(key)
                    if entry is not None and entry.fresh():
                        return entry
                    if not await redis.locked(key):
                        # The renderer finished without a storable entry, or died: take over.
                        mine = await redis.acquire(key, self.lock_ttl)
                        if mine:
                            break
                # Waited long enough: render here rather than fail the request.
            if mine and not bypass:
                # Another node may have stored the entry and released its lock after this request
                # looked for it: look once more, or the same image is rendered (and fetched) twice.
                entry = await self.lookup(key)
                if entry is not None and entry.fresh():
                    return entry
            keeper = asyncio.create_task(self._keep_lock(key)) if mine else None
            try:
                return await self._render(key, render)
            finally:
                if keeper is not None:
                    keeper.cancel()
        finally:
            # Whatever ends this (a store error reported by ``lookup``, a render that fails, the
            # request cancelled), a lock left held would make every node wait on it.
            if mine:
                await redis.release(key)

    async def _render(self, key: str, render: Render) -> CacheEntry:
        self.renders += 1
        entry = await render()
        if entry.storable:
            await self.save(key, entry)
        return entry

    async def _keep_lock(self, key: str) -> None:
        assert self.redis is not None
        while True:
            await asyncio.sleep(self.lock_ttl / 3)
            await self.redis.extend(key, self.lock_ttl)

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()
        if self.redis is not None:
            await self.redis.close()

    def _decode(self, key: str, blob: bytes) -> CacheEntry | None:
        try:
            return CacheEntry.from_bytes(blob)
        except ValueError as exc:
            log.warning("cache entry %s unreadable, rendering again: %s", key, exc)
            return None

    def _store_failed(self, action: str, key: str, exc: Exception) -> None:
        if self.config.report_errors:
            raise CacheError(f"cache {action} failed for {key}: {exc}") from exc
        log.warning("cache %s failed for %s, processing without it: %s", action, key, exc)


def build_internal_cache(config: CacheConfig, fetch: FetchConfig, problems: list[str]) -> InternalCache | None:
    if not config.enabled:
        return None
    if fetch.origin_headers.cookie_passthrough and not config.key_cookies:
        # The origin may answer each client's cookies with another image, but the entry the
        # first client's made is served to everyone.
        log.warning("IMGPROXY_COOKIE_PASSTHROUGH is on with the internal cache, and IMGPROXY_CACHE_KEY_COOKIES "
                    "is empty: an image the origin made for one client's cookies is cached and served to every "
                    "client. List the cookies that change the image in IMGPROXY_CACHE_KEY_COOKIES.")
    keyed = {name.lower() for name in config.key_headers}
    unkeyed = [name for name in fetch.origin_headers.request_passthrough if name.lower() not in keyed]
    if unkeyed:
        # The same with the client's headers forwarded to the origin (Accept-Language, say).
        log.warning("IMGPROXY_REQUEST_HEADERS_PASSTHROUGH forwards %s to the origin, but IMGPROXY_CACHE_KEY_HEADERS "
                    "leaves them out of the internal cache's key: an image the origin made for one client's "
                    "headers is cached and served to every client. Add the headers that change the image to "
                    "IMGPROXY_CACHE_KEY_HEADERS.", ", ".join(unkeyed))
    store: CacheStore | None = None
    if config.use == "fs":
        store = FsCacheStore(config.fs_root, config.bucket, config.path_prefix)
    elif config.use:
        from imgproxy_py.cluster.object_stores import object_store

        store = object_store(config, fetch, problems)
    redis: RedisTier | None = None
    if config.redis_url:
        try:
            redis = RedisTier(config.redis_url, config.redis_max_bytes)
        except ImportError:
            problems.append("IMGPROXY_CACHE_REDIS_URL: the redis package is not installed "
                            "(pip install 'imgproxy-py[redis]')")
        except ValueError as exc:
            problems.append(f"IMGPROXY_CACHE_REDIS_URL: {exc}")
    return InternalCache(config, store, redis)


def shared_detections(redis_url: str) -> SharedDetections | None:
    """Detections shared through Redis, or None where the redis package is missing (the
    internal cache reports that problem)."""
    try:
        from imgproxy_py.cluster.shared_detections import RedisDetections

        return RedisDetections(redis_url)
    except (ImportError, ValueError):
        return None
