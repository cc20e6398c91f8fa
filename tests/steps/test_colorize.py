"""``colorize``: a colour layer over the result: colours move toward it by the opacity; without
``keep_alpha`` transparent areas take it, with it alpha stays."""

from __future__ import annotations

import numpy as np
import pytest

from imgproxy_py.imaging.steps.colorize import colorize
from tests.steps.support import array, context, coordinates, noise, solid


@pytest.mark.parametrize(("opacity", "color", "rgb"), [(0.3, "ff0000", (255, 0, 0)), (1, "000", (0, 0, 0)),
                                                       (0.5, "2040ff", (32, 64, 255))])
def test_colours_move_toward_the_colour_by_the_opacity(opacity: float, color: str, rgb: tuple[int, ...]) -> None:
    source = noise(64, 48)
    c = context(source, f"col:{opacity}:{color}")
    colorize(c)
    expected = array(source).astype(float) * (1 - opacity) + np.array(rgb) * opacity
    assert np.abs(array(c.img).astype(float) - expected).max() <= 1


def test_default_colour_is_black() -> None:
    c = context(solid(4, 4, (200, 100, 50)), "col:0.5")
    colorize(c)
    assert list(array(c.img)[0, 0]) == [100, 50, 25]


def test_transparent_areas_take_the_layer() -> None:
    c = context(solid(4, 4, (10, 20, 30, 0)), "col:0.4:00ff00")
    colorize(c)
    r, g, b, a = array(c.img)[0, 0]
    assert (r, g, b) == (0, 255, 0) and abs(int(a) - 102) <= 1


def test_keep_alpha() -> None:
    source = noise(64, 48).bandjoin(coordinates(64, 48).extract_band(0))
    c = context(source, "col:0.5:fff:1")
    colorize(c)
    after, before = array(c.img).astype(float), array(source).astype(float)
    assert np.array_equal(after[..., 3], before[..., 3])
    assert np.abs(after[..., :3] - (before[..., :3] + 255) / 2).max() <= 1


def test_off() -> None:
    image = coordinates(16, 16)
    c = context(image, "col:0:ff0000")
    colorize(c)
    assert c.img is image
