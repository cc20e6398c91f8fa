"""``tone``: monochrome maps grey through black-colour-white, duotone through color1-color2,
each blended in by its intensity; alpha stays."""

from __future__ import annotations

import numpy as np
import pytest

from imgproxy_py.imaging.steps.tone import tone
from tests.steps.support import array, context, coordinates, noise, solid


def luma(pixels: np.ndarray) -> np.ndarray:
    return pixels[..., :3].astype(float) @ [0.2126, 0.7152, 0.0722]


def test_default_monochrome_is_plain_grey_of_the_same_lightness() -> None:
    source = noise(64, 48)
    c = context(source, "mc:1")
    tone(c)
    after = array(c.img).astype(int)
    assert np.ptp(after, axis=2).max() == 0  # equal channels
    assert np.abs(after[..., 0] - luma(array(source))).max() <= 1.5


def test_monochrome_is_tinted_by_its_colour() -> None:
    c = context(solid(8, 8, (90, 90, 90)), "mc:1:ff8000")
    tone(c)
    r, g, b = array(c.img)[0, 0].astype(int)
    assert r > g > b  # orange
    assert abs(luma(np.array([r, g, b])) - 90) < 2  # as light as the source


def test_monochrome_intensity_blends() -> None:
    source = noise(32, 16)
    full, half = context(source, "mc:1"), context(source, "mc:0.5")
    tone(full)
    tone(half)
    expected = (array(source).astype(float) + array(full.img).astype(float)) / 2
    assert np.abs(array(half.img).astype(float) - expected).max() <= 1.5


def test_duotone_maps_dark_and_light_to_its_colours() -> None:
    ramp = coordinates(256, 4)  # red 0-255 along x, green and blue 0
    c = context(ramp.extract_band(0).bandjoin([ramp.extract_band(0)] * 2).copy(interpretation="srgb"),
                "dt:1:1d3557:f1faee")
    tone(c)
    out = array(c.img).astype(int)
    assert list(out[0, 0]) == [0x1D, 0x35, 0x57]
    assert list(out[0, 255]) == [0xF1, 0xFA, 0xEE]
    mid = out[0, 128]
    assert all(min(a, b) <= v <= max(a, b) for v, a, b in zip(mid, (0x1D, 0x35, 0x57), (0xF1, 0xFA, 0xEE),
                                                              strict=True))


def test_alpha_stays() -> None:
    source = noise(64, 48).bandjoin(coordinates(64, 48).extract_band(0))
    c = context(source, "dt:0.7:f00:00f/mc:1")
    tone(c)
    assert np.array_equal(array(c.img)[:, :, 3], array(source)[:, :, 3])


@pytest.mark.parametrize("url_options", ["", "mc:0", "dt:0:f00:00f"])
def test_off(url_options: str) -> None:
    image = coordinates(64, 48)
    c = context(image, url_options)
    tone(c)
    assert c.img is image
