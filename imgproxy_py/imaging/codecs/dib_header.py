"""The DIB (device-independent bitmap) header of BMP files and ICO entries: size, bit depth,
compression, bit masks and palette, each checked against the buffer before it is read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

U8Array = npt.NDArray[np.uint8]

MAX_SIDE = 65535
# 12: BITMAPCOREHEADER, 40: BITMAPINFOHEADER, 52/56: Adobe's V2/V3, 64: OS/2 2.x,
# 108: V4, 124: V5.
HEADER_SIZES = (12, 40, 52, 56, 64, 108, 124)

BI_RGB = 0
BI_RLE8 = 1
BI_RLE4 = 2
BI_BITFIELDS = 3
BI_ALPHABITFIELDS = 6


class ImageDecodeError(ValueError):
    """The data is not a valid (or not a supported) BMP/ICO image."""


@dataclass
class Dib:
    width: int
    height: int  # for ICO entries already halved (the XOR bitmap's height)
    top_down: bool
    bpp: int
    compression: int
    masks: tuple[int, int, int, int] | None  # R, G, B, A; None for palette/24-bit images
    alpha_from_mask: bool  # True when the A mask is a "maybe alpha" candidate
    palette: U8Array | None  # (256, 3) RGB, unused entries black
    pixel_offset: int  # absolute offset of the pixel data in the buffer
    x_ppm: int
    y_ppm: int


def check_size(width: int, height: int, max_pixels: int) -> None:
    """The checks every header's size passes before a pixel is allocated."""
    if width <= 0 or height <= 0:
        raise ImageDecodeError("invalid dimensions")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageDecodeError("dimensions too big")
    if width * height > max_pixels:
        raise ImageDecodeError("resolution too big")


def u16(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 2], "little")


def u32(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "little")


def i32(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "little", signed=True)


def parse_dib(
    data: bytes,
    pos: int,
    *,
    max_pixels: int,
    pixel_offset: int | None,
    icon: bool,
) -> Dib:
    """Parse the info header at ``pos`` (and its masks and palette).

    ``pixel_offset`` is the file header's bfOffBits (None or 0 when there is none, as in
    ICO entries: then the pixels follow the palette).
    """
    n = len(data)
    if pos + 4 > n:
        raise ImageDecodeError("truncated header")
    hsize = u32(data, pos)
    if hsize not in HEADER_SIZES:
        raise ImageDecodeError(f"unsupported header size {hsize}")
    if pos + hsize > n:
        raise ImageDecodeError("truncated header")

    if hsize == 12:
        width, height = u16(data, pos + 4), u16(data, pos + 6)
        bpp = u16(data, pos + 10)
        compression, colors_used, x_ppm, y_ppm = BI_RGB, 0, 0, 0
        if bpp not in (1, 4, 8, 24):
            raise ImageDecodeError(f"unsupported bit depth {bpp}")
    else:
        width, height = i32(data, pos + 4), i32(data, pos + 8)
        bpp = u16(data, pos + 14)
        compression = u32(data, pos + 16)
        x_ppm, y_ppm = i32(data, pos + 24), i32(data, pos + 28)
        colors_used = u32(data, pos + 32)
        if hsize == 64 and compression > BI_RLE4:
            # OS/2 2.x reuses 3 and 4 for Huffman 1D and RLE24.
            raise ImageDecodeError(f"unsupported OS/2 compression {compression}")

    top_down = height < 0
    height = abs(height)
    if top_down and icon:
        # Icon bitmaps are bottom-up by definition (the AND mask follows the same order).
        raise ImageDecodeError("top-down icon bitmap")
    if icon:
        # The height covers the XOR bitmap and the AND mask.
        height //= 2
    check_size(width, height, max_pixels)

    valid = {
        BI_RGB: (1, 2, 4, 8, 16, 24, 32),
        BI_RLE8: (8,),
        BI_RLE4: (4,),
        BI_BITFIELDS: (16, 32),
        BI_ALPHABITFIELDS: (16, 32),
    }
    if compression not in valid:
        raise ImageDecodeError(f"unsupported compression {compression}")
    if bpp not in valid[compression]:
        raise ImageDecodeError(f"unsupported bit depth {bpp} for compression {compression}")

    end = pos + hsize  # where masks (for a 40-byte header) or the palette start
    masks: tuple[int, int, int, int] | None = None
    alpha_from_mask = False
    if compression in (BI_BITFIELDS, BI_ALPHABITFIELDS):
        if hsize >= 52:
            r, g, b = u32(data, pos + 40), u32(data, pos + 44), u32(data, pos + 48)
            a = u32(data, pos + 52) if hsize >= 56 else 0
        else:
            count = 4 if compression == BI_ALPHABITFIELDS else 3
            if end + 4 * count > n:
                raise ImageDecodeError("truncated bit masks")
            r, g, b = u32(data, end), u32(data, end + 4), u32(data, end + 8)
            a = u32(data, end + 12) if count == 4 else 0
            end += 4 * count
        if bpp == 16:
            r, g, b, a = r & 0xFFFF, g & 0xFFFF, b & 0xFFFF, a & 0xFFFF
        masks = (r, g, b, a)
        alpha_from_mask = a != 0
    elif bpp == 16:
        masks = (0x7C00, 0x03E0, 0x001F, 0)
    elif bpp == 32:
        masks = (0xFF0000, 0xFF00, 0xFF, 0xFF000000)
        alpha_from_mask = True

    entry = 3 if hsize == 12 else 4
    palette: U8Array | None = None
    if bpp <= 8:
        max_colors = 1 << bpp
        ncolors = colors_used if 0 < colors_used <= max_colors else max_colors
        pal_bytes = ncolors * entry
        if pixel_offset and end < pixel_offset < end + pal_bytes:
            # The palette is shorter than declared and the pixels start earlier: keep
            # what is there (common with writers that set colors_used to 0).
            ncolors = (pixel_offset - end) // entry
            pal_bytes = ncolors * entry
        if ncolors == 0:
            raise ImageDecodeError("missing palette")
        if end + pal_bytes > n:
            raise ImageDecodeError("truncated palette")
        raw = np.frombuffer(data, dtype=np.uint8, count=pal_bytes, offset=end).reshape(ncolors, entry)
        palette = np.zeros((256, 3), dtype=np.uint8)
        palette[:ncolors] = raw[:, 2::-1]  # BGR(x) -> RGB
        end += pal_bytes
    else:
        # A packed DIB carries its optional colour table even when it has no palette.
        end += min(colors_used, 1 << 16) * entry

    if not pixel_offset:
        pixel_offset = end
    elif pixel_offset < pos + hsize:
        raise ImageDecodeError("pixel data offset inside the header")
    if pixel_offset > n:
        raise ImageDecodeError("pixel data offset beyond end of data")

    return Dib(
        width=width,
        height=height,
        top_down=top_down,
        bpp=bpp,
        compression=compression,
        masks=masks,
        alpha_from_mask=alpha_from_mask,
        palette=palette,
        pixel_offset=pixel_offset,
        x_ppm=x_ppm,
        y_ppm=y_ppm,
    )
