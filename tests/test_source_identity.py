"""What names a source's bytes in ETags and cache keys (``sources.store``): the origin's ETag,
else a hash of the bytes, computed off the event loop when the source is large."""

from __future__ import annotations

import asyncio
import hashlib
import os

from imgproxy_py.sources.base import SourceImage
from imgproxy_py.sources.store import HASHED_ON_THE_LOOP_MAX_BYTES, identify, source_identity


def test_the_origins_etag_else_the_bytes_hash() -> None:
    assert source_identity(SourceImage(data=b"abc", url="u", etag='"v1"')) == 'R"v1"'
    assert source_identity(SourceImage(data=b"abc", url="u")) == "D" + hashlib.sha256(b"abc").hexdigest()[:32]


def test_identify_agrees_with_source_identity_at_every_size() -> None:
    for size in (0, HASHED_ON_THE_LOOP_MAX_BYTES, HASHED_ON_THE_LOOP_MAX_BYTES + 1):
        image = SourceImage(data=os.urandom(size), url="u")
        assert asyncio.run(identify(image)) == source_identity(image)


def test_a_large_source_is_hashed_while_the_event_loop_keeps_serving() -> None:
    image = SourceImage(data=bytes(64 * 1024 * 1024), url="u")  # about 80 ms of SHA-256

    async def ticks_while_identifying() -> int:
        ticks = 0
        done = asyncio.Event()

        async def tick() -> None:
            nonlocal ticks
            while not done.is_set():
                await asyncio.sleep(0.001)
                ticks += 1

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0)
        await identify(image)
        done.set()
        await ticker
        return ticks

    # On the event loop the hash would let the ticker run at most once.
    assert asyncio.run(ticks_while_identifying()) >= 10
