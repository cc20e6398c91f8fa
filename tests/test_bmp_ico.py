"""BMP and ICO codecs: every BMP variant against known pixels, ICO entry choice and
alpha, the writers, and hostile input (truncation, seeded header corruption, bombs).

Reference files are built here from real photos: by a small independent BMP writer
below (it covers what Pillow cannot write: RLE, bit fields, 2-bit, core headers,
top-down) and, where Pillow is installed, by Pillow, which also cross-checks the
writer by decoding the same files.
"""

from __future__ import annotations

import io
import random
import struct
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import pyvips
from skimage import data as skdata

from imgproxy_py.imaging.codecs.bmp import is_bmp, load_bmp, save_bmp
from imgproxy_py.imaging.codecs.dib_header import ImageDecodeError
from imgproxy_py.imaging.codecs.ico import is_ico, load_ico, save_ico

try:
    from PIL import Image as PILImage
except ImportError:  # Pillow is only an optional cross-check
    PILImage = None  # type: ignore[assignment]

needs_pillow = pytest.mark.skipif(PILImage is None, reason="Pillow not installed")

U8 = npt.NDArray[np.uint8]
MAX = 50_000_000
ASSETS = Path(__file__).parent / "assets" / "bmp_ico"


# --------------------------------------------------------------------------- sources


def _downscale(pixels: U8, width: int, height: int) -> U8:
    image = pyvips.Image.new_from_array(pixels, interpretation="srgb")
    small = image.resize(width / image.width, vscale=height / image.height)
    out = np.ndarray(buffer=small.write_to_memory(), dtype=np.uint8, shape=(small.height, small.width, small.bands))
    return out.copy()


@pytest.fixture(scope="module")
def astronaut() -> U8:
    # Odd width: 24-bit rows need padding, sub-byte rows end mid-byte.
    return _downscale(skdata.astronaut(), 67, 53)


@pytest.fixture(scope="module")
def chelsea() -> U8:
    return _downscale(skdata.chelsea(), 45, 30)


def _alpha_for(rgb: U8) -> U8:
    """A real alpha channel: a gradient with fully clear and fully opaque parts."""
    h, w = rgb.shape[:2]
    ramp = np.clip(np.linspace(-60, 320, w), 0, 255).astype(np.uint8)
    alpha = np.tile(ramp, (h, 1))
    alpha[: h // 4] = 255
    return alpha


def _pixels(image: pyvips.Image) -> U8:
    assert image.format == "uchar"
    assert image.interpretation == "srgb"
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, image.bands))


# --------------------------------------------------------------------------- palettes


def _cube_palette() -> U8:
    levels = np.arange(6, dtype=np.uint8) * 51
    r, g, b = np.meshgrid(levels, levels, levels, indexing="ij")
    return np.stack([r.ravel(), g.ravel(), b.ravel()], axis=1)  # 216 colours


def _quantize(rgb: U8, bpp: int) -> tuple[U8, U8]:
    """Indices and palette for a paletted variant of ``rgb``."""
    r, g, b = (rgb[:, :, i].astype(np.int32) for i in range(3))
    if bpp == 8:
        idx = (r * 6 // 256) * 36 + (g * 6 // 256) * 6 + (b * 6 // 256)
        return idx.astype(np.uint8), _cube_palette()
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


def _pack_rows(rows_bytes: U8, bpp: int, width: int) -> bytes:
    """Bottom-up rows padded to 4 bytes, from (h, row_bytes) data that is top row first."""
    stride = ((width * bpp + 31) // 32) * 4
    out = np.zeros((rows_bytes.shape[0], stride), dtype=np.uint8)
    out[:, : rows_bytes.shape[1]] = rows_bytes
    return out[::-1].tobytes()


def _pack_indices(idx: U8, bpp: int) -> U8:
    h, w = idx.shape
    per = 8 // bpp
    padded = np.zeros((h, -(-w // per) * per), dtype=np.uint8)
    padded[:, :w] = idx
    groups = padded.reshape(h, -1, per).astype(np.uint16)
    out = np.zeros(groups.shape[:2], dtype=np.uint16)
    for i in range(per):
        out |= groups[:, :, i] << (8 - bpp * (i + 1))
    return out.astype(np.uint8)


def _rle_encode(idx: U8, rle4: bool, *, final_eol: bool = True) -> bytes:
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
        pixel_data = _pack_rows(_pack_indices(idx, bpp), bpp, w)
    elif bpp == 24:
        pixel_data = _pack_rows(rgb[:, :, ::-1].reshape(h, w * 3), 24, w)
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
        pixel_data = _pack_rows(packed.astype(dtype).view(np.uint8).reshape(h, -1), bpp, w)
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


def _scale(values: U8, mask: int) -> U8:
    shift = (mask & -mask).bit_length() - 1
    top = mask >> shift
    q = (values.astype(np.uint64) * top + 127) // 255
    return ((q * 255 + top // 2) // top).astype(np.uint8)


# --------------------------------------------------------------------------- variants


Variant = tuple[bytes, U8]  # file, expected pixels (h, w, 3|4)


def _variants(rgb: U8) -> dict[str, Variant]:
    alpha = _alpha_for(rgb)
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
    q555 = np.dstack([_scale(rgb[:, :, i], m) for i, m in enumerate(m555[:3])])
    out["16-555"] = (make_bmp(rgb, bpp=16, masks=m555), q555)
    m565 = (0xF800, 0x7E0, 0x1F, 0)
    q565 = np.dstack([_scale(rgb[:, :, i], m) for i, m in enumerate(m565[:3])])
    out["16-565-bitfields"] = (make_bmp(rgb, bpp=16, compression=3, masks=m565), q565)
    out["16-565-v3"] = (make_bmp(rgb, bpp=16, header=56, compression=3, masks=m565), q565)
    m1555 = (0x7C00, 0x3E0, 0x1F, 0x8000)
    a1 = np.where(alpha >= 128, 255, 0).astype(np.uint8)
    out["16-1555-v4"] = (
        make_bmp(rgb, bpp=16, header=108, compression=3, alpha=alpha, masks=m1555),
        np.dstack([q555, a1]),
    )
    for bpp in (1, 2, 4, 8):
        idx, pal = _quantize(rgb, bpp)
        out[f"{bpp}-palette"] = (make_bmp(rgb, bpp=bpp, idx=idx, palette=pal), pal[idx])
    idx8, pal8 = _quantize(rgb, 8)
    out["8-core"] = (make_bmp(rgb, bpp=8, header=12, idx=idx8, palette=pal8), pal8[idx8])
    out["8-top-down"] = (make_bmp(rgb, bpp=8, idx=idx8, palette=pal8, top_down=True), pal8[idx8])
    out["8-colors-used"] = (
        make_bmp(rgb, bpp=8, idx=idx8, palette=pal8, colors_used=216),
        pal8[idx8],
    )
    out["rle8"] = (
        make_bmp(rgb, bpp=8, compression=1, idx=idx8, palette=pal8, rle_stream=_rle_encode(idx8, False)),
        pal8[idx8],
    )
    out["rle8-no-final-eol"] = (
        make_bmp(
            rgb,
            bpp=8,
            compression=1,
            idx=idx8,
            palette=pal8,
            rle_stream=_rle_encode(idx8, False, final_eol=False),
        ),
        pal8[idx8],
    )
    idx4, pal4 = _quantize(rgb, 4)
    out["rle4"] = (
        make_bmp(rgb, bpp=4, compression=2, idx=idx4, palette=pal4, rle_stream=_rle_encode(idx4, True)),
        pal4[idx4],
    )
    return out


VARIANT_NAMES = list(_variants(np.zeros((3, 5, 3), np.uint8)))


@pytest.mark.parametrize("name", VARIANT_NAMES)
def test_bmp_variants_decode_exactly(name: str, astronaut: U8, chelsea: U8) -> None:
    for source in (astronaut, chelsea):
        data, expected = _variants(source)[name]
        assert is_bmp(data)
        image = load_bmp(data, max_pixels=MAX)
        got = _pixels(image)
        assert got.shape == expected.shape, name
        assert np.array_equal(got, expected), name


@needs_pillow
@pytest.mark.parametrize(
    "name",
    [
        "24",
        "24-top-down",
        "24-core",
        "32-rgb-x0",
        "16-555",
        "16-565-bitfields",
        "1-palette",
        "4-palette",
        "8-palette",
        "8-core",
        "8-top-down",
        "rle8",
        "rle4",
        "32-v4-bitfields-alpha",
    ],
)
def test_writer_agrees_with_pillow(name: str, astronaut: U8) -> None:
    # Guards the test writer itself: an independent decoder sees the same pixels.
    data, expected = _variants(astronaut)[name]
    with PILImage.open(io.BytesIO(data)) as im:
        ref = np.asarray(im.convert("RGBA" if expected.shape[2] == 4 else "RGB"))
    if name.startswith("16"):
        # Pillow widens 5/6-bit values by truncating v * 255 / 31, this decoder rounds.
        assert np.abs(ref.astype(int) - expected.astype(int)).max() <= 1
    else:
        assert np.array_equal(ref, expected)


@needs_pillow
@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA"])
def test_pillow_written_bmps(mode: str, chelsea: U8) -> None:
    src = PILImage.fromarray(chelsea)
    if mode == "RGBA":
        src.putalpha(PILImage.fromarray(_alpha_for(chelsea)))
    im = src.convert(mode) if mode != "RGBA" else src
    buf = io.BytesIO()
    im.save(buf, "BMP")
    got = _pixels(load_bmp(buf.getvalue(), max_pixels=MAX))
    want = np.asarray(im.convert("RGBA" if mode == "RGBA" else "RGB"))
    assert np.array_equal(got, want)


def test_rle_delta_and_early_end_leave_transparent_pixels() -> None:
    pal = np.array([(0, 0, 0), (255, 0, 0), (0, 0, 255)], dtype=np.uint8)
    # 6x3, bottom row first: row 0 = 2 red then delta(+2, +1), row 1 continues at x=4:
    # 2 blue, EOL; row 2: absolute 3 pixels [1, 2, 1] then end of bitmap.
    stream = bytes([2, 1, 0, 2, 2, 1, 2, 2, 0, 0, 0, 3, 1, 2, 1, 0, 0, 1])
    data = make_bmp(
        np.zeros((3, 6, 3), np.uint8),
        bpp=8,
        compression=1,
        idx=np.zeros((3, 6), np.uint8),
        palette=pal,
        rle_stream=stream,
    )
    got = _pixels(load_bmp(data, max_pixels=MAX))
    assert got.shape == (3, 6, 4)
    alpha = got[:, :, 3]
    # Top row of the output is the last row in the stream.
    assert alpha.tolist() == [[255, 255, 255, 0, 0, 0], [0, 0, 0, 0, 255, 255], [255, 255, 0, 0, 0, 0]]
    assert got[0, :3, :3].tolist() == [[255, 0, 0], [0, 0, 255], [255, 0, 0]]
    assert got[1, 4:, :3].tolist() == [[0, 0, 255], [0, 0, 255]]
    assert got[2, :2, :3].tolist() == [[255, 0, 0], [255, 0, 0]]


def test_rle4_odd_runs_alternate_nibbles() -> None:
    pal = np.array([(0, 0, 0), (10, 10, 10), (200, 0, 0)], dtype=np.uint8)
    # One row of 8: encoded run of 5 alternating 1, 2, then absolute 3 pixels [2, 1, 2].
    stream = bytes([5, 0x12, 0, 3, 0x21, 0x20, 0, 1])
    data = make_bmp(
        np.zeros((1, 8, 3), np.uint8),
        bpp=4,
        compression=2,
        idx=np.zeros((1, 8), np.uint8),
        palette=pal,
        rle_stream=stream,
    )
    got = _pixels(load_bmp(data, max_pixels=MAX))
    assert got.shape == (1, 8, 3)
    assert got[0, :, 0].tolist() == [10, 200, 10, 200, 10, 200, 10, 200]


def _reference_rle(stream: bytes, width: int, height: int, rle4: bool) -> tuple[U8, U8]:
    """Plain per-pixel RLE decoding (bottom row first in the stream), for comparison."""
    idx = np.zeros((height, width), np.uint8)
    seen = np.zeros((height, width), np.uint8)
    pos = x = y = 0

    def put(value: int) -> None:
        nonlocal x
        if x < width:
            idx[height - 1 - y, x] = value
            seen[height - 1 - y, x] = 255
            x += 1

    while y < height:
        count, value = stream[pos], stream[pos + 1]
        pos += 2
        if count:
            for i in range(count):
                put((value >> 4 if i % 2 == 0 else value & 15) if rle4 else value)
        elif value == 0:
            x, y = 0, y + 1
        elif value == 1:
            break
        elif value == 2:
            x, y = min(x + stream[pos], width), y + stream[pos + 1]
            pos += 2
        else:
            nbytes = (value + 1) // 2 if rle4 else value
            body = stream[pos : pos + nbytes]
            pos += nbytes + nbytes % 2
            for i in range(value):
                put((body[i // 2] >> 4 if i % 2 == 0 else body[i // 2] & 15) if rle4 else body[i])
    return idx, seen


@pytest.mark.parametrize("rle4", [False, True])
def test_rle_random_streams_match_reference(rle4: bool) -> None:
    rng = random.Random(7 if rle4 else 8)
    palette = np.array([(i, 255 - i, (i * 37) % 256) for i in range(256)], dtype=np.uint8)
    for _ in range(60):
        width, height = rng.randint(1, 23), rng.randint(1, 9)
        stream = bytearray()
        for _ in range(rng.randint(0, 40)):
            kind = rng.random()
            if kind < 0.45:
                stream += bytes((rng.randint(1, 30), rng.randrange(256)))
            elif kind < 0.75:
                n = rng.randint(3, 30)
                nbytes = (n + 1) // 2 if rle4 else n
                body = bytes(rng.randrange(256) for _ in range(nbytes))
                stream += bytes((0, n)) + body + (b"\x00" if nbytes % 2 else b"")
            elif kind < 0.85:
                stream += bytes((0, 2, rng.randint(0, 5), rng.randint(0, 1)))
            else:
                stream += b"\x00\x00"
        stream += b"\x00\x01"
        data = make_bmp(
            np.zeros((height, width, 3), np.uint8),
            bpp=4 if rle4 else 8,
            compression=2 if rle4 else 1,
            idx=np.zeros((height, width), np.uint8),
            palette=palette[:16] if rle4 else palette,
            rle_stream=bytes(stream),
        )
        idx, seen = _reference_rle(bytes(stream), width, height, rle4)
        got = _pixels(load_bmp(data, max_pixels=MAX))
        if seen.all():
            assert got.shape[2] == 3
        else:
            assert np.array_equal(got[:, :, 3], seen)
        written = seen == 255
        assert np.array_equal(got[:, :, :3][written], palette[idx][written])


def test_out_of_range_palette_index_is_black() -> None:
    idx = np.array([[0, 1, 5, 200]], dtype=np.uint8)
    pal = np.array([(9, 9, 9), (50, 60, 70)], dtype=np.uint8)
    data = make_bmp(np.zeros((1, 4, 3), np.uint8), bpp=8, idx=idx, palette=pal, colors_used=2)
    got = _pixels(load_bmp(data, max_pixels=MAX))
    assert got[0].tolist() == [[9, 9, 9], [50, 60, 70], [0, 0, 0], [0, 0, 0]]


def test_resolution_is_kept(chelsea: U8) -> None:
    image = load_bmp(make_bmp(chelsea), max_pixels=MAX)
    assert image.xres == pytest.approx(2.835)


# --------------------------------------------------------------------------- writers


def test_save_bmp_round_trips(astronaut: U8) -> None:
    rgb_image = pyvips.Image.new_from_array(astronaut, interpretation="srgb")
    data = save_bmp(rgb_image)
    assert data[:2] == b"BM" and struct.unpack_from("<IH", data, 14 + 0)[0] == 40
    assert struct.unpack_from("<H", data, 28)[0] == 24
    assert np.array_equal(_pixels(load_bmp(data, max_pixels=MAX)), astronaut)

    rgba = np.dstack([astronaut, _alpha_for(astronaut)])
    data = save_bmp(pyvips.Image.new_from_array(rgba, interpretation="srgb"))
    assert struct.unpack_from("<IiiHHI", data, 14) == (108, 67, 53, 1, 32, 3)
    assert np.array_equal(_pixels(load_bmp(data, max_pixels=MAX)), rgba)
    if PILImage is not None:
        with PILImage.open(io.BytesIO(data)) as im:
            assert np.array_equal(np.asarray(im.convert("RGBA")), rgba)


def test_save_bmp_widens_grey_and_16_bit(chelsea: U8) -> None:
    grey = pyvips.Image.new_from_array(chelsea, interpretation="srgb").colourspace("b-w")
    got = _pixels(load_bmp(save_bmp(grey), max_pixels=MAX))
    g = np.ndarray(buffer=grey.write_to_memory(), dtype=np.uint8, shape=(grey.height, grey.width))
    assert np.array_equal(got, np.dstack([g, g, g]))
    wide = pyvips.Image.new_from_array(chelsea, interpretation="srgb").colourspace("rgb16")
    got = _pixels(load_bmp(save_bmp(wide), max_pixels=MAX))
    assert np.abs(got.astype(int) - chelsea.astype(int)).max() <= 1


# --------------------------------------------------------------------------- ICO


def _png(pixels: U8) -> bytes:
    return bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").pngsave_buffer())


def _dib_entry(rgb: U8, *, bpp: int, transparent: U8 | None, alpha: U8 | None = None) -> bytes:
    """An ICO bitmap entry: DIB with doubled height, XOR bitmap and AND mask."""
    h, w = rgb.shape[:2]
    if bpp <= 8:
        idx, pal = _quantize(rgb, bpp)
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
    return dib + _pack_rows(_pack_indices(mask, 1), 1, w)


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


def _disc(h: int, w: int) -> U8:
    yy, xx = np.mgrid[:h, :w]
    return ((yy - h / 2 + 0.5) ** 2 + (xx - w / 2 + 0.5) ** 2 > (min(h, w) / 2) ** 2).astype(np.uint8)


def test_ico_picks_largest_and_decodes_and_mask(astronaut: U8) -> None:
    small = _downscale(astronaut, 16, 16)
    big = _downscale(astronaut, 48, 48)
    mid = _downscale(astronaut, 32, 32)
    hole = _disc(48, 48)
    data = make_ico(
        [
            (16, 16, 32, _png(np.dstack([small, np.full((16, 16), 255, np.uint8)]))),
            (48, 48, 8, _dib_entry(big, bpp=8, transparent=hole)),
            (32, 32, 32, _dib_entry(mid, bpp=32, transparent=None, alpha=_alpha_for(mid))),
        ]
    )
    assert is_ico(data)
    got = _pixels(load_ico(data, max_pixels=MAX))
    idx, pal = _quantize(big, 8)
    assert got.shape == (48, 48, 4)
    assert np.array_equal(got[:, :, :3], pal[idx])
    assert np.array_equal(got[:, :, 3], np.where(hole == 1, 0, 255))


@pytest.mark.parametrize("bpp", [1, 4, 8, 24])
def test_ico_bitmap_depths(bpp: int, chelsea: U8) -> None:
    rgb = _downscale(chelsea, 20, 20)
    hole = _disc(20, 20)
    data = make_ico([(20, 20, bpp, _dib_entry(rgb, bpp=bpp, transparent=hole))])
    got = _pixels(load_ico(data, max_pixels=MAX))
    expected = rgb if bpp == 24 else (lambda ip: ip[1][ip[0]])(_quantize(rgb, bpp))
    assert np.array_equal(got[:, :, :3], expected)
    assert np.array_equal(got[:, :, 3], np.where(hole == 1, 0, 255))


def test_ico_32_bit_alpha_wins_over_mask_and_zero_alpha_falls_back(chelsea: U8) -> None:
    rgb = _downscale(chelsea, 24, 24)
    alpha = _alpha_for(rgb)
    hole = _disc(24, 24)
    got = _pixels(
        load_ico(make_ico([(24, 24, 32, _dib_entry(rgb, bpp=32, transparent=hole, alpha=alpha))]), max_pixels=MAX)
    )
    assert np.array_equal(got, np.dstack([rgb, alpha]))
    # Alpha bytes all zero (old XP-era icons): the AND mask decides.
    data = make_ico([(24, 24, 32, _dib_entry(rgb, bpp=32, transparent=hole))])
    got = _pixels(load_ico(data, max_pixels=MAX))
    assert np.array_equal(got, np.dstack([rgb, np.where(hole == 1, 0, 255).astype(np.uint8)]))


def test_ico_32_bit_opaque_alpha_ignores_mask(chelsea: U8) -> None:
    rgb = _downscale(chelsea, 24, 24)
    entry = _dib_entry(rgb, bpp=32, transparent=_disc(24, 24), alpha=np.full((24, 24), 255, np.uint8))
    got = _pixels(load_ico(make_ico([(24, 24, 32, entry)]), max_pixels=MAX))
    assert np.array_equal(got, rgb)


def test_ico_16_bit_grey_alpha_png() -> None:
    grey = np.arange(600, dtype=np.uint16).reshape(20, 30) * 100
    image = pyvips.Image.new_from_array(np.dstack([grey, np.full((20, 30), 0x8000, np.uint16)]))
    png = bytes(image.copy(interpretation="grey16").pngsave_buffer())
    got = _pixels(load_ico(make_ico([(30, 20, 32, png)]), max_pixels=MAX))
    assert got.shape == (20, 30, 4)
    assert np.array_equal(got[:, :, 0], got[:, :, 2])
    assert np.abs(got[:, :, 3].astype(int) - 128).max() <= 1
    assert got[0, 0, 0] == 0 and got[-1, -1, 0] > 200


def test_ico_opaque_bitmap_without_mask_has_three_bands(chelsea: U8) -> None:
    rgb = _downscale(chelsea, 8, 8)
    entry = make_bmp(rgb, icon=True)  # no AND mask at all
    got = _pixels(load_ico(make_ico([(8, 8, 24, entry)]), max_pixels=MAX))
    assert np.array_equal(got, rgb)


def test_ico_256_png_and_depth_tie_break(astronaut: U8) -> None:
    big = _downscale(astronaut, 256, 256)
    rgba = np.dstack([big, _alpha_for(big)])
    low = _dib_entry(big, bpp=8, transparent=None)
    data = make_ico([(256, 256, 8, low), (256, 256, 32, _png(rgba)), (48, 48, 32, _png(rgba[:48, :48]))])
    assert data[6] == 0 and data[7] == 0
    got = _pixels(load_ico(data, max_pixels=MAX))
    assert np.array_equal(got, rgba)
    with pytest.raises(ImageDecodeError, match="resolution too big"):
        load_ico(data, max_pixels=256 * 255)


def test_ico_png_entries_grey_and_palette(chelsea: U8) -> None:
    grey = pyvips.Image.new_from_array(_downscale(chelsea, 30, 20), interpretation="srgb").colourspace("b-w")
    png = bytes(grey.pngsave_buffer())
    got = _pixels(load_ico(make_ico([(30, 20, 8, png)]), max_pixels=MAX))
    g = np.ndarray(buffer=grey.write_to_memory(), dtype=np.uint8, shape=(20, 30))
    assert np.array_equal(got, np.dstack([g, g, g]))
    pal_png = bytes(
        pyvips.Image.new_from_array(_downscale(chelsea, 30, 20), interpretation="srgb").pngsave_buffer(
            palette=True, colours=16
        )
    )
    got = _pixels(load_ico(make_ico([(30, 20, 4, pal_png)]), max_pixels=MAX))
    assert got.shape == (20, 30, 3)


@needs_pillow
def test_pillow_written_icos(astronaut: U8) -> None:
    src = PILImage.fromarray(np.dstack([_downscale(astronaut, 64, 64), _alpha_for(np.zeros((64, 64, 3), np.uint8))]))
    want = np.asarray(src)
    for fmt in ("png", "bmp"):
        buf = io.BytesIO()
        src.save(buf, "ICO", sizes=[(16, 16), (64, 64), (32, 32)], bitmap_format=fmt)
        got = _pixels(load_ico(buf.getvalue(), max_pixels=MAX))
        assert np.array_equal(got, want), fmt


def test_save_ico_round_trip(chelsea: U8) -> None:
    rgba = np.dstack([_downscale(chelsea, 40, 30), _alpha_for(np.zeros((30, 40, 3), np.uint8))])
    data = save_ico(pyvips.Image.new_from_array(rgba, interpretation="srgb"))
    assert is_ico(data)
    assert struct.unpack_from("<HHHBBBBHHII", data) == (0, 1, 1, 40, 30, 0, 0, 1, 32, len(data) - 22, 22)
    assert data[22:30] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(_pixels(load_ico(data, max_pixels=MAX)), rgba)

    rgb = _downscale(chelsea, 256, 256)
    data = save_ico(pyvips.Image.new_from_array(rgb, interpretation="srgb"))
    assert data[6:8] == b"\x00\x00" and data[12] == 24
    assert np.array_equal(_pixels(load_ico(data, max_pixels=MAX)), rgb)
    if PILImage is not None:
        with PILImage.open(io.BytesIO(data)) as im:
            assert im.size == (256, 256)

    with pytest.raises(ValueError, match="256"):
        save_ico(pyvips.Image.black(257, 10))


def _png_file(path: Path) -> U8:
    image = pyvips.Image.new_from_file(str(path))
    if image.bands < 3:
        image = image.colourspace("srgb")
    return _pixels(image.copy(interpretation="srgb")).copy()


def test_real_world_files() -> None:
    # Written by other encoders (see PROVENANCE.md): a V5 bit-field BMP with alpha and an
    # ImageMagick ICO with 32-bit DIB entries and a 256-pixel PNG entry.
    bmp = _pixels(load_bmp((ASSETS / "python.bmp").read_bytes(), max_pixels=MAX))
    assert np.array_equal(bmp, _png_file(ASSETS / "python.png"))

    ico = (ASSETS / "idle.ico").read_bytes()
    got = load_ico(ico, max_pixels=MAX)
    assert (got.width, got.height, got.bands) == (256, 256, 4)
    # Hide the PNG entry (count 4 -> 3): the 48-pixel DIB is then the largest.
    assert struct.unpack_from("<H", ico, 4)[0] == 4 and ico[6 + 48 : 6 + 50] == b"\x00\x00"
    without_png = ico[:4] + struct.pack("<H", 3) + ico[6:]
    dib = _pixels(load_ico(without_png, max_pixels=MAX))
    assert np.array_equal(dib, _png_file(ASSETS / "idle_48.png"))


def test_sniffing() -> None:
    assert is_bmp(b"BM" + bytes(30))
    assert not is_bmp(b"BM")
    assert not is_bmp(b"\x89PNG\r\n\x1a\n" + bytes(30))
    assert is_ico(b"\x00\x00\x01\x00\x01\x00")
    assert not is_ico(b"\x00\x00\x01\x00\x00\x00")  # no images
    assert not is_ico(b"\x00\x00\x02\x00\x01\x00")  # cursor
    assert not is_ico(b"\x00\x01\x01\x00\x01\x00")


# --------------------------------------------------------------------------- hostile input


def _case_id(value: object) -> str:
    # Readable test ids instead of escaped bytes.
    if isinstance(value, bytes):
        return f"{len(value)}B"
    return str(value).replace(" ", "-")


def _header(w: int, h: int, bpp: int = 24, compression: int = 0, colors: int = 0, offset: int = 54) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, bpp, compression, 0, 0, 0, colors, 0)
    return b"BM" + struct.pack("<IHHI", 0, 0, 0, offset) + info


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_header(65535, 65535), "resolution too big"),
        (_header(65536, 1), "dimensions too big"),
        (_header(-5, 5), "invalid dimensions"),
        (_header(5, 0), "invalid dimensions"),
        (_header(5, -(2**31)), "dimensions too big"),
        (_header(5, 5, bpp=3), "bit depth"),
        (_header(5, 5, bpp=24, compression=1), "bit depth"),
        (_header(5, 5, compression=4), "compression"),  # embedded JPEG
        (_header(5, 5, compression=0x7FFFFFFF), "compression"),
        (_header(5, 5) + bytes(10), "truncated pixel data"),
        (_header(5, 5, offset=0xFFFFFFFF) + bytes(100), "beyond end"),
        (_header(5, 5, offset=20) + bytes(100), "inside the header"),
        (_header(5, 5, bpp=8, offset=1078) + bytes(100), "truncated palette"),
        (_header(5, 5, bpp=8, colors=2**32 - 1, offset=1078) + bytes(100), "truncated palette"),
        (b"BM" + bytes(12) + struct.pack("<I", 20) + bytes(30), "header size"),
        (b"BM" + bytes(12) + struct.pack("<I", 124) + bytes(30), "truncated header"),
        (b"BM" + bytes(12) + struct.pack("<I", 40) + bytes(8), "truncated header"),
        (b"BM" + bytes(10), "not a BMP"),
        (b"GIF89a" + bytes(40), "not a BMP"),
    ],
    ids=_case_id,
)
def test_rejected_bmps(data: bytes, reason: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ImageDecodeError, match=reason):
        load_bmp(data, max_pixels=MAX)
    assert time.perf_counter() - start < 2.0  # refused from the header: no pixel work (a hang guard)


def test_huge_declared_size_does_not_allocate() -> None:
    # 60000x60000 24-bit declares 10 GB of pixels; with no limit the data check rejects it.
    start = time.perf_counter()
    with pytest.raises(ImageDecodeError, match="truncated pixel data"):
        load_bmp(_header(60000, 60000) + bytes(1000), max_pixels=10**12)
    assert time.perf_counter() - start < 2.0  # zeroing 10 GB would take far longer


def test_rle_bomb_is_bounded_by_max_pixels() -> None:
    pal = np.zeros((256, 3), np.uint8)
    # A few bytes that declare 4000x3000 and end at once: within the limit it is a
    # (transparent) image, beyond it the header is refused before anything is allocated.
    data = make_bmp(
        np.zeros((1, 1, 3), np.uint8),
        bpp=8,
        compression=1,
        idx=np.zeros((1, 1), np.uint8),
        palette=pal,
        rle_stream=b"\x00\x01",
    )
    data = data[:18] + struct.pack("<ii", 4000, 3000) + data[26:]
    image = load_bmp(data, max_pixels=MAX)
    assert (image.width, image.height, image.bands) == (4000, 3000, 4)
    assert image.extract_band(3).max() == 0
    with pytest.raises(ImageDecodeError, match="resolution too big"):
        load_bmp(data, max_pixels=1_000_000)
    # Runs past the row end and deltas past the image are clipped, not written out of bounds.
    stream = bytes([255, 7, 0, 2, 255, 255, 9, 9, 0, 1])
    small = make_bmp(
        np.zeros((2, 3, 3), np.uint8),
        bpp=8,
        compression=1,
        idx=np.zeros((2, 3), np.uint8),
        palette=pal,
        rle_stream=stream,
    )
    assert load_bmp(small, max_pixels=MAX).height == 2
    # Absolute run longer than the data that is left.
    cut = make_bmp(
        np.zeros((2, 3, 3), np.uint8),
        bpp=8,
        compression=1,
        idx=np.zeros((2, 3), np.uint8),
        palette=pal,
        rle_stream=bytes([0, 200, 1, 2, 3]),
    )
    with pytest.raises(ImageDecodeError, match="truncated RLE"):
        load_bmp(cut, max_pixels=MAX)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00\x00\x01\x00\xff\xff" + bytes(64), "truncated ICO directory"),
        (b"\x00\x00\x01\x00\x00\x00", "no images"),
        (
            b"\x00\x00\x01\x00\x01\x00" + struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, 40, 6) + bytes(40),
            "no usable",
        ),
        (b"\x00\x00\x01\x00\x01\x00" + struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, 40, 999), "no usable"),
        (make_ico([(16, 16, 32, b"\x89PNG\r\n\x1a\n" + bytes(40))]), "PNG icon"),
        (make_ico([(16, 16, 32, _png(np.zeros((16, 16, 3), np.uint8))[:60])]), "invalid PNG icon"),
        (make_ico([(16, 16, 32, struct.pack("<IiiHH", 40, 16, -32, 1, 32) + bytes(100))]), "top-down"),
        (
            make_ico([(16, 16, 32, struct.pack("<IiiHH", 40, 16, 1, 1, 32) + bytes(100))]),
            "invalid dimensions",
        ),
        (make_ico([(16, 16, 8, struct.pack("<IiiHHI", 40, 16, 32, 1, 8, 1) + bytes(1100))]), "compressed"),
        # A packed DIB's (optional) colour table is skipped even at 24 bits.
        (
            make_ico([(1, 1, 24, struct.pack("<IiiHHIIiiI", 40, 1, 2, 1, 24, 0, 0, 0, 0, 2**32 - 1) + bytes(8))]),
            "beyond end",
        ),
    ],
    ids=_case_id,
)
def test_rejected_icos(data: bytes, reason: str) -> None:
    with pytest.raises(ImageDecodeError, match=reason):
        load_ico(data, max_pixels=MAX)


def _fuzz_corpus() -> list[tuple[str, bytes, Callable[..., pyvips.Image]]]:
    rgb = _downscale(skdata.chelsea(), 13, 7)  # small: thousands of decodes must stay fast
    corpus: list[tuple[str, bytes, Callable[..., pyvips.Image]]] = [
        (name, data, load_bmp) for name, (data, _) in _variants(rgb).items()
    ]
    hole = _disc(7, 13)
    corpus += [
        ("ico-8", make_ico([(13, 7, 8, _dib_entry(rgb, bpp=8, transparent=hole))]), load_ico),
        (
            "ico-32",
            make_ico([(13, 7, 32, _dib_entry(rgb, bpp=32, transparent=hole, alpha=_alpha_for(rgb)))]),
            load_ico,
        ),
        (
            "ico-png",
            make_ico([(4, 4, 24, _dib_entry(rgb[:4, :4], bpp=24, transparent=None)), (13, 7, 32, _png(rgb))]),
            load_ico,
        ),
    ]
    corpus += [
        ("python.bmp", (ASSETS / "python.bmp").read_bytes(), load_bmp),
        ("idle.ico", (ASSETS / "idle.ico").read_bytes(), load_ico),
    ]
    return corpus


def _check(loader: Callable[..., pyvips.Image], data: bytes, failures: list[str], label: str) -> float:
    start = time.perf_counter()
    try:
        image = loader(data, max_pixels=4_000_000)
        image.avg()  # the pixels must really be there
    except ImageDecodeError as exc:
        # The catch-all for unforeseen exceptions must never be what answers.
        if str(exc).startswith("malformed"):
            failures.append(f"{label}: {exc}")
    except Exception as exc:
        failures.append(f"{label}: {type(exc).__name__}: {exc}")
    return time.perf_counter() - start


def test_fuzz_truncation_and_corruption() -> None:
    rng = random.Random(20240611)
    failures: list[str] = []
    slowest = 0.0
    for name, data, loader in _fuzz_corpus():
        cuts = set(range(min(len(data), 160)))
        cuts |= {rng.randrange(len(data)) for _ in range(40)}
        for cut in sorted(cuts):
            slowest = max(slowest, _check(loader, data[:cut], failures, f"{name} cut {cut}"))
        # Header region (file header, info header, masks, palette start) gets most flips;
        # RLE streams are control data, so they are corrupted anywhere.
        span = len(data) if name.startswith("rle") else min(len(data), 14 + 124 + 64)
        for trial in range(250):
            mutated = bytearray(data)
            for _ in range(rng.choice((1, 1, 2, 4))):
                mutated[rng.randrange(span)] ^= rng.randrange(1, 256)
            slowest = max(slowest, _check(loader, bytes(mutated), failures, f"{name} flip {trial}"))
    assert not failures, failures[:10]
    assert slowest < 5.0  # a hang guard; decoding speed is measured in benchmarks/, not here


def test_a_large_bmp_is_decoded_without_a_loop_per_pixel() -> None:
    rgb = np.ascontiguousarray(np.resize(skdata.astronaut(), (1500, 2000, 3)))
    data = make_bmp(rgb)
    start = time.perf_counter()
    image = load_bmp(data, max_pixels=MAX)
    pixels = image.write_to_memory()
    elapsed = time.perf_counter() - start
    assert len(pixels) == 2000 * 1500 * 3
    # Vectorized, not a loop per pixel (which would take tens of seconds); the bound leaves room
    # for a loaded CI machine.
    assert elapsed < 5.0
