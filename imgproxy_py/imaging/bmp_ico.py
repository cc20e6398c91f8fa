"""BMP and ICO decoding and encoding.

The libvips build we ship has neither a BMP nor an ICO loader (those come from
ImageMagick), so both formats are parsed here with numpy and handed to libvips as
plain sRGB memory images.  Sources are untrusted: every offset and size is checked
against the buffer before it is read, the resolution is checked against the caller's
limit before anything proportional to it is allocated, and every malformed input ends
in :class:`ImageDecodeError`.

Supported: core (OS/2 1.x), info, Adobe V2/V3, OS/2 2.x (64-byte), V4 and V5 headers;
1/2/4/8-bit palettes, RLE8, RLE4, 16-bit (555 by default, any bit fields), 24-bit,
32-bit (BGRX/BGRA or any bit fields); bottom-up and top-down rows.  Rejected: embedded
JPEG/PNG (compression 4/5), OS/2 Huffman and RLE24, 64-bit, sides over 65535, compressed
or top-down icon bitmaps.  Channels narrower than 8 bits are widened with rounding
(``v * 255 / max``).

Choices where the formats leave room (they follow what browsers do):

* 32-bit ``BI_RGB`` pixels: the spec says the fourth byte is unused, yet many writers
  store alpha there.  It is used as alpha unless it is zero everywhere (then the image is
  opaque).  The same goes for an explicit alpha mask (``BI_BITFIELDS`` with a V3+ header
  or ``BI_ALPHABITFIELDS``), because writers also declare alpha masks and leave them 0.
* An alpha channel that is 255 everywhere is dropped: the result has 4 bands only when
  some pixel is actually transparent.
* Palette indices beyond the palette give black; palette entries' fourth byte is ignored.
* RLE pixels that the stream never sets (skipped by a delta, an early end of line or end
  of bitmap) are transparent.
* ICO DIB entries: the 1-bit AND mask gives alpha, except for 32-bit entries whose alpha
  bytes are not all zero (then those win, as Windows does).  A missing AND mask means
  opaque.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyvips

__all__ = [
    "ImageDecodeError",
    "is_bmp",
    "is_ico",
    "load_bmp",
    "load_ico",
    "save_bmp",
    "save_ico",
]

U8Array = npt.NDArray[np.uint8]

_MAX_SIDE = 65535
_FILE_HEADER_SIZE = 14
# 12: BITMAPCOREHEADER, 40: BITMAPINFOHEADER, 52/56: Adobe's V2/V3, 64: OS/2 2.x,
# 108: V4, 124: V5.
_HEADER_SIZES = (12, 40, 52, 56, 64, 108, 124)

_BI_RGB = 0
_BI_RLE8 = 1
_BI_RLE4 = 2
_BI_BITFIELDS = 3
_BI_ALPHABITFIELDS = 6

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_LCS_SRGB = 0x73524742  # 'sRGB' in a V4/V5 header's colour space field


class ImageDecodeError(ValueError):
    """The data is not a valid (or not a supported) BMP/ICO image."""


def is_bmp(data: bytes) -> bool:
    # 26 bytes: the file header plus the smallest (core) info header.
    return len(data) >= 26 and data[:2] == b"BM"


def is_ico(data: bytes) -> bool:
    return len(data) >= 6 and data[:4] == b"\x00\x00\x01\x00" and data[4:6] != b"\x00\x00"


# --------------------------------------------------------------------------- DIB parsing


@dataclass
class _Dib:
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


def _u16(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 2], "little")


def _u32(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "little")


def _i32(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "little", signed=True)


def _parse_dib(
    data: bytes,
    pos: int,
    *,
    max_pixels: int,
    pixel_offset: int | None,
    icon: bool,
) -> _Dib:
    """Parse the info header at ``pos`` (and its masks and palette).

    ``pixel_offset`` is the file header's bfOffBits (None or 0 when there is none, as in
    ICO entries: then the pixels follow the palette).
    """
    n = len(data)
    if pos + 4 > n:
        raise ImageDecodeError("truncated header")
    hsize = _u32(data, pos)
    if hsize not in _HEADER_SIZES:
        raise ImageDecodeError(f"unsupported header size {hsize}")
    if pos + hsize > n:
        raise ImageDecodeError("truncated header")

    if hsize == 12:
        width, height = _u16(data, pos + 4), _u16(data, pos + 6)
        bpp = _u16(data, pos + 10)
        compression, colors_used, x_ppm, y_ppm = _BI_RGB, 0, 0, 0
        if bpp not in (1, 4, 8, 24):
            raise ImageDecodeError(f"unsupported bit depth {bpp}")
    else:
        width, height = _i32(data, pos + 4), _i32(data, pos + 8)
        bpp = _u16(data, pos + 14)
        compression = _u32(data, pos + 16)
        x_ppm, y_ppm = _i32(data, pos + 24), _i32(data, pos + 28)
        colors_used = _u32(data, pos + 32)
        if hsize == 64 and compression > _BI_RLE4:
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
    if width <= 0 or height <= 0:
        raise ImageDecodeError("invalid dimensions")
    if width > _MAX_SIDE or height > _MAX_SIDE:
        raise ImageDecodeError("dimensions too big")
    if width * height > max_pixels:
        raise ImageDecodeError("resolution too big")

    valid = {
        _BI_RGB: (1, 2, 4, 8, 16, 24, 32),
        _BI_RLE8: (8,),
        _BI_RLE4: (4,),
        _BI_BITFIELDS: (16, 32),
        _BI_ALPHABITFIELDS: (16, 32),
    }
    if compression not in valid:
        raise ImageDecodeError(f"unsupported compression {compression}")
    if bpp not in valid[compression]:
        raise ImageDecodeError(f"unsupported bit depth {bpp} for compression {compression}")

    end = pos + hsize  # where masks (for a 40-byte header) or the palette start
    masks: tuple[int, int, int, int] | None = None
    alpha_from_mask = False
    if compression in (_BI_BITFIELDS, _BI_ALPHABITFIELDS):
        if hsize >= 52:
            r, g, b = _u32(data, pos + 40), _u32(data, pos + 44), _u32(data, pos + 48)
            a = _u32(data, pos + 52) if hsize >= 56 else 0
        else:
            count = 4 if compression == _BI_ALPHABITFIELDS else 3
            if end + 4 * count > n:
                raise ImageDecodeError("truncated bit masks")
            r, g, b = _u32(data, end), _u32(data, end + 4), _u32(data, end + 8)
            a = _u32(data, end + 12) if count == 4 else 0
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

    return _Dib(
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


def _stride(width: int, bpp: int) -> int:
    return ((width * bpp + 31) // 32) * 4


def _rows(data: bytes, offset: int, width: int, height: int, bpp: int, top_down: bool) -> U8Array:
    """The (height, stride) byte rows of uncompressed pixel data, top row first."""
    stride = _stride(width, bpp)
    needed = stride * height
    available = len(data) - offset
    # Some writers leave out the padding of the last row; accept that, nothing less.
    if available < needed - stride + (width * bpp + 7) // 8:
        raise ImageDecodeError("truncated pixel data")
    if available >= needed:
        rows = np.frombuffer(data, dtype=np.uint8, count=needed, offset=offset)
    else:
        rows = np.zeros(needed, dtype=np.uint8)
        rows[:available] = np.frombuffer(data, dtype=np.uint8, count=available, offset=offset)
    rows = rows.reshape(height, stride)
    return rows if top_down else rows[::-1]


def _unpack_indices(rows: U8Array, width: int, bpp: int) -> U8Array:
    """Palette indices from 1/2/4/8-bit rows; the most significant bits come first."""
    if bpp == 8:
        return rows[:, :width]
    per_byte = 8 // bpp
    shifts = np.array([8 - bpp * (i + 1) for i in range(per_byte)], dtype=np.uint8)
    # Only the bytes that hold pixels of the row are expanded, not the padding.
    used = rows[:, : (width * bpp + 7) // 8]
    expanded = (used[:, :, None] >> shifts) & np.uint8((1 << bpp) - 1)
    return expanded.reshape(rows.shape[0], -1)[:, :width]


def _channel(pixels: npt.NDArray[np.uint32], mask: int) -> U8Array:
    """One channel from packed pixels, scaled from the mask's range to 0..255."""
    shift = (mask & -mask).bit_length() - 1
    top = mask >> shift
    values = (pixels >> np.uint32(shift)) & np.uint32(top)
    if top == 255:
        return values.astype(np.uint8)
    # Rounded scaling; a non-contiguous mask still stays within 0..255 since values <= top.
    scaled = (values.astype(np.uint64) * 255 + top // 2) // top
    return scaled.astype(np.uint8)


def _decode_masked(rows: U8Array, dib: _Dib) -> tuple[U8Array, U8Array | None]:
    """RGB plus the candidate alpha channel of 16- and 32-bit pixels."""
    assert dib.masks is not None
    width, height = dib.width, dib.height
    r_mask, g_mask, b_mask, a_mask = dib.masks
    nbytes = dib.bpp // 8
    if dib.bpp == 32 and (r_mask, g_mask, b_mask) == (0xFF0000, 0xFF00, 0xFF) and a_mask in (0, 0xFF000000):
        # The usual BGRA layout: plain byte shuffling, no arithmetic.
        bgra = rows[:, : width * 4].reshape(height, width, 4)
        rgb = bgra[:, :, 2::-1]
        return rgb, (bgra[:, :, 3] if a_mask else None)

    packed = np.ascontiguousarray(rows[:, : width * nbytes])
    pixels = packed.view("<u4" if nbytes == 4 else "<u2").astype(np.uint32)
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    for index, mask in enumerate((r_mask, g_mask, b_mask)):
        if mask:
            rgb[:, :, index] = _channel(pixels, mask)
    alpha = _channel(pixels, a_mask) if a_mask else None
    return rgb, alpha


def _fill_segments(
    size: int, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64], values: npt.NDArray[np.uint8]
) -> U8Array:
    """A flat array holding ``values[i]`` on ``starts[i]:ends[i]`` and 0 elsewhere.

    The segments are disjoint, so a running sum of +value at each start and -value at
    each end gives the result; uint8 wrap-around keeps that exact at one byte a pixel.
    """
    marks = np.zeros(size + 1, dtype=np.uint8)
    marks[starts] = values  # starts are distinct, and assigned before any end lands on one
    marks[ends] -= values  # ends are distinct too
    np.cumsum(marks, dtype=np.uint8, out=marks)
    return marks[:size]


def _decode_rle(data: bytes, dib: _Dib) -> tuple[U8Array, U8Array | None]:
    """Palette indices (top row first) of RLE8/RLE4 data, and where pixels were set.

    The loop runs once per command, and every command consumes at least two bytes, so
    the work is bounded by the input size; writes are clipped to the declared size, and
    no pixel is written twice (the stream can only move forward).  Encoded runs are only
    recorded in the loop and filled in afterwards with numpy.
    """
    width, height = dib.width, dib.height
    size = width * height
    rle4 = dib.compression == _BI_RLE4
    run_starts: list[int] = []
    run_lengths: list[int] = []
    run_values: list[int] = []
    abs_starts: list[int] = []
    abs_lengths: list[int] = []
    absolute: bytearray | None = None  # pixels of absolute runs, allocated on first use
    source = memoryview(data)  # RLE4: replaced by one byte per nibble on first use
    covered = 0

    n = len(data)
    pos = dib.pixel_offset
    x = y = row = 0
    finished = False
    while y < height:
        if pos + 2 > n:
            break
        count = data[pos]
        value = data[pos + 1]
        pos += 2
        if count:  # encoded run
            take = width - x
            if take > 0:
                if take > count:
                    take = count
                run_starts.append(row + x)
                run_lengths.append(take)
                run_values.append(value)
                x += take
                covered += take
        elif value == 0:  # end of line
            x = 0
            y += 1
            row += width
        elif value == 1:  # end of bitmap
            finished = True
            break
        elif value == 2:  # delta
            if pos + 2 > n:
                break
            x = min(x + data[pos], width)
            y += data[pos + 1]
            row = y * width
            pos += 2
        else:  # absolute run of `value` pixels, padded to a 16-bit boundary
            nbytes = (value + 1) // 2 if rle4 else value
            if pos + nbytes > n:
                break
            take = width - x
            if take > 0:
                if take > value:
                    take = value
                if absolute is None:
                    absolute = bytearray(size)
                    if rle4:
                        raw = np.frombuffer(data, dtype=np.uint8)
                        nibbles = np.empty(2 * n, dtype=np.uint8)
                        nibbles[0::2] = raw >> 4
                        nibbles[1::2] = raw & 15
                        source = memoryview(nibbles.tobytes())
                first = 2 * pos if rle4 else pos
                start = row + x
                absolute[start : start + take] = source[first : first + take]
                abs_starts.append(start)
                abs_lengths.append(take)
                x += take
                covered += take
            pos += nbytes + (nbytes & 1)
    # A stream that fills the last row and then just stops is complete enough.
    if not finished and y < height and not (y == height - 1 and x >= width):
        raise ImageDecodeError("truncated RLE data")

    idx = np.zeros(size, dtype=np.uint8) if absolute is None else np.frombuffer(absolute, dtype=np.uint8)
    if run_starts:
        starts = np.array(run_starts, dtype=np.int64)
        ends = starts + np.array(run_lengths, dtype=np.int64)
        values = np.array(run_values, dtype=np.uint8)
        if rle4:
            # A run alternates its byte's high and low nibble, starting with the high one,
            # so the value at pixel p depends on whether p and the run start share parity.
            high, low = values >> 4, values & 15
            even_start = (starts & 1) == 0
            filled = _fill_segments(size, starts, ends, np.where(even_start, high, low))
            odd = _fill_segments(size, starts, ends, np.where(even_start, low, high))
            filled[1::2] = odd[1::2]
        else:
            filled = _fill_segments(size, starts, ends, values)
        # Runs and absolute pixels never overlap, and each is 0 where the other lies.
        idx = filled + idx

    set_mask: U8Array | None = None
    if covered < size:
        starts = np.array(run_starts + abs_starts, dtype=np.int64)
        ends = starts + np.array(run_lengths + abs_lengths, dtype=np.int64)
        set_mask = _fill_segments(size, starts, ends, np.ones(len(starts), dtype=np.uint8))
        set_mask = set_mask.reshape(height, width)
    idx = idx.reshape(height, width)
    if not dib.top_down:
        idx = idx[::-1]
        set_mask = None if set_mask is None else set_mask[::-1]
    return idx, set_mask


def _decode_pixels(data: bytes, dib: _Dib) -> tuple[U8Array, U8Array | None, int]:
    """RGB (h, w, 3), an optional alpha (h, w) and the end offset of the pixel data.

    The alpha returned here is final except for "candidate" alpha from 32-bit pixels and
    masks, which the caller still judges with :func:`_meaningful_alpha`.
    """
    if dib.compression in (_BI_RLE8, _BI_RLE4):
        assert dib.palette is not None
        idx, set_mask = _decode_rle(data, dib)
        rgb = dib.palette[idx]
        alpha = None if set_mask is None else set_mask * np.uint8(255)
        return rgb, alpha, len(data)

    rows = _rows(data, dib.pixel_offset, dib.width, dib.height, dib.bpp, dib.top_down)
    end = dib.pixel_offset + rows.size
    if dib.bpp <= 8:
        assert dib.palette is not None
        return dib.palette[_unpack_indices(rows, dib.width, dib.bpp)], None, end
    if dib.bpp == 24:
        return rows[:, : dib.width * 3].reshape(dib.height, dib.width, 3)[:, :, ::-1], None, end
    rgb, alpha = _decode_masked(rows, dib)
    return rgb, alpha, end


def _meaningful_alpha(alpha: U8Array | None) -> U8Array | None:
    """Drop an alpha channel that is all zero (unused field) or all 255 (opaque)."""
    if alpha is None:
        return None
    if not alpha.any() or (alpha == 255).all():
        return None
    return alpha


def _to_vips(rgb: U8Array, alpha: U8Array | None, dib: _Dib | None = None) -> pyvips.Image:
    height, width = rgb.shape[:2]
    bands = 3 if alpha is None else 4
    # One contiguous copy, handed to libvips without another one: the image keeps a
    # reference to the array, and so does every image derived from it.
    pixels = np.empty((height, width, bands), dtype=np.uint8)
    pixels[:, :, :3] = rgb
    if alpha is not None:
        pixels[:, :, 3] = alpha
    image = pyvips.Image.new_from_memory(pixels, width, height, bands, "uchar")
    fields: dict[str, object] = {"interpretation": "srgb"}
    if dib is not None and 0 < dib.x_ppm < 10_000_000 and 0 < dib.y_ppm < 10_000_000:
        # libvips keeps resolution in pixels per millimetre.
        fields["xres"] = dib.x_ppm / 1000
        fields["yres"] = dib.y_ppm / 1000
    return image.copy(**fields)


def _internal_error(kind: str, exc: Exception) -> ImageDecodeError:
    # Every known way for data to be bad is checked explicitly; this only turns an
    # overlooked one into the error callers expect instead of a crash.
    return ImageDecodeError(f"malformed {kind} data ({type(exc).__name__})")


# --------------------------------------------------------------------------- BMP


def load_bmp(data: bytes, *, max_pixels: int) -> pyvips.Image:
    """Decode a BMP file into an sRGB uchar image (3 bands, or 4 with real alpha)."""
    data = bytes(data)
    if len(data) < _FILE_HEADER_SIZE + 12 or data[:2] != b"BM":
        raise ImageDecodeError("not a BMP file")
    try:
        dib = _parse_dib(data, _FILE_HEADER_SIZE, max_pixels=max_pixels, pixel_offset=_u32(data, 10), icon=False)
        rgb, alpha, _ = _decode_pixels(data, dib)
        if dib.alpha_from_mask:
            alpha = _meaningful_alpha(alpha)
        return _to_vips(rgb, alpha, dib)
    except ImageDecodeError:
        raise
    except (struct.error, IndexError, ValueError, OverflowError) as exc:
        raise _internal_error("BMP", exc) from exc


def save_bmp(image: pyvips.Image) -> bytes:
    """Encode as a bottom-up BMP: 24-bit BI_RGB, or 32-bit BI_BITFIELDS (V4 header) with alpha."""
    pixels, has_alpha = _srgb_pixels(image)
    height, width = pixels.shape[:2]
    if has_alpha:
        bpp, header_size, compression = 32, 108, _BI_BITFIELDS
        body = pixels[:, :, [2, 1, 0, 3]]
    else:
        bpp, header_size, compression = 24, 40, _BI_RGB
        body = pixels[:, :, ::-1]
    stride = _stride(width, bpp)
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
    hsize = _u32(data, off)
    if hsize == 12:
        return _u16(data, off + 4), _u16(data, off + 6) // 2, _u16(data, off + 10)
    if hsize in _HEADER_SIZES:
        return abs(_i32(data, off + 4)), abs(_i32(data, off + 8)) // 2, _u16(data, off + 14)
    return None


def _ico_entries(data: bytes) -> list[_IcoEntry]:
    if len(data) < 6 or _u16(data, 0) != 0 or _u16(data, 2) not in (1, 2):
        raise ImageDecodeError("not an ICO file")
    count = _u16(data, 4)
    if count == 0:
        raise ImageDecodeError("ICO has no images")
    if 6 + 16 * count > len(data):
        raise ImageDecodeError("truncated ICO directory")
    entries = []
    for index in range(count):
        pos = 6 + 16 * index
        width, height = data[pos] or 256, data[pos + 1] or 256
        colors, bpp = data[pos + 2], _u16(data, pos + 6)
        if bpp == 0 and colors:
            bpp = max(1, (colors - 1).bit_length())
        size, offset = _u32(data, pos + 8), _u32(data, pos + 12)
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
        raise _internal_error("ICO", exc) from exc


def _load_png_entry(blob: bytes, *, max_pixels: int) -> pyvips.Image:
    if len(blob) < 26 or blob[12:16] != b"IHDR":
        raise ImageDecodeError("truncated PNG icon")
    width, height = int.from_bytes(blob[16:20], "big"), int.from_bytes(blob[20:24], "big")
    if width <= 0 or height <= 0:
        raise ImageDecodeError("invalid dimensions")
    if width > _MAX_SIDE or height > _MAX_SIDE:
        raise ImageDecodeError("dimensions too big")
    if width * height > max_pixels:
        raise ImageDecodeError("resolution too big")
    try:
        image = pyvips.Image.pngload_buffer(blob, fail_on="error")
        if image.bands < 3 or image.format != "uchar":
            # Grey, grey + alpha and 16-bit PNGs: 8-bit sRGB like every other result.
            image = image.colourspace("srgb")
        if image.format != "uchar":
            image = image.cast("uchar")
        # Decode now: a broken PNG must fail here, not somewhere later in the pipeline.
        image = image.copy_memory()
    except pyvips.Error as exc:
        raise ImageDecodeError("invalid PNG icon") from exc
    return image.copy(interpretation="srgb")


def _load_dib_entry(blob: bytes, *, max_pixels: int) -> pyvips.Image:
    dib = _parse_dib(blob, 0, max_pixels=max_pixels, pixel_offset=None, icon=True)
    if dib.compression in (_BI_RLE8, _BI_RLE4):
        # Windows does not accept compressed icon bitmaps, and the AND mask's position
        # would be unknown.
        raise ImageDecodeError("compressed icon bitmap")
    rgb, alpha, end = _decode_pixels(blob, dib)
    use_and_mask = True
    if dib.alpha_from_mask and alpha is not None and alpha.any():
        # Real alpha bytes make the AND mask irrelevant, even when they say "opaque".
        use_and_mask = False
        alpha = _meaningful_alpha(alpha)
    else:
        alpha = None
    if use_and_mask:
        mask_stride = _stride(dib.width, 1)
        if end + mask_stride * dib.height <= len(blob):
            rows = _rows(blob, end, dib.width, dib.height, 1, False)
            # A set bit means transparent.
            opaque = _unpack_indices(rows, dib.width, 1) == 0
            alpha = None if opaque.all() else opaque.astype(np.uint8) * np.uint8(255)
    return _to_vips(rgb, alpha)


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
    has_alpha = image.bands in (2, 4)
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack(
        "<BBBBHHII",
        image.width % 256,  # 0 means 256
        image.height % 256,
        0,  # no palette
        0,
        1,
        32 if has_alpha else 24,
        len(png),
        len(header) + 16,
    )
    return header + entry + png
