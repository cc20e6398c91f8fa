"""PNG saving: palette sources stay palette, photos stay full colour, quantisation on request."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import pyvips

from imgproxy_py.optimize import PngSpec, palette_bits_of, png_save_options
from imgproxy_py.optimize.png import bits_for_colours, count_colours

ASSETS = Path(__file__).resolve().parent / "assets" / "optimize"


def load(name: str) -> pyvips.Image:
    return pyvips.Image.new_from_file(str(ASSETS / name))


def photo() -> pyvips.Image:
    from skimage import data

    return pyvips.Image.new_from_array(data.coffee()[::2, ::2].copy()).copy(interpretation="srgb")


def save(image: pyvips.Image, options: dict[str, object]) -> bytes:
    return bytes(image.pngsave_buffer(keep="none", **options))


def visible_pixels(image: pyvips.Image) -> npt.NDArray[np.uint8]:
    """RGBA pixels with every fully transparent pixel set to 0: their colour cannot be seen."""
    pixels = image.numpy()
    if image.bands == 3:
        pixels = np.dstack([pixels, np.full(pixels.shape[:2], 255, np.uint8)])
    pixels = pixels.copy()
    pixels[pixels[:, :, 3] == 0] = 0
    return pixels


def is_palette_png(data: bytes) -> bool:
    return data[25] == 3  # IHDR colour type 3: indexed


def png_bit_depth(data: bytes) -> int:
    return data[24]


@pytest.mark.parametrize("name", ["pil123p.png", "p_trns_single.png"])
def test_palette_bits_of_pillow_palette_pngs(name: str) -> None:
    image = load(name)
    assert image.get("palette") == 1  # the metadata palette_bits_of reads
    assert palette_bits_of(image) == 8


def test_palette_bits_of_small_palettes_and_full_colour() -> None:
    two_colours = pyvips.Image.black(32, 32).new_from_image([200, 40, 10]).cast("uchar").copy(
        interpretation="srgb")
    two_colours = two_colours.insert((pyvips.Image.black(8, 8, bands=3) + 255).cast("uchar"), 4, 4)
    reloaded = pyvips.Image.new_from_buffer(two_colours.pngsave_buffer(palette=True, bitdepth=2), "")
    assert palette_bits_of(reloaded) == 2
    assert palette_bits_of(pyvips.Image.new_from_buffer(photo().pngsave_buffer(), "")) is None
    grey_1bit = pyvips.Image.new_from_buffer(
        (pyvips.Image.black(16, 16) + 255).cast("uchar").pngsave_buffer(bitdepth=1), "")
    assert palette_bits_of(grey_1bit) == 1
    assert palette_bits_of(pyvips.Image.new_from_buffer(photo().jpegsave_buffer(), "")) is None


@pytest.mark.parametrize(("name", "colours"), [("pil123p.png", 251), ("p_trns_single.png", 222)])
def test_palette_source_stays_palette_with_exact_colours(name: str, colours: int) -> None:
    image = load(name)
    assert count_colours(image, limit=256) == colours  # all fully transparent pixels count as one
    options = png_save_options(image, PngSpec(), source_palette_bits=palette_bits_of(image))
    assert options["palette"] is True and options["bitdepth"] == 8 and options["dither"] == 0.0
    data = save(image, options)
    assert is_palette_png(data) and png_bit_depth(data) == 8
    reloaded = pyvips.Image.new_from_buffer(data, "")
    assert reloaded.get("palette") == 1
    assert np.array_equal(visible_pixels(reloaded), visible_pixels(image))


@pytest.mark.parametrize("name", ["pil123p.png", "p_trns_single.png"])
def test_palette_png_is_no_larger_than_full_colour(name: str) -> None:
    image = load(name)
    palette = save(image, png_save_options(image, PngSpec(), source_palette_bits=8))
    full = save(image, png_save_options(image, PngSpec(), source_palette_bits=None))
    assert not is_palette_png(full)
    assert len(palette) <= len(full)
    assert len(palette) < (ASSETS / name).stat().st_size


@pytest.mark.parametrize(("keep", "bits"), [(2, 1), (4, 2), (12, 4), (40, 8)])
def test_smallest_bit_depth_holding_the_colours(keep: int, bits: int) -> None:
    # A crop of a Pillow palette image reduced to ``keep`` of its colours, as a palette source.
    image = load("pil123p.png")
    pixels = image.numpy().copy()
    packed = pixels.astype(np.uint32) @ np.array([1 << 24, 1 << 16, 1 << 8, 1], dtype=np.uint32)
    values, counts = np.unique(packed[pixels[:, :, 3] > 0], return_counts=True)
    common = values[np.argsort(counts)[::-1][:keep]]
    pixels[~np.isin(packed, common)] = pixels[np.isin(packed, common)][0]
    reduced = pyvips.Image.new_from_array(pixels).copy(interpretation="srgb")
    options = png_save_options(reduced, PngSpec(), source_palette_bits=8)
    assert options["bitdepth"] == bits
    data = save(reduced, options)
    assert is_palette_png(data) and png_bit_depth(data) == bits
    assert np.array_equal(visible_pixels(pyvips.Image.new_from_buffer(data, "")), visible_pixels(reduced))
    full = save(reduced, png_save_options(reduced, PngSpec(), source_palette_bits=None))
    assert len(data) <= len(full)


def test_photo_stays_full_colour_unless_quantize_is_asked() -> None:
    image = photo()
    options = png_save_options(image, PngSpec(), source_palette_bits=None)
    assert "palette" not in options
    data = save(image, options)
    assert not is_palette_png(data)
    reloaded = pyvips.Image.new_from_buffer(data, "")
    assert "palette" not in reloaded.get_fields() and reloaded.interpretation == "srgb"
    assert np.array_equal(reloaded.numpy(), image.numpy())


def test_quantize_with_16_colours() -> None:
    image = photo()
    options = png_save_options(image, PngSpec(quantize=True, colors=16), source_palette_bits=None)
    assert options["bitdepth"] == 4
    data = save(image, options)
    assert is_palette_png(data) and png_bit_depth(data) == 4
    reloaded = pyvips.Image.new_from_buffer(data, "")
    assert count_colours(reloaded, limit=256) <= 16
    assert len(data) < len(save(image, png_save_options(image, PngSpec(), source_palette_bits=None)))


def test_interlace_option_is_passed() -> None:
    image = photo()
    data = save(image, png_save_options(image, PngSpec(interlaced=True), source_palette_bits=None))
    assert data[28] == 1  # IHDR interlace method: Adam7


def test_bits_for_colours() -> None:
    assert [bits_for_colours(n) for n in (1, 2, 3, 4, 5, 16, 17, 256)] == [1, 1, 2, 2, 4, 4, 8, 8]


def test_count_colours_stops_above_the_limit() -> None:
    assert count_colours(photo(), limit=256) == 257


def test_count_colours_reads_a_huge_image_in_strips() -> None:
    """A palette source padded to hundreds of megapixels once made this allocate 8 bytes a
    sample for the whole image at once (a MemoryError, a 500); strips keep it to a few MB."""
    import tracemalloc

    image = pyvips.Image.black(8000, 4000, bands=4).draw_rect([255, 0, 0, 255], 100, 100, 50, 50, fill=True)
    tracemalloc.start()
    try:
        assert count_colours(image, limit=256) == 2
        assert tracemalloc.get_traced_memory()[1] < 32 << 20  # the whole image as uint64: 1 GB
    finally:
        tracemalloc.stop()


def test_count_colours_checks_the_deadline_between_strips() -> None:
    calls: list[int] = []

    def check() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise TimeoutError

    with pytest.raises(TimeoutError):
        count_colours(pyvips.Image.black(4000, 4000, bands=3), limit=256, check_deadline=check)


@pytest.mark.parametrize("bands", [1, 2, 3, 4])
def test_count_colours_of_one_pixel(bands: int) -> None:
    """pyvips gives a 1x1 one-band image's pixels as an array without axes."""
    assert count_colours(pyvips.Image.black(1, 1, bands=bands).cast("uchar") + 7, limit=256) == 1
