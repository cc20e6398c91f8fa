"""JPEG XL through imagecodecs' libjxl: the libvips wheel is built without it.

imagecodecs was chosen over pillow-jxl-plugin (the same libjxl, within 0.1% in bytes and time
on the demo photos, ``benchmarks/jxl_candidates.py``) because it takes and gives numpy arrays
of 16-bit samples, which ``preserve_hdr`` needs, without a Pillow image in between.

libjxl has no cheap header call here, so the SizeHeader is parsed from the codestream and the
resolution checked before a pixel is decoded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyvips

from imgproxy_py.imaging.codecs import wheels
from imgproxy_py.imaging.codecs.dib_header import ImageDecodeError

_RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}
_SIGNATURE = b"\xff\x0a"


class _Bits:
    """JPEG XL's bit reader: least significant bit first."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, count: int) -> int:
        value = 0
        for shift in range(count):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise ImageDecodeError("JPEG XL: truncated header")
            value |= ((self.data[byte] >> (self.pos & 7)) & 1) << shift
            self.pos += 1
        return value

    def size(self) -> int:
        bits = (9, 13, 18, 30)[self.read(2)]
        return 1 + self.read(bits)


def _codestream(data: bytes) -> bytes:
    """The start of the codestream: the file itself, or the first jxlc/jxlp box of the container."""
    if data.startswith(_SIGNATURE):
        return data
    offset = 0
    while offset + 8 <= len(data):
        size, kind = int.from_bytes(data[offset:offset + 4], "big"), data[offset + 4:offset + 8]
        header = 8
        if size == 1:
            size, header = int.from_bytes(data[offset + 8:offset + 16], "big"), 16
        body = data[offset + header:offset + size if size else len(data)]
        if kind == b"jxlc":
            return body
        if kind == b"jxlp":
            return body[4:]
        if size < header:
            break
        offset += size
    raise ImageDecodeError("JPEG XL: no codestream")


def header_size(data: bytes) -> tuple[int, int]:
    """Width and height from the SizeHeader (before any orientation)."""
    stream = _codestream(data)
    if not stream.startswith(_SIGNATURE):
        raise ImageDecodeError("JPEG XL: bad signature")
    bits = _Bits(stream[2:66])
    if bits.read(1):  # small: multiples of 8 up to 256
        height = (bits.read(5) + 1) * 8
        ratio = bits.read(3)
        width = (bits.read(5) + 1) * 8 if ratio == 0 else 0
    else:
        height = bits.size()
        ratio = bits.read(3)
        width = bits.size() if ratio == 0 else 0
    if ratio:
        num, den = _RATIOS[ratio]
        width = height * num // den
    return width, height


def load_jxl(data: bytes, *, max_pixels: int, **_: Any) -> pyvips.Image:
    imagecodecs = wheels.require("jxl")
    width, height = header_size(data)
    if max_pixels and width * height > max_pixels:
        raise ImageDecodeError(f"source resolution {width}x{height} exceeds the limit")
    try:
        pixels = np.asarray(imagecodecs.jpegxl_decode(data, index=0))
    except (imagecodecs.JpegxlError, ValueError, RuntimeError) as exc:
        raise ImageDecodeError(f"JPEG XL: {exc}") from exc
    if pixels.dtype.kind == "f":
        pixels = (np.clip(pixels, 0.0, 1.0) * 65535 + 0.5).astype(np.uint16)
    elif pixels.dtype != np.uint8 and pixels.dtype != np.uint16:
        pixels = pixels.astype(np.uint16)
    return wheels.attach_metadata(wheels.to_vips(pixels))


def save_jxl(img: pyvips.Image, *, quality: int, effort: int, sixteen: bool = False, lossless: bool = False) -> bytes:
    imagecodecs = wheels.require("jxl")
    pixels = wheels.from_vips(img, sixteen=sixteen)
    if pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if lossless:
        return bytes(imagecodecs.jpegxl_encode(pixels, effort=effort, lossless=True))
    return bytes(imagecodecs.jpegxl_encode(pixels, level=quality, effort=effort))
