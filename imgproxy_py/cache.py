"""Memory-bounded caches and single-flight de-duplication.

``BytesCache`` bounds its entries by their total size in bytes (cachetools LRU with a
``getsizeof``); ``SingleFlight`` makes concurrent requests for one key share one
computation: the first caller runs it, the others await its result (and one of them runs it
anew when the first caller's client left and its computation was stopped).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from cachetools import LRUCache

from imgproxy_py.errors import RequestCancelledError

K = TypeVar("K")
V = TypeVar("V")


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class BytesCache(Generic[K, V]):
    def __init__(self, max_bytes: int, size_of: Callable[[V], int]) -> None:
        self.enabled = max_bytes > 0
        self._lru: LRUCache[K, V] = LRUCache(maxsize=max(1, max_bytes), getsizeof=size_of)
        self._size_of = size_of
        self.max_bytes = max_bytes
        self.stats = CacheStats()

    def get(self, key: K) -> V | None:
        if not self.enabled:
            return None
        value = self._lru.get(key)
        if value is None:
            self.stats.misses += 1
        else:
            self.stats.hits += 1
        return value

    def put(self, key: K, value: V) -> None:
        # An entry larger than the whole cache is simply not kept.
        if self.enabled and self._size_of(value) <= self.max_bytes:
            self._lru[key] = value

    def pop(self, key: K) -> None:
        self._lru.pop(key, None)

    @property
    def current_bytes(self) -> int:
        return int(self._lru.currsize)

    def __len__(self) -> int:
        return len(self._lru)


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._inflight: dict[K, asyncio.Future[V]] = {}

    async def run(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        while (existing := self._inflight.get(key)) is not None:
            try:
                return await asyncio.shield(existing)
            except (asyncio.CancelledError, RequestCancelledError):
                task = asyncio.current_task()
                if not _abandoned(existing) or (task is not None and task.cancelling()):
                    raise  # this caller's own cancellation
                # The computing caller's client left and its work stopped: this one takes over.
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await compute()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            # Waiters get the error; mark it retrieved so a lone failure isn't logged twice.
            future.exception()
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._inflight[key]


def _abandoned(flight: asyncio.Future[V]) -> bool:
    """The flight ended because its own caller was cancelled, not with a result or an error of
    the computation the other callers would meet too."""
    if not flight.done():
        return False
    return flight.cancelled() or isinstance(flight.exception(), RequestCancelledError)
