"""BMP and ICO pixels: the device-independent bitmap (DIB) both formats store, decoded.

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
  of bitmap) are black, as imgproxy's loader leaves them (browsers show them transparent; a
  switching site gets the image imgproxy gave it).
* ICO DIB entries: the 1-bit AND mask gives alpha, except for 32-bit entries whose alpha
  bytes are not all zero (then those win, as Windows does).  A missing AND mask means
  opaque.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyvips

from imgproxy_py.imaging.codecs.dib_header import BI_RLE4, BI_RLE8, Dib, ImageDecodeError, U8Array


def row_stride(width: int, bpp: int) -> int:
    return ((width * bpp + 31) // 32) * 4


def rows_of(data: bytes, offset: int, width: int, height: int, bpp: int, top_down: bool) -> U8Array:
    """The (height, stride) byte rows of uncompressed pixel data, top row first."""
    stride = row_stride(width, bpp)
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


def unpack_indices(rows: U8Array, width: int, bpp: int) -> U8Array:
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


def _decode_masked(rows: U8Array, dib: Dib) -> tuple[U8Array, U8Array | None]:
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


def _decode_rle(data: bytes, dib: Dib) -> tuple[U8Array, U8Array | None]:
    """Palette indices (top row first) of RLE8/RLE4 data, and where pixels were set.

    The loop runs once per command, and every command consumes at least two bytes, so
    the work is bounded by the input size; writes are clipped to the declared size, and
    no pixel is written twice (the stream can only move forward).  Encoded runs are only
    recorded in the loop and filled in afterwards with numpy.
    """
    width, height = dib.width, dib.height
    size = width * height
    rle4 = dib.compression == BI_RLE4
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


def decode_pixels(data: bytes, dib: Dib) -> tuple[U8Array, U8Array | None, int]:
    """RGB (h, w, 3), an optional alpha (h, w) and the end offset of the pixel data.

    The alpha returned here is final except for "candidate" alpha from 32-bit pixels and
    masks, which the caller still judges with :func:`meaningful_alpha`.
    """
    if dib.compression in (BI_RLE8, BI_RLE4):
        assert dib.palette is not None
        idx, set_mask = _decode_rle(data, dib)
        rgb = dib.palette[idx]
        if set_mask is not None:
            rgb[set_mask == 0] = 0
        return rgb, None, len(data)

    rows = rows_of(data, dib.pixel_offset, dib.width, dib.height, dib.bpp, dib.top_down)
    end = dib.pixel_offset + rows.size
    if dib.bpp <= 8:
        assert dib.palette is not None
        return dib.palette[unpack_indices(rows, dib.width, dib.bpp)], None, end
    if dib.bpp == 24:
        return rows[:, : dib.width * 3].reshape(dib.height, dib.width, 3)[:, :, ::-1], None, end
    rgb, alpha = _decode_masked(rows, dib)
    return rgb, alpha, end


def meaningful_alpha(alpha: U8Array | None) -> U8Array | None:
    """Drop an alpha channel that is all zero (unused field) or all 255 (opaque)."""
    if alpha is None:
        return None
    if not alpha.any() or (alpha == 255).all():
        return None
    return alpha


def to_vips(rgb: U8Array, alpha: U8Array | None, dib: Dib | None = None) -> pyvips.Image:
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


def internal_error(kind: str, exc: Exception) -> ImageDecodeError:
    # Every known way for data to be bad is checked explicitly; this only turns an
    # overlooked one into the error callers expect instead of a crash.
    return ImageDecodeError(f"malformed {kind} data ({type(exc).__name__})")
