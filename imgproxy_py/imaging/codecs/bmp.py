"""BMP files: a file header and a DIB (``codecs.dib``); written as 24-bit, or 32-bit with alpha."""

from __future__ import annotations

import struct

import numpy as np
import pyvips

from imgproxy_py.imaging.codecs.dib import decode_pixels, internal_error, meaningful_alpha, row_stride, to_vips
from imgproxy_py.imaging.codecs.dib_header import (
    BI_BITFIELDS,
    BI_RGB,
    ImageDecodeError,
    U8Array,
    parse_dib,
    u32,
)

_FILE_HEADER_SIZE = 14
_LCS_SRGB = 0x73524742  # 'sRGB' in a V4/V5 header's colour space field


def is_bmp(data: bytes) -> bool:
    # 26 bytes: the file header plus the smallest (core) info header.
    return len(data) >= 26 and data[:2] == b"BM"


def load_bmp(data: bytes, *, max_pixels: int) -> pyvips.Image:
    """Decode a BMP file into an sRGB uchar image (3 bands, or 4 with real alpha)."""
    data = bytes(data)
    if len(data) < _FILE_HEADER_SIZE + 12 or data[:2] != b"BM":
        raise ImageDecodeError("not a BMP file")
    try:
        dib = parse_dib(data, _FILE_HEADER_SIZE, max_pixels=max_pixels, pixel_offset=u32(data, 10), icon=False)
        rgb, alpha, _ = decode_pixels(data, dib)
        if dib.alpha_from_mask:
            alpha = meaningful_alpha(alpha)
        return to_vips(rgb, alpha, dib)
    except ImageDecodeError:
        raise
    except (struct.error, IndexError, ValueError, OverflowError) as exc:
        raise internal_error("BMP", exc) from exc


def save_bmp(image: pyvips.Image) -> bytes:
    """Encode as a bottom-up BMP: 24-bit BI_RGB, or 32-bit BI_BITFIELDS (V4 header) with alpha."""
    pixels, has_alpha = _srgb_pixels(image)
    height, width = pixels.shape[:2]
    if has_alpha:
        bpp, header_size, compression = 32, 108, BI_BITFIELDS
        body = pixels[:, :, [2, 1, 0, 3]]
    else:
        bpp, header_size, compression = 24, 40, BI_RGB
        body = pixels[:, :, ::-1]
    stride = row_stride(width, bpp)
    rows = np.zeros((height, stride), dtype=np.uint8)
    rows[:, : width * bpp // 8] = body.reshape(height, width * bpp // 8)
    pixel_bytes = rows[::-1].tobytes()
    offset = _FILE_HEADER_SIZE + header_size
    total = offset + len(pixel_bytes)
    if total > 0xFFFFFFFF or width > 0x7FFFFFFF or height > 0x7FFFFFFF:
        raise ValueError("image too big for BMP")

    ppm = _pixels_per_metre(image)
    header = struct.pack(
        "<IiiHHIIiiII",
        header_size,
        width,
        height,
        1,
        bpp,
        compression,
        len(pixel_bytes),
        ppm[0],
        ppm[1],
        0,
        0,
    )
    if has_alpha:
        # V4 fields: RGBA masks, colour space, endpoints (36 bytes) and gamma (12 bytes).
        header += struct.pack("<IIIII", 0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000, _LCS_SRGB)
        header += bytes(48)
    file_header = b"BM" + struct.pack("<IHHI", total, 0, 0, offset)
    return file_header + header + pixel_bytes


def _pixels_per_metre(image: pyvips.Image) -> tuple[int, int]:
    try:
        x, y = round(image.xres * 1000), round(image.yres * 1000)
    except (AttributeError, TypeError, ValueError, OverflowError):
        return 0, 0
    if not (0 < x <= 0x7FFFFFFF and 0 < y <= 0x7FFFFFFF):
        return 0, 0
    return x, y


def _srgb_pixels(image: pyvips.Image) -> tuple[U8Array, bool]:
    """The image as (h, w, 3|4) sRGB uchar pixels and whether it has alpha."""
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        try:
            # 16-bit, CMYK, Lab, ... to 8-bit sRGB (or grey, which is widened below).
            image = image.colourspace("srgb" if image.bands >= 3 else "b-w")
        except pyvips.Error:
            pass  # no known route (for example "multiband"): take the values as they are
    if image.format != "uchar":
        image = image.cast("uchar")
    if image.bands in (1, 2):
        # Grey (plus alpha): replicate into RGB.
        grey = image.extract_band(0)
        rgb = grey.bandjoin([grey, grey])
        image = rgb.bandjoin(image.extract_band(1)) if image.bands == 2 else rgb
    elif image.bands > 4:
        image = image.extract_band(0, n=4)
    has_alpha = image.bands == 4
    pixels = np.frombuffer(image.write_to_memory(), dtype=np.uint8).reshape(image.height, image.width, image.bands)
    return pixels, has_alpha


# --------------------------------------------------------------------------- ICO
