"""JPEG XL through imagecodecs' libjxl: the libvips wheel is built without it.

imagecodecs was chosen over pillow-jxl-plugin (the same libjxl, within 0.1% in bytes and time
on the demo photos, ``benchmarks/jxl_candidates.py``) because it takes and gives numpy arrays
of 16-bit samples, which ``preserve_hdr`` needs, without a Pillow image in between.

libjxl has no cheap header call here, so the SizeHeader is parsed from the codestream and the
resolution checked before a pixel is decoded.  imagecodecs hands samples over at the file's own
bit depth (a 10-bit image as 0..1023 in uint16, a 1-bit one as 0..1), so the ImageMetadata's
``bit_depth`` is read as well and the samples are scaled to their type's full range.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
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

    def u32(self, *choices: tuple[int, int]) -> int:
        """The specification's U32: a 2-bit selector picks (bits, offset); bits 0 is a constant."""
        bits, offset = choices[self.read(2)]
        return offset + self.read(bits)


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


def _size_header(bits: _Bits) -> tuple[int, int]:
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


def _skip_preview_header(bits: _Bits) -> None:
    div8 = bits.read(1)
    side = ((0, 16), (0, 32), (5, 1), (9, 33)) if div8 else ((6, 1), (8, 65), (10, 321), (12, 1345))
    bits.u32(*side)
    if bits.read(3) == 0:
        bits.u32(*side)


def _skip_animation_header(bits: _Bits) -> None:
    bits.u32((0, 100), (0, 1000), (10, 1), (30, 1))
    bits.u32((0, 1), (0, 1001), (8, 1), (10, 1))
    bits.u32((0, 0), (3, 0), (16, 0), (32, 0))
    bits.read(1)


def read_header(data: bytes) -> tuple[int, int, int]:
    """Width and height (before any orientation) and the integer bits per sample (0: float)."""
    stream = _codestream(data)
    if not stream.startswith(_SIGNATURE):
        raise ImageDecodeError("JPEG XL: bad signature")
    bits = _Bits(stream[2:130])
    width, height = _size_header(bits)
    if bits.read(1):  # all_default: 8-bit
        return width, height, 8
    if bits.read(1):  # extra_fields
        bits.read(3)  # orientation
        if bits.read(1):
            _size_header(bits)  # intrinsic size
        if bits.read(1):
            _skip_preview_header(bits)
        if bits.read(1):
            _skip_animation_header(bits)
    if bits.read(1):  # float samples
        return width, height, 0
    return width, height, bits.u32((0, 8), (0, 10), (0, 12), (6, 1))


def _full_range(pixels: npt.NDArray[Any], depth: int) -> npt.NDArray[Any]:
    """Samples of ``depth`` bits stretched over their integer type (10 bits: 1023 -> 65535)."""
    top = np.iinfo(pixels.dtype).max
    if not 0 < depth < top.bit_length():
        return pixels
    scaled = (pixels.astype(np.uint32) * top + ((1 << depth) - 1) // 2) // ((1 << depth) - 1)
    return np.minimum(scaled, top).astype(pixels.dtype)


def load_jxl(data: bytes, *, max_pixels: int, **_: Any) -> pyvips.Image:
    imagecodecs = wheels.require("jxl")
    width, height, depth = read_header(data)
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
    else:
        pixels = _full_range(pixels, depth)
    return wheels.attach_metadata(wheels.to_vips(pixels))


def save_jxl(img: pyvips.Image, *, quality: int, effort: int, sixteen: bool = False, lossless: bool = False) -> bytes:
    imagecodecs = wheels.require("jxl")
    pixels = wheels.from_vips(img, sixteen=sixteen)
    if pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if lossless:
        return bytes(imagecodecs.jpegxl_encode(pixels, effort=effort, lossless=True))
    return bytes(imagecodecs.jpegxl_encode(pixels, level=quality, effort=effort))
