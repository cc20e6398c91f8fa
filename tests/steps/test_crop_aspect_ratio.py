"""``crop_aspect_ratio``: the crop area corrected to a ratio, shrunk or (``enlarge``) grown as far
as the image allows; the ``crop`` step then cuts that size by the crop's gravity."""

from __future__ import annotations

import pytest

from imgproxy_py.imaging.crop_aspect_ratio import correct_crop_aspect_ratio
from imgproxy_py.imaging.steps.crop import crop
from imgproxy_py.options.values_sharpness import CropAspectRatio
from tests.steps.support import context, coordinates, pixel


@pytest.mark.parametrize(
    ("crop_size", "car", "size"),
    [
        ((100, 200), CropAspectRatio(1, False), (100, 100)),
        ((100, 200), CropAspectRatio(1, True), (200, 200)),  # the docs' example
        ((300, 100), CropAspectRatio(1, False), (100, 100)),
        ((300, 100), CropAspectRatio(1, True), (300, 300)),
        ((300, 100), CropAspectRatio(2, False), (200, 100)),
        ((500, 300), CropAspectRatio(1, True), (400, 400)),  # grown past the image: shrunk to fit
        ((0, 0), CropAspectRatio(1, False), (400, 400)),  # no crop: the whole image is the area
        ((0, 0), CropAspectRatio(3, True), (600, 200)),
        ((0, 100), CropAspectRatio(0.5, False), (50, 100)),
        ((100, 200), CropAspectRatio(0, True), (100, 200)),  # 0: off
    ],
)
def test_corrected_size(crop_size: tuple[int, int], car: CropAspectRatio, size: tuple[int, int]) -> None:
    assert correct_crop_aspect_ratio(600, 400, *crop_size, car) == size


@pytest.mark.parametrize(
    ("url_options", "size", "top_left"),
    [
        ("c:100:200:nowe:300:100/car:1:1", (200, 200), (300, 100)),  # the size changes, not the gravity
        ("c:100:200:nowe:300:100/car:1", (100, 100), (300, 100)),
        ("car:1", (400, 400), (100, 0)),
        ("c:300:300/car:2:t", (600, 300), (0, 50)),
        ("c:100:100:nowe/rot:90/car:2", (50, 100), (0, 300)),  # the ratio is of the displayed image
    ],
)
def test_crop_cuts_the_corrected_area(url_options: str, size: tuple[int, int], top_left: tuple[int, int]) -> None:
    c = context(coordinates(600, 400), url_options)
    crop(c)
    assert (c.img.width, c.img.height) == size
    assert pixel(c.img, 0, 0)[:2] == [v % 256 for v in top_left]


def test_the_result_size_follows_the_corrected_area() -> None:
    c = context(coordinates(600, 400), "c:0.5:0.5/car:2/w:100")
    assert (c.crop_width, c.crop_height) == (300, 150)
    assert (c.scaled_width, c.scaled_height) == (100, 50)
