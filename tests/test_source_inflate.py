"""A body an origin compresses anyway is inflated a bounded piece at a time, so one network read of
a compression bomb never becomes tens of MiB before the size limit and the first-bytes check."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest

from imgproxy_py.sources.inflate import PIECE, inflated
from tests.conftest import asset

JPEG = asset("hopper.jpg").read_bytes()


async def _reads(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def pieces(encoding: str, *chunks: bytes, take: int | None = None) -> list[bytes]:
    async def run() -> list[bytes]:
        out: list[bytes] = []
        async for piece in inflated(_reads(*chunks), encoding):
            out.append(piece)
            if take is not None and len(out) == take:
                break
        return out
    return asyncio.run(run())


def test_a_bomb_comes_a_piece_at_a_time() -> None:
    bomb = gzip.compress(b"\0" * (64 << 20))  # 64 MiB of zeros in about 64 KiB: one network read
    assert len(bomb) < 128 << 10
    first = pieces("gzip", bomb, take=1)
    assert len(first) == 1 and len(first[0]) <= PIECE
    whole = pieces("gzip", bomb)
    assert max(len(piece) for piece in whole) <= PIECE and sum(len(piece) for piece in whole) == 64 << 20


@pytest.mark.parametrize(("encoding", "body"), [
    ("gzip", gzip.compress(JPEG)),
    ("x-gzip", gzip.compress(JPEG)),
    ("deflate", zlib.compress(JPEG)),
    ("deflate", zlib.compress(JPEG)[2:-4]),  # raw deflate, without the zlib header, as some servers send it
])
def test_bodies_decode_whole_in_any_cut(encoding: str, body: bytes) -> None:
    """Raw deflate is told from zlib's by the first read, as httpx tells it: not one byte long."""
    for size in (7, 4096, len(body)):
        chunks = [body[i:i + size] for i in range(0, len(body), size)]
        assert b"".join(pieces(encoding, *chunks)) == JPEG


def test_a_body_that_does_not_decode_is_httpxs_decoding_error() -> None:
    with pytest.raises(httpx.DecodingError):
        pieces("gzip", b"not gzip at all")
