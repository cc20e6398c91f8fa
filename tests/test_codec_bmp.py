"""BMP codec (``imaging.codecs.bmp``): every BMP variant against known pixels, RLE streams
against a plain reference decoder, and the writer.

Reference files are built from real photos by the writer in ``tests/bmp_ico_support.py`` and,
where Pillow is installed, by Pillow, which also cross-checks that writer.
"""

from __future__ import annotations

import io
import random
import struct

import numpy as np
import pytest
import pyvips

from imgproxy_py.imaging.codecs.bmp import is_bmp, load_bmp, save_bmp
from tests.bmp_ico_support import (
    MAX,
    U8,
    PILImage,
    alpha_for,
    bmp_variants,
    make_bmp,
    needs_pillow,
    pixels_of,
    small_astronaut,
    small_chelsea,
)


@pytest.fixture(scope="module")
def astronaut() -> U8:
    return small_astronaut()


@pytest.fixture(scope="module")
def chelsea() -> U8:
    return small_chelsea()


VARIANT_NAMES = list(bmp_variants(np.zeros((3, 5, 3), np.uint8)))


@pytest.mark.parametrize("name", VARIANT_NAMES)
def test_bmp_variants_decode_exactly(name: str, astronaut: U8, chelsea: U8) -> None:
    for source in (astronaut, chelsea):
        data, expected = bmp_variants(source)[name]
        assert is_bmp(data)
        image = load_bmp(data, max_pixels=MAX)
        got = pixels_of(image)
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
    data, expected = bmp_variants(astronaut)[name]
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
        src.putalpha(PILImage.fromarray(alpha_for(chelsea)))
    im = src.convert(mode) if mode != "RGBA" else src
    buf = io.BytesIO()
    im.save(buf, "BMP")
    got = pixels_of(load_bmp(buf.getvalue(), max_pixels=MAX))
    want = np.asarray(im.convert("RGBA" if mode == "RGBA" else "RGB"))
    assert np.array_equal(got, want)


def test_rle_delta_and_early_end_leave_black_pixels() -> None:
    """Pixels the stream skips are black, as imgproxy's loader leaves them, whatever palette
    entry 0 is (green here); the image stays opaque RGB."""
    pal = np.array([(0, 255, 0), (255, 0, 0), (0, 0, 255)], dtype=np.uint8)
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
    got = pixels_of(load_bmp(data, max_pixels=MAX))
    assert got.shape == (3, 6, 3)
    red, blue, black = [255, 0, 0], [0, 0, 255], [0, 0, 0]
    # Top row of the output is the last row in the stream.
    assert got.tolist() == [[red, blue, red, black, black, black],
                            [black, black, black, black, blue, blue],
                            [red, red, black, black, black, black]]


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
    got = pixels_of(load_bmp(data, max_pixels=MAX))
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
        got = pixels_of(load_bmp(data, max_pixels=MAX))
        assert got.shape[2] == 3
        written = seen == 255
        assert np.array_equal(got[written], palette[idx][written])
        assert not got[~written].any()  # skipped pixels are black


def test_out_of_range_palette_index_is_black() -> None:
    idx = np.array([[0, 1, 5, 200]], dtype=np.uint8)
    pal = np.array([(9, 9, 9), (50, 60, 70)], dtype=np.uint8)
    data = make_bmp(np.zeros((1, 4, 3), np.uint8), bpp=8, idx=idx, palette=pal, colors_used=2)
    got = pixels_of(load_bmp(data, max_pixels=MAX))
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
    assert np.array_equal(pixels_of(load_bmp(data, max_pixels=MAX)), astronaut)

    rgba = np.dstack([astronaut, alpha_for(astronaut)])
    data = save_bmp(pyvips.Image.new_from_array(rgba, interpretation="srgb"))
    assert struct.unpack_from("<IiiHHI", data, 14) == (108, 67, 53, 1, 32, 3)
    assert np.array_equal(pixels_of(load_bmp(data, max_pixels=MAX)), rgba)
    if PILImage is not None:
        with PILImage.open(io.BytesIO(data)) as im:
            assert np.array_equal(np.asarray(im.convert("RGBA")), rgba)


def test_save_bmp_widens_grey_and_16_bit(chelsea: U8) -> None:
    grey = pyvips.Image.new_from_array(chelsea, interpretation="srgb").colourspace("b-w")
    got = pixels_of(load_bmp(save_bmp(grey), max_pixels=MAX))
    g = np.ndarray(buffer=grey.write_to_memory(), dtype=np.uint8, shape=(grey.height, grey.width))
    assert np.array_equal(got, np.dstack([g, g, g]))
    wide = pyvips.Image.new_from_array(chelsea, interpretation="srgb").colourspace("rgb16")
    got = pixels_of(load_bmp(save_bmp(wide), max_pixels=MAX))
    assert np.abs(got.astype(int) - chelsea.astype(int)).max() <= 1
