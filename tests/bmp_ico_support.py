"""Builders shared by the BMP and ICO codec tests: reference files made here from real photos.

A small independent BMP writer (it covers what Pillow cannot write: RLE, bit fields, 2-bit,
core headers, top-down), every BMP variant with its expected pixels, and ICO entries and
directories. Where Pillow is installed, the tests also decode the same files with it, which
cross-checks the writer.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import pyvips
from skimage import data as skdata

try:
    from PIL import Image as PILImage
except ImportError:  # Pillow is only an optional cross-check
    PILImage = None  # type: ignore[assignment]

needs_pillow = pytest.mark.skipif(PILImage is None, reason="Pillow not installed")

U8 = npt.NDArray[np.uint8]
MAX = 50_000_000
ASSETS = Path(__file__).parent / "assets" / "bmp_ico"


# --------------------------------------------------------------------------- sources


def downscale(pixels: U8, width: int, height: int) -> U8:
    image = pyvips.Image.new_from_array(pixels, interpretation="srgb")
    small = image.resize(width / image.width, vscale=height / image.height)
    out = np.ndarray(buffer=small.write_to_memory(), dtype=np.uint8, shape=(small.height, small.width, small.bands))
    return out.copy()


def small_astronaut() -> U8:
    """scikit-image's astronaut at 67x53: an odd width, so 24-bit rows need padding and
    sub-byte rows end mid-byte."""
    return downscale(skdata.astronaut(), 67, 53)


def small_chelsea() -> U8:
    return downscale(skdata.chelsea(), 45, 30)


def alpha_for(rgb: U8) -> U8:
    """A real alpha channel: a gradient with fully clear and fully opaque parts."""
    h, w = rgb.shape[:2]
    ramp = np.clip(np.linspace(-60, 320, w), 0, 255).astype(np.uint8)
    alpha = np.tile(ramp, (h, 1))
    alpha[: h // 4] = 255
    return alpha


def pixels_of(image: pyvips.Image) -> U8:
    assert image.format == "uchar"
    assert image.interpretation == "srgb"
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, image.bands))


# --------------------------------------------------------------------------- palettes


def cube_palette() -> U8:
    levels = np.arange(6, dtype=np.uint8) * 51
    r, g, b = np.meshgrid(levels, levels, levels, indexing="ij")
    return np.stack([r.ravel(), g.ravel(), b.ravel()], axis=1)  # 216 colours


def quantize_to_palette(rgb: U8, bpp: int) -> tuple[U8, U8]:
    """Indices and palette for a paletted variant of ``rgb``."""
    r, g, b = (rgb[:, :, i].astype(np.int32) for i in range(3))
    if bpp == 8:
        idx = (r * 6 // 256) * 36 + (g * 6 // 256) * 6 + (b * 6 // 256)
        return idx.astype(np.uint8), cube_palette()
    if bpp == 4:
        idx = (r >> 7) * 8 + (g >> 6) * 2 + (b >> 7)
        pal = np.array(
            [(rr * 255, gg * 85, bb * 255) for rr in range(2) for gg in range(4) for bb in range(2)],
            dtype=np.uint8,
        )
        return idx.astype(np.uint8), pal
    if bpp == 2:
        lum = (r * 299 + g * 587 + b * 114) // 1000
        pal = np.array([(10, 20, 30), (90, 80, 70), (170, 160, 200), (250, 240, 230)], dtype=np.uint8)
        return (lum >> 6).astype(np.uint8), pal
    lum = (r * 299 + g * 587 + b * 114) // 1000
    return (lum >= 128).astype(np.uint8), np.array([(30, 0, 60), (255, 250, 200)], dtype=np.uint8)


# --------------------------------------------------------------------------- a BMP writer


def pack_rows(rows_bytes: U8, bpp: int, width: int) -> bytes:
    """Bottom-up rows padded to 4 bytes, from (h, row_bytes) data that is top row first."""
    stride = ((width * bpp + 31) // 32) * 4
    out = np.zeros((rows_bytes.shape[0], stride), dtype=np.uint8)
    out[:, : rows_bytes.shape[1]] = rows_bytes
    return out[::-1].tobytes()


def pack_indices(idx: U8, bpp: int) -> U8:
    h, w = idx.shape
    per = 8 // bpp
    padded = np.zeros((h, -(-w // per) * per), dtype=np.uint8)
    padded[:, :w] = idx
    groups = padded.reshape(h, -1, per).astype(np.uint16)
    out = np.zeros(groups.shape[:2], dtype=np.uint16)
    for i in range(per):
        out |= groups[:, :, i] << (8 - bpp * (i + 1))
    return out.astype(np.uint8)


def rle_encode(idx: U8, rle4: bool, *, final_eol: bool = True) -> bytes:
    """RLE8/RLE4 with encoded runs and absolute runs, bottom row first."""
    out = bytearray()
    h, w = idx.shape
    for y in range(h - 1, -1, -1):
        row = [int(v) for v in idx[y]]
        x = 0
        while x < w:
            run = 1
            while x + run < w and run < 255 and row[x + run] == row[x]:
                run += 1
            if run >= 3 or w - x < 3:
                n = run if run >= 3 else 1
                out += bytes((n, row[x] * 17 if rle4 else row[x]))
                x += n
                continue
            # Literal stretch up to the next run of 3 (at least 3 pixels, at most 255).
            end = x + 3
            while end < w and end - x < 255 and not (end + 2 < w and row[end] == row[end + 1] == row[end + 2]):
                end += 1
            lit = row[x:end]
            out += bytes((0, len(lit)))
            if rle4:
                lit_pairs = [*lit, 0] if len(lit) % 2 else lit
                body = bytes((lit_pairs[i] << 4) | lit_pairs[i + 1] for i in range(0, len(lit_pairs), 2))
            else:
                body = bytes(lit)
            out += body + (b"\x00" if len(body) % 2 else b"")
            x = end
        if y or final_eol:
            out += b"\x00\x00"
    out += b"\x00\x01"
    return bytes(out)


def make_bmp(
    rgb: U8,
    *,
    bpp: int = 24,
    header: int = 40,
    compression: int = 0,
    alpha: U8 | None = None,
    masks: tuple[int, int, int, int] | None = None,
    idx: U8 | None = None,
    palette: U8 | None = None,
    colors_used: int = 0,
    top_down: bool = False,
    rle_stream: bytes | None = None,
    icon: bool = False,
) -> bytes:
    """A BMP file (or, with ``icon``, an ICO entry's DIB without an AND mask)."""
    h, w = rgb.shape[:2] if idx is None else idx.shape
    if rle_stream is not None:
        pixel_data = rle_stream
    elif bpp <= 8:
        assert idx is not None
        pixel_data = pack_rows(pack_indices(idx, bpp), bpp, w)
    elif bpp == 24:
        pixel_data = pack_rows(rgb[:, :, ::-1].reshape(h, w * 3), 24, w)
    else:
        assert masks is not None
        r, g, b = (rgb[:, :, i].astype(np.uint64) for i in range(3))
        a = np.full((h, w), 255, np.uint64) if alpha is None else alpha.astype(np.uint64)
        packed = np.zeros((h, w), dtype=np.uint64)
        for chan, mask in zip((r, g, b, a), masks, strict=True):
            if mask:
                shift = (mask & -mask).bit_length() - 1
                top = mask >> shift
                packed |= ((chan * top + 127) // 255) << shift
        dtype = "<u4" if bpp == 32 else "<u2"
        pixel_data = pack_rows(packed.astype(dtype).view(np.uint8).reshape(h, -1), bpp, w)
    if top_down:
        stride = len(pixel_data) // h
        pixel_data = b"".join(pixel_data[i * stride : (i + 1) * stride] for i in range(h - 1, -1, -1))

    height = 2 * h if icon else (-h if top_down else h)
    if header == 12:
        info = struct.pack("<IHHHH", 12, w, height, 1, bpp)
    else:
        info = struct.pack(
            "<IiiHHIIiiII",
            header,
            w,
            height,
            1,
            bpp,
            compression,
            len(pixel_data),
            2835,
            2835,
            colors_used,
            0,
        )
        extra = b""
        if header >= 52:
            m = masks or (0, 0, 0, 0)
            extra = struct.pack("<IIII", *m)[: 16 if header >= 56 else 12]
        info += extra + bytes(header - len(info) - len(extra))
        if header == 40 and compression in (3, 6):
            assert masks is not None
            info += struct.pack("<IIII", *masks)[: 16 if compression == 6 else 12]
    pal = b""
    if palette is not None:
        entries = palette[:colors_used] if colors_used else palette
        if icon and not colors_used:
            # Without a file header the palette must have its full 2**bpp entries.
            entries = np.concatenate([entries, np.zeros(((1 << bpp) - len(entries), 3), np.uint8)])
        bgr = entries[:, ::-1]
        if header != 12:
            bgr = np.concatenate([bgr, np.zeros((len(bgr), 1), np.uint8)], axis=1)
        pal = np.ascontiguousarray(bgr).tobytes()
    if icon:
        return info + pal + pixel_data
    offset = 14 + len(info) + len(pal)
    return b"BM" + struct.pack("<IHHI", offset + len(pixel_data), 0, 0, offset) + info + pal + pixel_data


def scale_channel(values: U8, mask: int) -> U8:
    shift = (mask & -mask).bit_length() - 1
    top = mask >> shift
    q = (values.astype(np.uint64) * top + 127) // 255
    return ((q * 255 + top // 2) // top).astype(np.uint8)


# --------------------------------------------------------------------------- variants


Variant = tuple[bytes, U8]  # file, expected pixels (h, w, 3|4)


def bmp_variants(rgb: U8) -> dict[str, Variant]:
    alpha = alpha_for(rgb)
    rgba = np.dstack([rgb, alpha])
    out: dict[str, Variant] = {
        "24": (make_bmp(rgb), rgb),
        "24-top-down": (make_bmp(rgb, top_down=True), rgb),
        "24-core": (make_bmp(rgb, header=12), rgb),
        "24-v5": (make_bmp(rgb, header=124), rgb),
        "32-rgb-x0": (make_bmp(rgb, bpp=32, masks=(0xFF0000, 0xFF00, 0xFF, 0)), rgb),
        "32-rgb-alpha": (
            make_bmp(rgb, bpp=32, alpha=alpha, masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000)),
            rgba,
        ),
        "32-v4-bitfields-alpha": (
            make_bmp(
                rgb,
                bpp=32,
                header=108,
                compression=3,
                alpha=alpha,
                masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000),
            ),
            rgba,
        ),
        "32-v5-rgba-order": (
            make_bmp(
                rgb,
                bpp=32,
                header=124,
                compression=3,
                alpha=alpha,
                masks=(0xFF, 0xFF00, 0xFF0000, 0xFF000000),
            ),
            rgba,
        ),
        "32-alphabitfields": (
            make_bmp(rgb, bpp=32, compression=6, alpha=alpha, masks=(0xFF000000, 0xFF0000, 0xFF00, 0xFF)),
            rgba,
        ),
        "32-bitfields-opaque-alpha": (
            make_bmp(rgb, bpp=32, header=108, compression=3, masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000)),
            rgb,
        ),
        "32-10bit": (
            make_bmp(rgb, bpp=32, compression=3, masks=(0x3FF00000, 0xFFC00, 0x3FF, 0)),
            rgb,  # 8 -> 10 -> 8 bits is lossless with rounding both ways
        ),
    }
    m555 = (0x7C00, 0x3E0, 0x1F, 0)
    q555 = np.dstack([scale_channel(rgb[:, :, i], m) for i, m in enumerate(m555[:3])])
    out["16-555"] = (make_bmp(rgb, bpp=16, masks=m555), q555)
    m565 = (0xF800, 0x7E0, 0x1F, 0)
    q565 = np.dstack([scale_channel(rgb[:, :, i], m) for i, m in enumerate(m565[:3])])
    out["16-565-bitfields"] = (make_bmp(rgb, bpp=16, compression=3, masks=m565), q565)
    out["16-565-v3"] = (make_bmp(rgb, bpp=16, header=56, compression=3, masks=m565), q565)
    m1555 = (0x7C00, 0x3E0, 0x1F, 0x8000)
    a1 = np.where(alpha >= 128, 255, 0).astype(np.uint8)
    out["16-1555-v4"] = (
        make_bmp(rgb, bpp=16, header=108, compression=3, alpha=alpha, masks=m1555),
        np.dstack([q555, a1]),
    )
    for bpp in (1, 2, 4, 8):
        idx, pal = quantize_to_palette(rgb, bpp)
        out[f"{bpp}-palette"] = (make_bmp(rgb, bpp=bpp, idx=idx, palette=pal), pal[idx])
    idx8, pal8 = quantize_to_palette(rgb, 8)
    out["8-core"] = (make_bmp(rgb, bpp=8, header=12, idx=idx8, palette=pal8), pal8[idx8])
    out["8-top-down"] = (make_bmp(rgb, bpp=8, idx=idx8, palette=pal8, top_down=True), pal8[idx8])
    out["8-colors-used"] = (
        make_bmp(rgb, bpp=8, idx=idx8, palette=pal8, colors_used=216),
        pal8[idx8],
    )
    out["rle8"] = (
        make_bmp(rgb, bpp=8, compression=1, idx=idx8, palette=pal8, rle_stream=rle_encode(idx8, False)),
        pal8[idx8],
    )
    out["rle8-no-final-eol"] = (
        make_bmp(
            rgb,
            bpp=8,
            compression=1,
            idx=idx8,
            palette=pal8,
            rle_stream=rle_encode(idx8, False, final_eol=False),
        ),
        pal8[idx8],
    )
    idx4, pal4 = quantize_to_palette(rgb, 4)
    out["rle4"] = (
        make_bmp(rgb, bpp=4, compression=2, idx=idx4, palette=pal4, rle_stream=rle_encode(idx4, True)),
        pal4[idx4],
    )
    return out


# --------------------------------------------------------------------------- ICO


def png_bytes(pixels: U8) -> bytes:
    return bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").pngsave_buffer())


def dib_entry(rgb: U8, *, bpp: int, transparent: U8 | None, alpha: U8 | None = None) -> bytes:
    """An ICO bitmap entry: DIB with doubled height, XOR bitmap and AND mask."""
    h, w = rgb.shape[:2]
    if bpp <= 8:
        idx, pal = quantize_to_palette(rgb, bpp)
        dib = make_bmp(rgb, bpp=bpp, idx=idx, palette=pal, icon=True)
    elif bpp == 32:
        dib = make_bmp(
            rgb,
            bpp=32,
            alpha=alpha if alpha is not None else np.zeros((h, w), np.uint8),
            masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000),
            icon=True,
        )
    else:
        dib = make_bmp(rgb, bpp=24, icon=True)
    mask = np.zeros((h, w), np.uint8) if transparent is None else transparent.astype(np.uint8)
    return dib + pack_rows(pack_indices(mask, 1), 1, w)


def make_ico(entries: list[tuple[int, int, int, bytes]]) -> bytes:
    """entries: (width, height, bpp, payload); 256 is written as 0, as the format says."""
    head = struct.pack("<HHH", 0, 1, len(entries))
    offset = 6 + 16 * len(entries)
    directory, body = b"", b""
    for w, h, bpp, payload in entries:
        directory += struct.pack("<BBBBHHII", w % 256, h % 256, 0, 0, 1, bpp, len(payload), offset)
        body += payload
        offset += len(payload)
    return head + directory + body


def disc_mask(h: int, w: int) -> U8:
    yy, xx = np.mgrid[:h, :w]
    return ((yy - h / 2 + 0.5) ** 2 + (xx - w / 2 + 0.5) ** 2 > (min(h, w) / 2) ** 2).astype(np.uint8)
