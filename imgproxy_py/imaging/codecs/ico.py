"""ICO (and CUR) files: a directory of PNG or DIB entries, of which the largest is decoded;
written as one PNG entry, as imgproxy does."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import pyvips

from imgproxy_py.imaging.codecs.dib import (
    decode_pixels,
    internal_error,
    meaningful_alpha,
    row_stride,
    rows_of,
    to_vips,
    unpack_indices,
)
from imgproxy_py.imaging.codecs.dib_header import (
    BI_RLE4,
    BI_RLE8,
    HEADER_SIZES,
    ImageDecodeError,
    check_size,
    i32,
    parse_dib,
    u16,
    u32,
)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def is_ico(data: bytes) -> bool:
    return len(data) >= 6 and data[:4] == b"\x00\x00\x01\x00" and data[4:6] != b"\x00\x00"


@dataclass
class _IcoEntry:
    index: int
    offset: int
    size: int
    width: int
    height: int
    bpp: int


def _peek_entry(data: bytes, entry: _IcoEntry) -> tuple[int, int, int] | None:
    """Width, height and bit depth from the entry's own header (directories may lie)."""
    off = entry.offset
    if data[off : off + 8] == _PNG_SIGNATURE:
        if off + 26 > len(data) or data[off + 12 : off + 16] != b"IHDR":
            return None
        w = int.from_bytes(data[off + 16 : off + 20], "big")
        h = int.from_bytes(data[off + 20 : off + 24], "big")
        channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(data[off + 25], 0)
        return w, h, data[off + 24] * channels
    if off + 16 > len(data):
        return None
    hsize = u32(data, off)
    if hsize == 12:
        return u16(data, off + 4), u16(data, off + 6) // 2, u16(data, off + 10)
    if hsize in HEADER_SIZES:
        return abs(i32(data, off + 4)), abs(i32(data, off + 8)) // 2, u16(data, off + 14)
    return None


def _ico_entries(data: bytes) -> list[_IcoEntry]:
    if len(data) < 6 or u16(data, 0) != 0 or u16(data, 2) not in (1, 2):
        raise ImageDecodeError("not an ICO file")
    count = u16(data, 4)
    if count == 0:
        raise ImageDecodeError("ICO has no images")
    if 6 + 16 * count > len(data):
        raise ImageDecodeError("truncated ICO directory")
    entries = []
    for index in range(count):
        pos = 6 + 16 * index
        width, height = data[pos] or 256, data[pos + 1] or 256
        colors, bpp = data[pos + 2], u16(data, pos + 6)
        if bpp == 0 and colors:
            bpp = max(1, (colors - 1).bit_length())
        size, offset = u32(data, pos + 8), u32(data, pos + 12)
        if offset < 6 + 16 * count or offset >= len(data):
            continue  # points into the directory or past the end: unusable
        entries.append(_IcoEntry(index, offset, size, width, height, bpp))
    if not entries:
        raise ImageDecodeError("ICO has no usable images")
    for entry in entries:
        peeked = _peek_entry(data, entry)
        if peeked is not None and peeked[0] > 0 and peeked[1] > 0:
            entry.width, entry.height, entry.bpp = peeked
    return entries


def load_ico(data: bytes, *, max_pixels: int) -> pyvips.Image:
    """Decode the largest image of an ICO (or CUR) file into sRGB uchar (3 or 4 bands)."""
    data = bytes(data)
    entries = _ico_entries(data)
    # Largest area, then deepest colour; the first listed wins ties.
    best = max(entries, key=lambda e: (e.width * e.height, e.bpp, -e.index))
    end = best.offset + best.size
    blob = data[best.offset : end] if best.size > 0 and end <= len(data) else data[best.offset :]
    try:
        if blob[:8] == _PNG_SIGNATURE:
            return _load_png_entry(blob, max_pixels=max_pixels)
        return _load_dib_entry(blob, max_pixels=max_pixels)
    except ImageDecodeError:
        raise
    except (struct.error, IndexError, ValueError, OverflowError) as exc:
        raise internal_error("ICO", exc) from exc


def _load_png_entry(blob: bytes, *, max_pixels: int) -> pyvips.Image:
    if len(blob) < 26 or blob[12:16] != b"IHDR":
        raise ImageDecodeError("truncated PNG icon")
    width, height = int.from_bytes(blob[16:20], "big"), int.from_bytes(blob[20:24], "big")
    check_size(width, height, max_pixels)
    try:
        # As a PNG source is: grey stays grey, 16 bits stay 16 and damaged pixel data is tolerated
        # (imgproxy's icoload hands the entry to pngload as it is).  Decode now: a PNG whose
        # header or stream can't be read must fail here, not later.
        image = pyvips.Image.pngload_buffer(blob).copy_memory()
    except pyvips.Error as exc:
        raise ImageDecodeError("invalid PNG icon") from exc
    return image


def _load_dib_entry(blob: bytes, *, max_pixels: int) -> pyvips.Image:
    dib = parse_dib(blob, 0, max_pixels=max_pixels, pixel_offset=None, icon=True)
    if dib.compression in (BI_RLE8, BI_RLE4):
        # Windows does not accept compressed icon bitmaps, and the AND mask's position
        # would be unknown.
        raise ImageDecodeError("compressed icon bitmap")
    rgb, alpha, end = decode_pixels(blob, dib)
    use_and_mask = True
    if dib.alpha_from_mask and alpha is not None and alpha.any():
        # Real alpha bytes make the AND mask irrelevant, even when they say "opaque".
        use_and_mask = False
        alpha = meaningful_alpha(alpha)
    else:
        alpha = None
    if use_and_mask:
        mask_stride = row_stride(dib.width, 1)
        if end + mask_stride * dib.height <= len(blob):
            rows = rows_of(blob, end, dib.width, dib.height, 1, False)
            # A set bit means transparent.
            opaque = unpack_indices(rows, dib.width, 1) == 0
            alpha = None if opaque.all() else opaque.astype(np.uint8) * np.uint8(255)
    return to_vips(rgb, alpha)


def save_ico(image: pyvips.Image) -> bytes:
    """An ICO with a single PNG entry, as imgproxy writes them; at most 256x256."""
    if image.width > 256 or image.height > 256:
        raise ValueError("image too big for ICO: the maximum is 256x256")
    if image.format != "uchar":
        if image.interpretation == "grey16":
            image = image.colourspace("b-w")
        elif image.interpretation == "rgb16":
            image = image.colourspace("srgb")
        else:
            image = image.cast("uchar")
    png: bytes = image.pngsave_buffer()
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack(
        "<BBBBHHII",
        image.width % 256,  # 0 means 256
        image.height % 256,
        0,  # no palette
        0,
        1,
        8 * image.bands,  # bits a pixel: 8 grey, 16 grey and alpha, 24 RGB, 32 RGBA
        len(png),
        len(header) + 16,
    )
    return header + entry + png
