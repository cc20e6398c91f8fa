"""blur_detections, pixelate_detections and draw_detections change pixels only where they should."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
import pyvips
from skimage import data

from imgproxy_py.detection import Detection, blur_detections, draw_detections, pixelate_detections
from imgproxy_py.detection import effects as effects_module

FACE = Detection(0, "face", 0.93, 180.4, 60.2, 90.3, 119.6)
ROCKET = Detection(1, "rocket", 0.71, 360, 0, 110, 280)


def pixels(image: pyvips.Image) -> np.ndarray:
    array = np.asarray(image.numpy(), dtype=np.float64)
    return array.reshape(image.height, image.width, image.bands)


def inside_mask(image: pyvips.Image, detections: list[Detection]) -> np.ndarray:
    mask = np.zeros((image.height, image.width), dtype=bool)
    for detection in detections:
        left, top, width, height = detection.box.pixel_bounds(image.width, image.height)
        mask[top : top + height, left : left + width] = True
    return mask


@pytest.fixture(scope="module")
def astronaut() -> pyvips.Image:
    return pyvips.Image.new_from_array(data.astronaut())


Effect = Callable[[pyvips.Image, list[Detection]], pyvips.Image]
EFFECTS: dict[str, Effect] = {
    "blur": lambda image, found: blur_detections(image, found, 8.0),
    "pixelate": lambda image, found: pixelate_detections(image, found, 12),
}


@pytest.mark.parametrize("name", EFFECTS)
@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda image: image, id="srgb"),
        pytest.param(lambda image: image.bandjoin(255), id="rgba"),
        pytest.param(lambda image: image.colourspace("rgb16"), id="rgb16"),
        pytest.param(lambda image: image.colourspace("b-w"), id="grey"),
    ],
)
def test_effect_changes_only_inside_boxes(
    astronaut: pyvips.Image, name: str, convert: Callable[[pyvips.Image], pyvips.Image]
) -> None:
    source = convert(astronaut)
    found = [FACE, ROCKET]
    result = EFFECTS[name](source, found)
    assert (result.width, result.height, result.bands, result.format) == (
        source.width,
        source.height,
        source.bands,
        source.format,
    )
    diff = np.abs(pixels(result) - pixels(source)).max(axis=2)
    mask = inside_mask(source, found)
    assert diff[~mask].max() == 0
    full_scale = 65535 if source.format == "ushort" else 255
    # The face area is textured: a real blur or pixelation moves its pixels a lot on average.
    face = inside_mask(source, [FACE])
    assert diff[face].mean() > 0.02 * full_scale
    assert diff[face].max() > 0.2 * full_scale


def test_blur_reaches_the_box_edges(astronaut: pyvips.Image) -> None:
    result = pixels(blur_detections(astronaut, [FACE], 10.0))
    source = pixels(astronaut)
    left, top, _, height = FACE.box.pixel_bounds(512, 512)
    # The outermost column inside the box is blurred too, not left sharp.
    edge = np.abs(result[top : top + height, left] - source[top : top + height, left]).mean()
    assert edge > 3


def test_pixelate_makes_uniform_blocks(astronaut: pyvips.Image) -> None:
    detection = Detection(0, "face", 0.9, 100, 100, 50, 40)
    result = pixels(pixelate_detections(astronaut, [detection], 10))
    block = result[100:110, 110:120]
    assert np.all(block == block[0, 0])
    # The partial last block (rows 140..) is not part of the box and stays as it was.
    np.testing.assert_array_equal(result[140:150, 100:150], pixels(astronaut)[140:150, 100:150])


def test_effects_without_detections_return_the_image(astronaut: pyvips.Image) -> None:
    assert blur_detections(astronaut, [], 5) is astronaut
    assert pixelate_detections(astronaut, [FACE], 1) is astronaut
    assert draw_detections(astronaut, []) is astronaut
    outside = Detection(0, "face", 0.9, 600, 600, 50, 50)
    assert np.array_equal(pixels(blur_detections(astronaut, [outside], 5)), pixels(astronaut))


@pytest.mark.parametrize("background", [0, 255], ids=["black", "white"])
def test_draw_is_visible_on_dark_and_light(background: int) -> None:
    image = (pyvips.Image.black(400, 300, bands=3) + background).cast("uchar").copy(interpretation="srgb")
    box = Detection(0, "face", 0.93, 100, 120, 150, 100)
    drawn = pixels(draw_detections(image, [box]))
    changed = np.abs(drawn - background).max(axis=2) > 60
    # The box line: every side of the box has changed pixels.
    assert changed[120:220, 100].any() and changed[120:220, 249].any()
    assert changed[120, 100:250].any() and changed[219, 100:250].any()
    # Inside the box (away from the line) nothing changes.
    assert not changed[135:205, 115:235].any()
    # The label sits above the box and holds dark text on a light tag (readable on both).
    luma = drawn[90:120, 100:200] @ np.array([0.299, 0.587, 0.114])
    assert (luma > 150).sum() > 200 and (luma < 60).sum() > 50


def test_draw_line_width_grows_with_the_image() -> None:
    def line_width(size: int) -> int:
        image = pyvips.Image.black(size, size, bands=3).cast("uchar").copy(interpretation="srgb")
        box = Detection(0, "face", 0.9, size / 4, size / 4, size / 2, size / 2)
        drawn = pixels(draw_detections(image, [box]))
        row = drawn[size // 2, :, :].max(axis=1)
        return int((row[: size // 2] > 100).sum())

    assert line_width(2000) > line_width(400) >= 2


def test_draw_makes_grey_images_colour_and_keeps_alpha() -> None:
    grey = pyvips.Image.new_from_array(data.camera())
    drawn = draw_detections(grey, [FACE])
    assert drawn.bands == 3
    rgba = pyvips.Image.new_from_array(data.astronaut()).bandjoin(128)
    drawn = draw_detections(rgba, [FACE])
    assert drawn.bands == 4
    alpha = pixels(drawn)[..., 3]
    # Opaque where drawn, untouched (128) elsewhere.
    assert alpha.max() == 255 and alpha[300:, :].max() == 128


def test_draw_clips_boxes_at_the_border() -> None:
    image = pyvips.Image.black(100, 80, bands=3).cast("uchar")
    drawn = draw_detections(image, [Detection(0, "face", 0.5, -30, -30, 200, 200)])
    assert (drawn.width, drawn.height) == (100, 80)
    assert pixels(drawn).max() > 0


def test_bitmap_font_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(effects_module, "_text_works", False)
    image = (pyvips.Image.black(300, 200, bands=3) + 255).cast("uchar").copy(interpretation="srgb")
    drawn = pixels(draw_detections(image, [Detection(0, "face", 0.93, 50, 60, 100, 100)]))
    luma = drawn[30:60, 50:150] @ np.array([0.299, 0.587, 0.114])
    assert (luma < 60).sum() > 50  # the dark glyphs are there


def crowd(count: int, side: int = 12) -> list[Detection]:
    """``count`` small boxes on a grid over a 512 px image, as a photo of a crowd gives faces."""
    per_row = 512 // side
    return [Detection(0, "face", 0.9, (i % per_row) * side, (i // per_row) % per_row * side, side - 2, side - 2)
            for i in range(count)]


@pytest.mark.parametrize("name", [*EFFECTS, "draw"])
def test_many_boxes_give_what_one_chain_gives(astronaut: pyvips.Image, name: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The pixels are made in memory every BOXES_PER_GRAPH boxes: the result is the one a single
    chain of operations gives."""
    def apply(image: pyvips.Image, found: list[Detection]) -> pyvips.Image:
        return draw_detections(image, found) if name == "draw" else EFFECTS[name](image, found)

    found = crowd(3 * effects_module.BOXES_PER_GRAPH + 5)
    bounded = pixels(apply(astronaut, found))
    monkeypatch.setattr(effects_module, "BOXES_PER_GRAPH", 10**9)
    assert np.array_equal(bounded, pixels(apply(astronaut, found)))


def test_a_crowd_of_boxes_is_treated_in_linear_time(astronaut: pyvips.Image) -> None:
    """One chain for every box took quadratic time (500 boxes drawn: 16 s, 1,500: minutes); the
    bound allows a slow, busy machine."""
    found = crowd(1500)
    started = time.monotonic()
    drawn, blurred = draw_detections(astronaut, found), blur_detections(astronaut, found, 2.0)
    assert (pixels(drawn) != pixels(astronaut)).any() and (pixels(blurred) != pixels(astronaut)).any()
    assert time.monotonic() - started < 60
