"""``imaging/attention.py`` finds the window libvips' ``smartcrop(interesting="attention")`` cuts,
on real photos and on every pixel format and band layout the pipeline can crop."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import pyvips
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgproxy_py.imaging.attention import attention_point, attention_window
from imgproxy_py.imaging.steps.crop import crop
from tests.steps.support import context, face

ROOT = Path(__file__).resolve().parents[1]
PICTURES = (
    ROOT / "imgproxy_py/demo/astronaut.jpg",  # a face, a bright helmet, a flag
    ROOT / "imgproxy_py/demo/chelsea.jpg",
    ROOT / "imgproxy_py/demo/coffee.jpg",
    ROOT / "tests/assets/core/hopper.jpg",
    ROOT / "tests/assets/core/p_trns_single.png",  # transparency
    ROOT / "tests/assets/imgproxy/orientation-5.png",  # RGBA with transparent areas
    ROOT / "tests/assets/core/16bit.deflate.tif",  # 16-bit
    ROOT / "tests/assets/bmp_ico/python.png",  # alpha with coloured transparent pixels
)
# What a crop step can be handed: the loader's formats, and what the colour steps make of them.
LAYOUTS = ("as_loaded", "grey", "grey_alpha", "rgb16", "float", "double", "no_alpha")


@functools.cache
def _picture(index: int) -> pyvips.Image:
    return pyvips.Image.thumbnail(str(PICTURES[index]), 900, height=900).copy_memory()


def _layout(img: pyvips.Image, layout: str) -> pyvips.Image:
    if layout == "grey":
        return img.colourspace("b-w").extract_band(0)
    if layout == "grey_alpha":
        grey = img.colourspace("b-w").extract_band(0)
        return grey.bandjoin(img.extract_band(img.bands - 1) if img.hasalpha() else 255).copy(interpretation="b-w")
    if layout == "rgb16":
        return img.colourspace("rgb16")
    if layout in ("float", "double"):
        return img.cast(layout)
    if layout == "no_alpha" and img.hasalpha():
        return img.extract_band(0, n=img.bands - 1)
    return img


def _libvips_window(img: pyvips.Image, width: int, height: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """libvips' own attention point and the left/top of the window its smartcrop cuts."""
    cut, found = img.smartcrop(width, height, interesting="attention", attention_x=True, attention_y=True)
    point = (found["attention_x"], found["attention_y"])
    window = (min(max(0, point[0] - width // 2), img.width - width), min(max(0, point[1] - height // 2),
                                                                          img.height - height))
    # The window derived here is what libvips cut: its pixels are the crop's.
    assert cut.avg() == img.crop(*window, width, height).avg()
    return point, window


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(picture=st.integers(0, len(PICTURES) - 1), layout=st.sampled_from(LAYOUTS),
       size=st.tuples(st.integers(1, 900), st.integers(1, 900)),
       window=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)))
def test_same_window_as_libvips(picture: int, layout: str, size: tuple[int, int],
                                window: tuple[float, float]) -> None:
    img = _layout(pyvips.Image.thumbnail_image(_picture(picture), size[0], height=size[1], size="force"), layout)
    img = img.copy_memory()
    width, height = max(1, round(window[0] * img.width)), max(1, round(window[1] * img.height))
    point, left_top = _libvips_window(img, width, height)
    assert attention_point(img, width, height) == point
    assert attention_window(img, width, height) == left_top


def test_plain_colour_takes_the_top_left() -> None:
    """Every score equal: libvips' maximum scan keeps the first pixel, so does ours."""
    img = (pyvips.Image.black(400, 300) + [200, 10, 10]).cast("uchar").copy(interpretation="srgb")
    assert attention_window(img, 100, 100) == _libvips_window(img, 100, 100)[1] == (0, 0)


def test_astronaut_square_is_libvips_choice() -> None:
    """The cut the plain ``g:sm`` is known for on the demo portrait: the bright helmet under her
    arm, not the face (what the advanced smart crop changes, ``test_smart_crop.py``)."""
    img = pyvips.Image.new_from_file(str(PICTURES[0]))
    left, top = attention_window(img, 300, 300)
    assert (left, top) == _libvips_window(img, 300, 300)[1]
    assert top > 150  # below the face, which is in the top third


def test_smart_crop_step_keeps_detections_in_the_window() -> None:
    """The smart crop now knows where it cut, so detections move with the image as in every other
    crop (a later draw or blur of detections needs no second inference)."""
    img = _picture(0)
    c = context(img, "c:300:300:sm")
    window = _libvips_window(img, 300, 300)[1]
    inside = face(window[0] + 20, window[1] + 30, 50, 60)
    outside = face(window[0] + 400, window[1] + 400, 30, 30, "far")
    c.detections = (inside, outside)
    crop(c)
    assert (c.img.width, c.img.height) == (300, 300) and not c.full_view
    assert c.img.avg() == img.crop(*window, 300, 300).avg()
    assert c.detections is not None and len(c.detections) == 1
    moved = c.detections[0]
    assert (moved.left, moved.top, moved.width, moved.height) == (20, 30, 50, 60)


@pytest.mark.parametrize("bands", [2, 5])
def test_layouts_libvips_cannot_measure_fail_alike(bands: int) -> None:
    """A multiband image with no colour meaning: libvips' colour conversion refuses it in both."""
    img = pyvips.Image.black(64, 64, bands=bands).copy(interpretation="multiband")
    outcomes = []
    for measure in (lambda: attention_window(img, 32, 32), lambda: _libvips_window(img, 32, 32)[1]):
        try:
            outcomes.append(measure())
        except pyvips.Error:
            outcomes.append("error")
    assert outcomes[0] == outcomes[1]
