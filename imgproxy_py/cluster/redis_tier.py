"""Redis as the cluster's hot tier and coordinator (``IMGPROXY_CACHE_REDIS_URL``, ours).

Small entries live in Redis memory (every node reads them in one round trip), and a lock per
cold key makes one node render while the others wait for its entry. Redis is an accelerator,
never a dependency: when it is unreachable every call answers "nothing here" (``None`` /
``True`` for the lock, so the node renders itself), the problem is logged once, and Redis is
tried again a few seconds later.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

log = logging.getLogger("imgproxy_py.cache")

RETRY_AFTER = 5.0  # seconds without Redis after a failure
# Deletes the lock only if it is still ours (it may have expired and been taken since).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
# Extends the lock only if it is still ours.
_EXTEND = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"


class RedisTier:
    def __init__(self, url: str, max_bytes: int, namespace: str = "imgproxy") -> None:
        import redis.asyncio

        self.max_bytes = max_bytes
        self.namespace = namespace
        self._client: Any = redis.asyncio.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError, TimeoutError)
        self._down_until = 0.0
        self._warned = False
        self._token = uuid.uuid4().hex

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + RETRY_AFTER
        if not self._warned:
            self._warned = True
            log.warning("Redis is unavailable, serving without it: %s", exc)

    def _ok(self) -> None:
        if self._warned:
            self._warned = False
            log.info("Redis is available again")

    async def get(self, key: str) -> bytes | None:
        if not self.available:
            return None
        try:
            value = await self._client.get(f"{self.namespace}:entry:{key}")
        except self._errors as exc:
            self._failed(exc)
            return None
        self._ok()
        return value if isinstance(value, bytes) else None

    async def put(self, key: str, blob: bytes, ttl: float) -> None:
        if not self.available or len(blob) > self.max_bytes or ttl < 1:
            return
        try:
            await self._client.set(f"{self.namespace}:entry:{key}", blob, px=int(ttl * 1000))
        except self._errors as exc:
            self._failed(exc)

    async def acquire(self, key: str, ttl: float) -> bool:
        """True: this process renders ``key`` (or Redis is down and every node renders)."""
        if not self.available:
            return True
        try:
            got = await self._client.set(f"{self.namespace}:lock:{key}", self._token, nx=True,
                                         px=max(1, int(ttl * 1000)))
        except self._errors as exc:
            self._failed(exc)
            return True
        return bool(got)

    async def locked(self, key: str) -> bool:
        if not self.available:
            return False
        try:
            return bool(await self._client.exists(f"{self.namespace}:lock:{key}"))
        except self._errors as exc:
            self._failed(exc)
            return False

    async def extend(self, key: str, ttl: float) -> None:
        if not self.available:
            return
        try:
            await self._client.eval(_EXTEND, 1, f"{self.namespace}:lock:{key}", self._token,
                                    str(max(1, int(ttl * 1000))))
        except self._errors as exc:
            self._failed(exc)

    async def release(self, key: str) -> None:
        if not self.available:
            return
        try:
            await self._client.eval(_RELEASE, 1, f"{self.namespace}:lock:{key}", self._token)
        except self._errors as exc:
            self._failed(exc)

    async def close(self) -> None:
        try:
            await self._client.aclose()
        except self._errors:
            pass
