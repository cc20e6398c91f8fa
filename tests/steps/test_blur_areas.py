"""``blur_areas``: detail inside each area goes, outside it stays (to the pixel); the areas are
fractions of the displayed source, whatever its EXIF orientation, and turn with ``rot``/``fl``."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from imgproxy_py.imaging.steps.blur_areas import blur_areas, stored_area
from imgproxy_py.imaging.steps.rotate_and_flip import rotate_and_flip
from imgproxy_py.imaging.steps.scale import scale
from imgproxy_py.options.values_sharpness import BlurArea
from tests.sharpness_support import detail, photo
from tests.steps.support import array, context, noise

INNER = (40, 40, 48, 48)  # of 128x128: the middle of the area 0.25:0.25:0.5:0.5, off its edges


def test_inside_blurred_outside_kept() -> None:
    source = photo()
    c = context(source, "ba:4:0.25:0.25:0.5:0.5")
    blur_areas(c)
    assert detail(c.img, INNER) < 0.2 * detail(source, INNER)
    after, before = array(c.img), array(source)
    outside = np.ones((128, 128), dtype=bool)
    outside[32:96, 32:96] = False
    assert np.array_equal(after[outside], before[outside])
    assert not np.array_equal(after[32:96, 32:96], before[32:96, 32:96])


def test_several_areas() -> None:
    source = noise(100, 100)
    c = context(source, "ba:3:0:0:0.2:0.2:0.8:0.8:0.2:0.2")
    blur_areas(c)
    for box in ((2, 2, 16, 16), (82, 82, 16, 16)):
        assert detail(c.img, box) < 0.2 * detail(source, box)
    assert detail(c.img, (30, 30, 40, 40)) == detail(source, (30, 30, 40, 40))


@pytest.mark.parametrize("url_options", ["ba:0:0:0:1:1", "ba:5", "ba:5:0.5:0.5:0:0.5"])
def test_nothing_to_blur(url_options: str) -> None:
    source = noise(40, 40)
    c = context(source, url_options)
    blur_areas(c)
    assert np.array_equal(array(c.img), array(source))


def test_sigma_is_in_result_pixels() -> None:
    # Downscaled 4 times afterwards: the blur at the source's size is 4 times wider, so that the
    # result is as blurred as sigma says; a sigma-wide blur at the source's size would vanish.
    source = noise(400, 400)
    c = context(source, "ba:2:0:0:1:0.5/w:100")
    blur_areas(c)
    scale(c)
    top, bottom = detail(c.img, (5, 5, 90, 40)), detail(c.img, (5, 55, 90, 40))
    assert top < 0.1 * bottom


def _oriented(img: pyvips.Image, orientation: int) -> pyvips.Image:
    out = img.copy()
    out.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    return out


@pytest.mark.parametrize(
    ("orientation", "url_options"),
    [(1, ""), (6, ""), (8, ""), (3, ""), (2, ""), (5, ""), (1, "/rot:90"), (6, "/rot:270/fl:1:1")],
)
def test_areas_are_in_the_displayed_image(orientation: int, url_options: str) -> None:
    # The top-left quarter as displayed (after EXIF rotation) is blurred; with rot and fl, the
    # blurred quarter moves as the image turns.
    source = _oriented(noise(120, 80), orientation)
    c = context(source, f"ba:3:0:0:0.5:0.5{url_options}")
    blur_areas(c)
    rotate_and_flip(c)
    shown = c.img
    half_w, half_h = shown.width // 2, shown.height // 2
    quarters = {(qx, qy): detail(shown, (qx * half_w + 4, qy * half_h + 4, half_w - 8, half_h - 8))
                for qx in (0, 1) for qy in (0, 1)}
    blurred = min(quarters, key=lambda q: quarters[q])
    expected = {"": (0, 0), "/rot:90": (1, 0), "/rot:270/fl:1:1": (1, 0)}[url_options]
    assert blurred == expected
    assert sorted(quarters.values())[1] > 5 * quarters[blurred]


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
@pytest.mark.parametrize("flip", [False, True])
def test_stored_area_keeps_the_size(angle: int, flip: bool) -> None:
    area = stored_area(BlurArea(0.1, 0.2, 0.3, 0.4), angle, flip)
    assert sorted((area.width, area.height)) == [0.3, 0.4]
    assert 0 <= area.left <= 1 - area.width + 1e-9 and 0 <= area.top <= 1 - area.height + 1e-9


def test_alpha_is_left_alone() -> None:
    source = noise(60, 60).bandjoin(noise(60, 60, seed=2).extract_band(0))
    c = context(source, "ba:5:0:0:1:1")
    blur_areas(c)
    assert np.array_equal(array(c.img)[..., 3], array(source)[..., 3])
    assert detail(c.img) < 0.2 * detail(source)
