"""The advanced smart crop's feature map and windows (``imaging.smart_crop``), on drawn
images whose subject is known and on the demo photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyvips
from hypothesis import given, settings
from hypothesis import strategies as st

from imgproxy_py.config import read_config
from imgproxy_py.imaging.smart_crop import SmartCropMode, feature_map, smart_window
from tests.conftest import rgb_image

DEMO = Path(__file__).resolve().parents[1] / "imgproxy_py" / "demo"


def textured_with_a_cup(width: int = 400, height: int = 200, cup_x: int = 320) -> pyvips.Image:
    """Fine grain everywhere (as wood or fur) and one distinct round thing: a red disc in a
    white ring of radius 30 centred at (cup_x, height / 2)."""
    rng = np.random.default_rng(7)
    grain = (128 + rng.integers(-40, 40, size=(height, width, 1))).repeat(3, axis=2)
    ys, xs = np.mgrid[0:height, 0:width]
    distance = np.hypot(xs - cup_x, ys - height / 2)
    grain[distance < 30] = (245, 245, 240)
    grain[distance < 22] = (170, 30, 20)
    return rgb_image(grain)


@pytest.mark.parametrize("mode", list(SmartCropMode))
@pytest.mark.parametrize("cup_x", [60, 200, 320])
def test_the_window_holds_the_distinct_thing_not_the_grain(mode: SmartCropMode, cup_x: int) -> None:
    left, top = smart_window(textured_with_a_cup(cup_x=cup_x), 100, 200, mode)
    assert top == 0
    assert left <= cup_x - 30 and cup_x + 30 <= left + 100, (left, cup_x)


def test_the_map_scores_the_thing_above_the_grain() -> None:
    scores, scale = feature_map(textured_with_a_cup())
    assert scale == pytest.approx((128 / 400, 64 / 200))
    assert scores.shape == (64, 128)
    cup = scores[:, 92:114].mean()  # x 288-352 in map pixels
    grain = scores[:, :60].mean()
    assert cup > 4 * grain, (cup, grain)


@pytest.mark.parametrize("mode", list(SmartCropMode))
@pytest.mark.parametrize(("size", "window"), [((300, 200), (100, 100)), ((3, 20000), (3, 10000)),
                                              ((20000, 3), (10000, 3))])
def test_a_flat_image_is_cut_in_the_middle(mode: SmartCropMode, size: tuple[int, int],
                                           window: tuple[int, int]) -> None:
    """Also a long thin one, whose map is a pixel wide and scaled differently along each side."""
    flat = pyvips.Image.black(*size, bands=3).new_from_image([90, 120, 150]).copy(interpretation="srgb")
    left, top = smart_window(flat, *window, mode)
    centred = ((size[0] - window[0]) / 2, (size[1] - window[1]) / 2)
    # within the map's rounding: a map pixel is 1/128 of the longer side
    slack = max(size) / 128
    assert abs(left - centred[0]) <= slack and abs(top - centred[1]) <= slack, (left, top)


def test_the_demo_portrait_keeps_her_face() -> None:
    """astronaut.jpg cut square at 60%: libvips' attention keeps the bright helmet under her arm
    at the bottom left; the face is at about x 165-290, y 20-200 of 512x512. The centre of mass
    is pulled down by the badges on her suit, but stays on the face."""
    portrait = pyvips.Image.new_from_file(str(DEMO / "astronaut.jpg"))
    left, top = smart_window(portrait, 307, 307, SmartCropMode.MAX_SCORE_AREA)
    assert left <= 165 and left + 307 >= 290 and top <= 20 and top + 307 >= 200, (left, top)
    left, top = smart_window(portrait, 307, 307, SmartCropMode.CENTER_OF_MASS)
    assert left <= 228 <= left + 307 and top <= 110 <= top + 307, (left, top)


def test_the_demo_cup_is_kept_whole_in_a_tall_strip() -> None:
    """coffee.jpg (600x400): the cup's rim spans about x 175-410; a 200 px strip must hold
    the middle of it, not the wood grain either side."""
    coffee = pyvips.Image.new_from_file(str(DEMO / "coffee.jpg"))
    left, top = smart_window(coffee, 200, 400, SmartCropMode.MAX_SCORE_AREA)
    assert top == 0 and 170 <= left <= 230, left


@settings(max_examples=60, deadline=None)
@given(width=st.integers(1, 200), height=st.integers(1, 200), crop_w=st.integers(1, 250), crop_h=st.integers(1, 250),
       bands=st.sampled_from([1, 2, 3, 4]), sixteen_bit=st.booleans(), seed=st.integers(0, 2**16),
       mode=st.sampled_from(list(SmartCropMode)), multiband=st.booleans())
def test_any_image_gets_a_window_inside_it(width: int, height: int, crop_w: int, crop_h: int, bands: int,
                                           sixteen_bit: bool, seed: int, mode: SmartCropMode,
                                           multiband: bool) -> None:
    rng = np.random.default_rng(seed)
    top_value = 65535 if sixteen_bit else 255
    pixels = rng.integers(0, top_value, size=(height, width, bands), dtype=np.uint16 if sixteen_bit else np.uint8)
    img = pyvips.Image.new_from_memory(pixels.tobytes(), width, height, bands, "ushort" if sixteen_bit else "uchar")
    img = img.copy(interpretation="multiband" if multiband else ("rgb16" if sixteen_bit else "srgb") if bands >= 3
                   else ("grey16" if sixteen_bit else "b-w"))
    left, top = smart_window(img, crop_w, crop_h, mode)
    assert 0 <= left <= max(0, width - crop_w) and 0 <= top <= max(0, height - crop_h)


def test_the_settings_are_read_and_checked_at_start_up() -> None:
    config, problems = read_config({"IMGPROXY_SMART_CROP_ADVANCED": "true",
                                    "IMGPROXY_SMART_CROP_ADVANCED_MODE": "center_of_mass"})
    assert not problems
    assert config is not None and config.processing.smart_crop_advanced is SmartCropMode.CENTER_OF_MASS
    config, _ = read_config({"IMGPROXY_SMART_CROP_ADVANCED_MODE": "center_of_mass"})
    assert config is not None and config.processing.smart_crop_advanced is None  # off: libvips' attention
    _, problems = read_config({"IMGPROXY_SMART_CROP_ADVANCED_MODE": "biggest"})
    assert any("IMGPROXY_SMART_CROP_ADVANCED_MODE" in p and "max_score_area" in p for p in problems), problems
