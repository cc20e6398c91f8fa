"""``adjust``: brightness moves every colour channel by the same amount, clipped; alpha stays."""

from __future__ import annotations

import numpy as np
import pytest

from imgproxy_py.imaging.steps.adjust import adjust
from tests.steps.support import array, context, coordinates, noise


@pytest.mark.parametrize("brightness", [-255, -40, 1, 40, 255])
def test_brightness_shifts_and_clips(brightness: int) -> None:
    source = noise(64, 48)
    c = context(source, f"br:{brightness}")
    adjust(c)
    before, after = array(source).astype(int), array(c.img).astype(int)
    assert after.shape == before.shape
    assert np.array_equal(after, np.clip(before + brightness, 0, 255))


def test_alpha_is_left_alone() -> None:
    source = noise(64, 48).bandjoin(coordinates(64, 48).extract_band(0))
    c = context(source, "br:60")
    adjust(c)
    before, after = array(source).astype(int), array(c.img).astype(int)
    assert np.array_equal(after[:, :, 3], before[:, :, 3])
    assert np.array_equal(after[:, :, :3], np.clip(before[:, :, :3] + 60, 0, 255))


def test_sixteen_bit_keeps_its_depth() -> None:
    source = (noise(32, 16).cast("ushort") * 256).cast("ushort")
    c = context(source.copy(interpretation="rgb16"), "br:255")
    adjust(c)
    assert c.img.format == "ushort" and c.img.max() == 65535


@pytest.mark.parametrize("url_options", ["", "br:0"])
def test_off(url_options: str) -> None:
    image = coordinates(64, 48)
    c = context(image, url_options)
    adjust(c)
    assert c.img is image


def _luma(pixels: np.ndarray) -> np.ndarray:
    return pixels[..., :3].astype(float) @ [0.2126, 0.7152, 0.0722]


@pytest.mark.parametrize("contrast", [0.0, 0.5, 1.5, 3.0])
def test_contrast_scales_the_distance_from_mid_grey(contrast: float) -> None:
    source = noise(64, 48)
    c = context(source, f"co:{contrast}")
    adjust(c)
    before, after = array(source).astype(float), array(c.img).astype(int)
    assert np.abs(after - np.clip(np.rint((before - 127.5) * contrast + 127.5), 0, 255)).max() <= 1
    spread_before, spread_after = _luma(before).std(), _luma(after).std()
    assert (spread_after > spread_before) == (contrast > 1)


@pytest.mark.parametrize("saturation", [0.0, 0.5, 2.0])
def test_saturation_scales_the_distance_from_grey(saturation: float) -> None:
    source = noise(64, 48)
    c = context(source, f"sa:{saturation}")
    adjust(c)
    before, after = array(source).astype(float), array(c.img).astype(float)
    chroma_before, chroma_after = np.ptp(before, axis=2).mean(), np.ptp(after, axis=2).mean()
    if saturation == 0:
        assert chroma_after <= 1  # one grey per pixel (rounding apart)
        assert np.abs(after[..., 0] - _luma(before)).max() <= 1
    else:
        assert (chroma_after > chroma_before) == (saturation > 1)


def test_adjust_sets_all_three_in_order() -> None:
    source = noise(32, 16)
    together = context(source, "a:20:1.5:0.5")
    adjust(together)
    one_by_one = context(source, "br:20/co:1.5/sa:0.5")
    adjust(one_by_one)
    assert np.array_equal(array(together.img), array(one_by_one.img))


def test_contrast_and_saturation_leave_alpha() -> None:
    source = noise(64, 48).bandjoin(coordinates(64, 48).extract_band(0))
    c = context(source, "co:2/sa:0")
    adjust(c)
    assert np.array_equal(array(c.img)[:, :, 3], array(source)[:, :, 3])


@pytest.mark.parametrize("url_options", ["co:1", "sa:1", "a:0:1:1", "a:::"])
def test_neutral_values_are_off(url_options: str) -> None:
    image = coordinates(64, 48)
    c = context(image, url_options)
    adjust(c)
    assert c.img is image
