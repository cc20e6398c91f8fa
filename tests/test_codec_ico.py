"""ICO codec (``imaging.codecs.ico``): which entry is chosen, bitmap depths, alpha against the
AND mask, PNG entries and the writer; plus real-world BMP and ICO files from other encoders and
the format sniffing of both.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import pyvips

from imgproxy_py.imaging.codecs.bmp import is_bmp, load_bmp
from imgproxy_py.imaging.codecs.dib_header import ImageDecodeError
from imgproxy_py.imaging.codecs.ico import is_ico, load_ico, save_ico
from tests.bmp_ico_support import (
    ASSETS,
    MAX,
    U8,
    PILImage,
    alpha_for,
    dib_entry,
    disc_mask,
    downscale,
    make_bmp,
    make_ico,
    needs_pillow,
    pixels_of,
    png_bytes,
    quantize_to_palette,
    small_astronaut,
    small_chelsea,
)


@pytest.fixture(scope="module")
def astronaut() -> U8:
    return small_astronaut()


@pytest.fixture(scope="module")
def chelsea() -> U8:
    return small_chelsea()


def test_ico_picks_largest_and_decodes_and_mask(astronaut: U8) -> None:
    small = downscale(astronaut, 16, 16)
    big = downscale(astronaut, 48, 48)
    mid = downscale(astronaut, 32, 32)
    hole = disc_mask(48, 48)
    data = make_ico(
        [
            (16, 16, 32, png_bytes(np.dstack([small, np.full((16, 16), 255, np.uint8)]))),
            (48, 48, 8, dib_entry(big, bpp=8, transparent=hole)),
            (32, 32, 32, dib_entry(mid, bpp=32, transparent=None, alpha=alpha_for(mid))),
        ]
    )
    assert is_ico(data)
    got = pixels_of(load_ico(data, max_pixels=MAX))
    idx, pal = quantize_to_palette(big, 8)
    assert got.shape == (48, 48, 4)
    assert np.array_equal(got[:, :, :3], pal[idx])
    assert np.array_equal(got[:, :, 3], np.where(hole == 1, 0, 255))


@pytest.mark.parametrize("bpp", [1, 4, 8, 24])
def test_ico_bitmap_depths(bpp: int, chelsea: U8) -> None:
    rgb = downscale(chelsea, 20, 20)
    hole = disc_mask(20, 20)
    data = make_ico([(20, 20, bpp, dib_entry(rgb, bpp=bpp, transparent=hole))])
    got = pixels_of(load_ico(data, max_pixels=MAX))
    expected = rgb if bpp == 24 else (lambda ip: ip[1][ip[0]])(quantize_to_palette(rgb, bpp))
    assert np.array_equal(got[:, :, :3], expected)
    assert np.array_equal(got[:, :, 3], np.where(hole == 1, 0, 255))


def test_ico_32_bit_alpha_wins_over_mask_and_zero_alpha_falls_back(chelsea: U8) -> None:
    rgb = downscale(chelsea, 24, 24)
    alpha = alpha_for(rgb)
    hole = disc_mask(24, 24)
    got = pixels_of(
        load_ico(make_ico([(24, 24, 32, dib_entry(rgb, bpp=32, transparent=hole, alpha=alpha))]), max_pixels=MAX)
    )
    assert np.array_equal(got, np.dstack([rgb, alpha]))
    # Alpha bytes all zero (old XP-era icons): the AND mask decides.
    data = make_ico([(24, 24, 32, dib_entry(rgb, bpp=32, transparent=hole))])
    got = pixels_of(load_ico(data, max_pixels=MAX))
    assert np.array_equal(got, np.dstack([rgb, np.where(hole == 1, 0, 255).astype(np.uint8)]))


def test_ico_32_bit_opaque_alpha_ignores_mask(chelsea: U8) -> None:
    rgb = downscale(chelsea, 24, 24)
    entry = dib_entry(rgb, bpp=32, transparent=disc_mask(24, 24), alpha=np.full((24, 24), 255, np.uint8))
    got = pixels_of(load_ico(make_ico([(24, 24, 32, entry)]), max_pixels=MAX))
    assert np.array_equal(got, rgb)


def test_ico_16_bit_grey_alpha_png() -> None:
    grey = np.arange(600, dtype=np.uint16).reshape(20, 30) * 100
    image = pyvips.Image.new_from_array(np.dstack([grey, np.full((20, 30), 0x8000, np.uint16)]))
    png = bytes(image.copy(interpretation="grey16").pngsave_buffer())
    loaded = load_ico(make_ico([(30, 20, 32, png)]), max_pixels=MAX)
    assert (loaded.interpretation, loaded.format, loaded.bands) == ("grey16", "ushort", 2)  # as a PNG source
    got = np.ndarray(buffer=loaded.write_to_memory(), dtype=np.uint16, shape=(20, 30, 2))
    assert np.array_equal(got[:, :, 0], grey) and (got[:, :, 1] == 0x8000).all()


def test_ico_opaque_bitmap_without_mask_has_three_bands(chelsea: U8) -> None:
    rgb = downscale(chelsea, 8, 8)
    entry = make_bmp(rgb, icon=True)  # no AND mask at all
    got = pixels_of(load_ico(make_ico([(8, 8, 24, entry)]), max_pixels=MAX))
    assert np.array_equal(got, rgb)


def test_ico_256_png_and_depth_tie_break(astronaut: U8) -> None:
    big = downscale(astronaut, 256, 256)
    rgba = np.dstack([big, alpha_for(big)])
    low = dib_entry(big, bpp=8, transparent=None)
    data = make_ico([(256, 256, 8, low), (256, 256, 32, png_bytes(rgba)), (48, 48, 32, png_bytes(rgba[:48, :48]))])
    assert data[6] == 0 and data[7] == 0
    got = pixels_of(load_ico(data, max_pixels=MAX))
    assert np.array_equal(got, rgba)
    with pytest.raises(ImageDecodeError, match="resolution too big"):
        load_ico(data, max_pixels=256 * 255)


def test_ico_png_entries_grey_and_palette(chelsea: U8) -> None:
    grey = pyvips.Image.new_from_array(downscale(chelsea, 30, 20), interpretation="srgb").colourspace("b-w")
    png = bytes(grey.pngsave_buffer())
    loaded = load_ico(make_ico([(30, 20, 8, png)]), max_pixels=MAX)
    assert (loaded.interpretation, loaded.bands) == ("b-w", 1)  # grey stays grey, as a PNG source does
    assert loaded.write_to_memory() == grey.write_to_memory()
    pal_png = bytes(
        pyvips.Image.new_from_array(downscale(chelsea, 30, 20), interpretation="srgb").pngsave_buffer(
            palette=True, colours=16
        )
    )
    got = pixels_of(load_ico(make_ico([(30, 20, 4, pal_png)]), max_pixels=MAX))
    assert got.shape == (20, 30, 3)


@needs_pillow
def test_pillow_written_icos(astronaut: U8) -> None:
    src = PILImage.fromarray(np.dstack([downscale(astronaut, 64, 64), alpha_for(np.zeros((64, 64, 3), np.uint8))]))
    want = np.asarray(src)
    for fmt in ("png", "bmp"):
        buf = io.BytesIO()
        src.save(buf, "ICO", sizes=[(16, 16), (64, 64), (32, 32)], bitmap_format=fmt)
        got = pixels_of(load_ico(buf.getvalue(), max_pixels=MAX))
        assert np.array_equal(got, want), fmt


def test_save_ico_round_trip(chelsea: U8) -> None:
    rgba = np.dstack([downscale(chelsea, 40, 30), alpha_for(np.zeros((30, 40, 3), np.uint8))])
    data = save_ico(pyvips.Image.new_from_array(rgba, interpretation="srgb"))
    assert is_ico(data)
    assert struct.unpack_from("<HHHBBBBHHII", data) == (0, 1, 1, 40, 30, 0, 0, 1, 32, len(data) - 22, 22)
    assert data[22:30] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(pixels_of(load_ico(data, max_pixels=MAX)), rgba)

    rgb = downscale(chelsea, 256, 256)
    data = save_ico(pyvips.Image.new_from_array(rgb, interpretation="srgb"))
    assert data[6:8] == b"\x00\x00" and data[12] == 24
    assert np.array_equal(pixels_of(load_ico(data, max_pixels=MAX)), rgb)
    if PILImage is not None:
        with PILImage.open(io.BytesIO(data)) as im:
            assert im.size == (256, 256)

    with pytest.raises(ValueError, match="256"):
        save_ico(pyvips.Image.black(257, 10))


def _png_file(path: Path) -> U8:
    image = pyvips.Image.new_from_file(str(path))
    if image.bands < 3:
        image = image.colourspace("srgb")
    return pixels_of(image.copy(interpretation="srgb")).copy()


def test_real_world_files() -> None:
    # Written by other encoders (see PROVENANCE.md): a V5 bit-field BMP with alpha and an
    # ImageMagick ICO with 32-bit DIB entries and a 256-pixel PNG entry.
    bmp = pixels_of(load_bmp((ASSETS / "python.bmp").read_bytes(), max_pixels=MAX))
    assert np.array_equal(bmp, _png_file(ASSETS / "python.png"))

    ico = (ASSETS / "idle.ico").read_bytes()
    got = load_ico(ico, max_pixels=MAX)
    assert (got.width, got.height, got.bands) == (256, 256, 4)
    # Hide the PNG entry (count 4 -> 3): the 48-pixel DIB is then the largest.
    assert struct.unpack_from("<H", ico, 4)[0] == 4 and ico[6 + 48 : 6 + 50] == b"\x00\x00"
    without_png = ico[:4] + struct.pack("<H", 3) + ico[6:]
    dib = pixels_of(load_ico(without_png, max_pixels=MAX))
    assert np.array_equal(dib, _png_file(ASSETS / "idle_48.png"))


def test_sniffing() -> None:
    assert is_bmp(b"BM" + bytes(30))
    assert not is_bmp(b"BM")
    assert not is_bmp(b"\x89PNG\r\n\x1a\n" + bytes(30))
    assert is_ico(b"\x00\x00\x01\x00\x01\x00")
    assert not is_ico(b"\x00\x00\x01\x00\x00\x00")  # no images
    assert not is_ico(b"\x00\x00\x02\x00\x01\x00")  # cursor
    assert not is_ico(b"\x00\x01\x01\x00\x01\x00")
