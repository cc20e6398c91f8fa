"""A compressed body inflated a bounded piece at a time.

An origin that gzips an image although nobody asked (imgproxy's fetcher sends no
``Accept-Encoding``) is still decoded, as imgproxy's fetcher decodes it.  httpx inflates each
network read whole: one 64 KiB read of a compression bomb can become 64 MiB before the size limit
and the first-bytes check (``SizeLimit``) see any of it.  Here zlib's ``max_length`` hands them
at most ``PIECE`` bytes at a time, as Go's streaming gzip reader fills one buffer at a time.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

import httpx

PIECE = 1 << 20
# The encodings inflated here; any other (br, zstd, a list of several) is left to httpx.
INFLATED = frozenset({"gzip", "x-gzip", "deflate"})


async def inflated(raw: AsyncIterator[bytes], encoding: str) -> AsyncIterator[bytes]:
    """``raw`` (the body as sent) decoded from ``encoding``, in pieces of at most ``PIECE``
    bytes; a body that does not decode raises httpx's ``DecodingError``, as httpx's decoder."""
    gzipped = encoding in ("gzip", "x-gzip")
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzipped else zlib.MAX_WBITS)
    first = True
    try:
        async for data in raw:
            while data:
                try:
                    piece = decompressor.decompress(data, PIECE)
                except zlib.error:
                    if gzipped or not first:
                        raise
                    # "deflate" sent without its zlib header, as some servers do (httpx retries so too).
                    decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                    piece = decompressor.decompress(data, PIECE)
                first = False
                data = decompressor.unconsumed_tail
                if piece:
                    yield piece
        while tail := decompressor.decompress(b"", PIECE):  # what zlib still holds
            yield tail
        if rest := decompressor.flush():
            yield rest
    except zlib.error as exc:
        raise httpx.DecodingError(str(exc)) from exc
