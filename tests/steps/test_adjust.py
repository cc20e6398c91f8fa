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
