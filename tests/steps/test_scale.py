"""``scale``: the image resized by the factors ``calc_params`` worked out."""

from __future__ import annotations

import pytest

from imgproxy_py.imaging.context import ProcessingSettings
from imgproxy_py.imaging.steps.scale import scale
from tests.steps.support import FakeDetection, context, coordinates, face, with_detector


@pytest.mark.parametrize(
    ("url_options", "size"),
    [
        ("rs:fit:300:300", (300, 200)),
        ("rs:force:300:100", (300, 100)),
        ("rs:fill:300:300", (450, 300)),
        ("rs:fit:1200:1200:1", (1200, 800)),
        # Scaled before rotate_and_flip: the stored image, sides not yet swapped.
        ("rs:fit:300:300/rot:90", (300, 200)),
        ("rs:force:100:300/rot:90", (300, 100)),
    ],
)
def test_scaled_size(url_options: str, size: tuple[int, int]) -> None:
    c = context(coordinates(600, 400), url_options)
    scale(c)
    assert (c.img.width, c.img.height) == size


def test_no_scale_keeps_the_image() -> None:
    image = coordinates(600, 400)
    c = context(image, "w:600")
    scale(c)
    assert c.img is image


def test_linear_light_gives_the_same_size() -> None:
    c = context(coordinates(600, 400), "rs:fit:300:300", settings=ProcessingSettings(use_linear_colorspace=True))
    scale(c)
    assert (c.img.width, c.img.height, c.img.bands) == (300, 200, 3)


def test_detections_scale_along() -> None:
    c = context(coordinates(600, 400), "rs:fit:300:300", deps=with_detector(FakeDetection(())))
    c.detections = (face(100, 100, 50, 50),)
    scale(c)
    assert c.detections[0].box.left == pytest.approx(50) and c.detections[0].box.width == pytest.approx(25)
