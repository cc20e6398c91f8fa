"""``unsharp_masking``: when it runs (mode, downscaling, ``sharpen``) and what it does (more
high-frequency energy, flat areas and alpha untouched, stronger with weight, weaker with divider)."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from imgproxy_py.imaging.context import Context, ProcessingSettings
from imgproxy_py.imaging.steps.scale import scale
from imgproxy_py.imaging.steps.unsharp_masking import _fits_16_bits, sharpened, unsharp_mask, unsharp_masking
from imgproxy_py.imaging.unsharp_config import UnsharpMaskingConfig
from imgproxy_py.options.values_sharpness import UnsharpMaskingMode
from tests.sharpness_support import detail, photo
from tests.steps.support import array, coordinates, solid
from tests.steps.support import context as make_context


def scaled(url_options: str, settings: ProcessingSettings | None = None) -> Context:
    c = make_context(photo(), url_options, settings=settings)
    scale(c)
    return c


@pytest.mark.parametrize(
    ("url_options", "sharpened"),
    [
        ("w:64", True),  # auto: downscaled
        ("c:100:100/w:50", True),
        ("w:64/sh:0.5", False),  # auto: sharpen set
        ("", False),  # auto: not scaled
        ("w:256/el:1", False),  # auto: enlarged
        ("c:64:64", False),  # auto: cropped, not scaled
        ("w:64/ush:none", False),
        ("ush:always", True),
        ("w:256/el:1/ush:always", True),
        ("w:64/sh:0.5/ush:always", True),
    ],
)
def test_when_it_runs(url_options: str, sharpened: bool) -> None:
    c = scaled(url_options)
    before = c.img
    unsharp_masking(c)
    assert (c.img is not before) == sharpened
    if sharpened:
        assert detail(c.img) > 1.2 * detail(before)
        assert (c.img.width, c.img.height, c.img.bands) == (before.width, before.height, before.bands)


def test_settings_give_the_default_and_the_url_overrides_them() -> None:
    off = ProcessingSettings(unsharp_masking=UnsharpMaskingConfig(mode=UnsharpMaskingMode.NONE))
    c = scaled("w:64", off)
    before = c.img
    unsharp_masking(c)
    assert c.img is before
    c = scaled("w:64/ush:always", off)
    unsharp_masking(c)
    assert c.img is not before


def test_weight_and_divider_set_the_strength() -> None:
    energies: dict[str, float] = {}
    for args in ("1:24", "2:24", "1:8"):
        c = scaled(f"w:64/ush:always:{args}")
        unsharp_masking(c)
        energies[args] = detail(c.img)
    assert energies["1:24"] < energies["2:24"] < energies["1:8"]


def test_flat_areas_keep_their_value() -> None:
    c = make_context(solid(40, 30, (10, 128, 250)), "ush:always:3:2")
    unsharp_masking(c)
    assert np.array_equal(array(c.img), array(solid(40, 30, (10, 128, 250))))


def test_alpha_is_left_alone() -> None:
    source = coordinates(64, 48, alpha=True)
    source = source.extract_band(0, n=3).bandjoin((coordinates(64, 48).extract_band(0) * 3).cast("uchar"))
    c = make_context(source, "ush:always:2")
    unsharp_masking(c)
    assert c.img.bands == 4
    assert np.array_equal(array(c.img)[..., 3], array(source)[..., 3])


@pytest.mark.parametrize("args", ["", "always:2:8", "always:1.5:24"])
def test_result_is_the_exact_mask_within_one_level(args: str) -> None:
    """Whole-number settings take libvips' integer convolution, others the float one: both give
    the mask's exact result, rounded (ties may go either way) and clipped."""
    c = scaled(f"w:64/ush:{args}" if args else "w:64")
    source = array(c.img).astype(np.float64)
    unsharp_masking(c)
    settings = c.settings.unsharp_masking.with_args(c.po.unsharp_masking)
    w, d = settings.weight, settings.divider
    padded = np.pad(source, ((1, 1), (1, 1), (0, 0)), mode="edge")
    neighbours = sum(padded[1 + dy:padded.shape[0] - 1 + dy, 1 + dx:padded.shape[1] - 1 + dx]
                     for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
    exact = np.clip(((d + 8 * w) * source - w * neighbours) / d, 0, 255)
    got = array(c.img).astype(np.float64)
    inner = (slice(1, -1), slice(1, -1))  # libvips extends the edges its own way
    assert c.img.format == "uchar"
    assert np.abs(got[inner] - exact[inner]).max() <= 1.0


def _exact(pixels: np.ndarray, weight: int, divider: int) -> np.ndarray:
    """The mask in int64, edges extended by copying, rounded half up and clipped."""
    padded = np.pad(pixels.astype(np.int64), ((1, 1), (1, 1), (0, 0)), mode="edge")
    box = sum(padded[dy:dy + pixels.shape[0], dx:dx + pixels.shape[1]] for dy in range(3) for dx in range(3))
    total = (divider + 9 * weight) * pixels.astype(np.int64) - weight * box
    exact: np.ndarray = np.clip((total + divider // 2) // divider, 0, 255)
    return exact


@pytest.mark.parametrize(("weight", "divider"), [(1, 24), (2, 8), (3, 1), (1, 100)])
def test_whole_number_masks_are_exact(weight: int, divider: int) -> None:
    """The 16-bit path is the mask's exact result, edges included, on a real photo (one and
    three bands), and keeps the image's metadata."""
    source = photo().copy_memory()
    source.set_type(pyvips.GValue.blob_type, "icc-profile-data", b"profile bytes")
    for colour in (source, source.extract_band(1)):
        got = sharpened(colour, float(weight), float(divider))
        assert np.array_equal(array(got), _exact(array(colour), weight, divider))
        assert got.get("icc-profile-data") == b"profile bytes"


def test_default_mask_equals_libvips_integer_convolution() -> None:
    """For the default mask libvips' integer convolution takes its exact C loop: same pixels."""
    source = photo().copy_memory()
    expected = array(source.conv(unsharp_mask(1.0, 24.0), precision="integer").copy_memory())
    assert np.array_equal(array(sharpened(source, 1.0, 24.0)), expected)


def test_masks_past_16_bits_take_the_float_path() -> None:
    assert _fits_16_bits(1.0, 24.0) and not _fits_16_bits(1.5, 24.0) and not _fits_16_bits(20.0, 24.0)
    source = photo().copy_memory()
    got = array(sharpened(source, 20.0, 24.0))
    expected = array(source.conv(unsharp_mask(20.0, 24.0), precision="float").rint().clamp(min=0, max=255)
                     .cast("uchar"))
    assert np.array_equal(got, expected)


@pytest.mark.parametrize(("width", "height"), [(1, 1), (3, 70), (70, 33), (64, 64)])
def test_strips_join_at_any_height(width: int, height: int) -> None:
    """Images shorter, taller and not a multiple of the strip height, in colour and grey (a 1x1
    grey image is a NumPy array without axes to pyvips): the same as the exact mask."""
    colour = photo().resize(width / 128, vscale=height / 128).copy_memory()
    assert (colour.width, colour.height) == (width, height)
    for image in (colour, colour.extract_band(1).copy_memory()):
        assert np.array_equal(array(sharpened(image, 1.0, 24.0)), _exact(array(image), 1, 24))
