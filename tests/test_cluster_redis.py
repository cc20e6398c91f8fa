"""Redis as the hot tier and the cluster-wide single flight (IMGPROXY_CACHE_REDIS_URL): many
concurrent requests for one cold URL on two nodes fetch and render once; without Redis a node
keeps serving."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from imgproxy_py.cluster.config import CacheConfig
from imgproxy_py.cluster.entry import CacheEntry
from imgproxy_py.cluster.internal import CacheError, InternalCache
from imgproxy_py.cluster.redis_tier import RedisTier
from tests.cluster_services import RedisServer
from tests.ports import free_port
from tests.servers import AppServer, Origin


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


def test_concurrent_cold_requests_on_two_nodes_render_once(
        redis_server: RedisServer, start_server: Callable[..., AppServer], origin: Origin, photo_jpeg: bytes) -> None:
    nodes = [start_server(IMGPROXY_CACHE_REDIS_URL=redis_server.url) for _ in range(2)]
    url = origin.add("/redis/cold.jpg", photo_jpeg, delay=0.5)
    path = f"/unsafe/rs:fit:120:120/plain/{url}@webp"
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda n: client.get(nodes[n % 2].base + path), range(30)))
    assert [r.status_code for r in responses] == [200] * 30
    assert len({r.content for r in responses}) == 1
    assert origin.count("/redis/cold.jpg") == 1
    assert sum(node.services.internal_cache.renders for node in nodes) == 1


def test_a_small_result_is_served_from_redis_by_a_new_node(
        redis_server: RedisServer, start_server: Callable[..., AppServer], origin: Origin, photo_jpeg: bytes) -> None:
    first = start_server(IMGPROXY_CACHE_REDIS_URL=redis_server.url)
    url = origin.add("/redis/hot.jpg", photo_jpeg)
    path = f"/unsafe/rs:fit:80:80/plain/{url}@png"
    body = httpx.get(first.base + path, timeout=30).content
    later = start_server(IMGPROXY_CACHE_REDIS_URL=redis_server.url)
    response = httpx.get(later.base + path, timeout=30)
    assert response.status_code == 200 and response.content == body
    assert origin.count("/redis/hot.jpg") == 1 and later.services.internal_cache.renders == 0
    # Larger than IMGPROXY_CACHE_REDIS_MAX_BYTES: not kept in Redis (and no store): rendered again.
    small = start_server(IMGPROXY_CACHE_REDIS_URL=redis_server.url, IMGPROXY_CACHE_REDIS_MAX_BYTES="100")
    big_path = f"/unsafe/rs:fit:81:81/plain/{url}@png"
    assert httpx.get(small.base + big_path, timeout=30).status_code == 200
    assert httpx.get(small.base + big_path, timeout=30).status_code == 200
    assert small.services.internal_cache.renders == 2


def test_without_redis_the_node_serves_and_logs_once(
        start_server: Callable[..., AppServer], origin: Origin, photo_jpeg: bytes,
        caplog: pytest.LogCaptureFixture) -> None:
    node = start_server(IMGPROXY_CACHE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    url = origin.add("/redis/down.jpg", photo_jpeg)
    with caplog.at_level(logging.WARNING, logger="imgproxy_py.cache"):
        statuses = [httpx.get(f"{node.base}/unsafe/rs:fit:{40 + n}:40/plain/{url}", timeout=30).status_code
                    for n in range(3)]
    assert statuses == [200] * 3
    assert sum("Redis is unavailable" in r.getMessage() for r in caplog.records) == 1


def face_rendered_on_one_of_two_nodes(redis_server: RedisServer, start_server: Callable[..., AppServer],
                                      origin: Origin, photo_jpeg: bytes, name: str) -> tuple[AppServer, AppServer, str]:
    """Two nodes sharing Redis, and the photo's URL, cropped to its face on the first."""
    node_a, node_b = (start_server(IMGPROXY_CACHE_REDIS_URL=redis_server.url) for _ in range(2))
    url = origin.add(f"/redis/{name}", photo_jpeg)
    first = httpx.get(f"{node_a.base}/unsafe/rs:fill:120:200/g:obj:face/plain/{url}", timeout=30)
    assert first.status_code == 200
    return node_a, node_b, url


def test_detections_are_shared_between_nodes(
        redis_server: RedisServer, start_server: Callable[..., AppServer], origin: Origin, photo_jpeg: bytes) -> None:
    node_a, node_b, url = face_rendered_on_one_of_two_nodes(redis_server, start_server, origin, photo_jpeg, "face.jpg")
    assert node_a.services.processor.deps.objects.inferences == 1
    # Another size on the other node: its own rendering, the first node's detections.
    second = httpx.get(f"{node_b.base}/unsafe/rs:fill:60:100/g:obj:face/plain/{url}", timeout=30)
    assert second.status_code == 200 and node_b.services.internal_cache.renders == 1
    assert node_b.services.processor.deps.objects.inferences == 0


def test_damaged_shared_detections_are_detected_again(
        redis_server: RedisServer, start_server: Callable[..., AppServer], origin: Origin, photo_jpeg: bytes) -> None:
    import redis

    _, node_b, url = face_rendered_on_one_of_two_nodes(redis_server, start_server, origin, photo_jpeg,
                                                       "damaged-detections.jpg")
    client = redis.Redis.from_url(redis_server.url)
    keys = [k for k in client.keys("*:detections:*") if client.get(k) != b"[]"]
    assert len(keys) == 1  # the photo's one face
    for n, damaged in enumerate((b'[[0, "face", 0.9, NaN, 0.1, 0.2, 0.2, []]]', b"[[0, 1]]", b"{"), start=1):
        client.set(keys[0], damaged)
        again = httpx.get(f"{node_b.base}/unsafe/rs:fill:{60 + n}:100/g:obj:face/plain/{url}", timeout=30)
        assert again.status_code == 200
        assert node_b.services.processor.deps.objects.inferences == n
        node_b.services.processor.deps.objects._cache.clear()  # the node's own copy: ask Redis again
        assert client.get(keys[0]) not in (damaged, None)  # replaced by the node's own detections
    client.close()


def test_a_node_that_takes_the_lock_after_another_rendered_serves_the_stored_entry(
        redis_server: RedisServer) -> None:
    """The race behind a cold URL fetched twice: node B looked for the entry (a miss), then node
    A stored it and released its lock, then B took the free lock.  B must not render again."""

    async def scenario() -> tuple[CacheEntry, int, int]:
        node_a, node_b = (InternalCache(CacheConfig(redis_url=redis_server.url), None,
                                        RedisTier(redis_server.url, 1 << 20)) for _ in range(2))
        rendered = CacheEntry(200, "image/webp", b"RIFF-rendered-once", stored_at=time.time(),
                              expires_at=time.time() + 3600)

        async def render() -> CacheEntry:
            return rendered

        key = "race-" + uuid.uuid4().hex
        assert await node_b.lookup(key) is None  # B's miss, before A's rendering
        await node_a.fill(key, render, wait_limit=5)  # A renders, stores, releases the lock
        served = await node_b.fill(key, render, wait_limit=5)  # B: the lock is free now
        locked_after = await node_b.redis.locked(key) if node_b.redis else True
        for node in (node_a, node_b):
            await node.close()
        return served, node_b.renders, int(locked_after)

    served, renders_on_b, locked_after = asyncio.run(scenario())
    assert served.body == b"RIFF-rendered-once"
    assert renders_on_b == 0
    assert locked_after == 0  # the lock B took to look again is handed back


def test_bypass_cache_renders_again_when_redis_coordinates(
        redis_server: RedisServer, start_server: Callable[..., AppServer], origin: Origin, photo_jpeg: bytes,
        landscape_jpeg: bytes) -> None:
    # bc:1 must not be answered with the fresh entry Redis holds: the source is fetched again
    # and the new rendering replaces the entry for the next plain request.
    node = start_server(IMGPROXY_CACHE_REDIS_URL=redis_server.url, IMGPROXY_ALLOW_BYPASS_CACHE="true")
    url = origin.add("/redis/bypassed.jpg", photo_jpeg)
    path = f"/rs:fit:64:64/plain/{url}@png"
    first = httpx.get(f"{node.base}/unsafe{path}", timeout=30)
    assert first.status_code == 200 and origin.count("/redis/bypassed.jpg") == 1
    origin.add("/redis/bypassed.jpg", landscape_jpeg)  # the source changed at the origin
    bypassed = httpx.get(f"{node.base}/unsafe/bc:1{path}", timeout=30)
    assert bypassed.status_code == 200 and origin.count("/redis/bypassed.jpg") == 2
    assert bypassed.content != first.content and node.services.internal_cache.renders == 2
    later = httpx.get(f"{node.base}/unsafe{path}", timeout=30)
    assert later.content == bypassed.content and origin.count("/redis/bypassed.jpg") == 2


class FailingStore:
    """A store whose every read fails, as an unreachable bucket's does."""

    async def get(self, key: str) -> bytes | None:
        raise OSError("store unreachable")

    async def put(self, key: str, blob: bytes) -> None:
        raise OSError("store unreachable")

    async def close(self) -> None:
        return None


def test_a_failed_look_after_taking_the_lock_hands_the_lock_back(redis_server: RedisServer) -> None:
    """With IMGPROXY_CACHE_REPORT_ERRORS the look for another node's entry, made after taking
    the cluster lock, raises: the lock must not stay held, or every other node waits on it."""

    async def scenario() -> tuple[bool, int]:
        cache = InternalCache(CacheConfig(redis_url=redis_server.url, report_errors=True), FailingStore(),
                              RedisTier(redis_server.url, 1 << 20))

        async def render() -> CacheEntry:
            return CacheEntry(200, "image/png", b"never", stored_at=time.time(), expires_at=time.time() + 60)

        key = "failing-" + uuid.uuid4().hex
        with pytest.raises(CacheError):
            await cache.fill(key, render, wait_limit=5)
        assert cache.redis is not None
        locked = await cache.redis.locked(key)
        await cache.close()
        return locked, cache.renders

    locked, renders = asyncio.run(scenario())
    assert locked is False and renders == 0
