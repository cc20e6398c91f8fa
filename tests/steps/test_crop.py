"""``crop``: the ``crop`` option cuts the source before scaling; its gravity turns with the image."""

from __future__ import annotations

import pytest

from imgproxy_py.imaging.steps.crop import crop
from tests.steps.support import context, coordinates, pixel


@pytest.mark.parametrize(
    ("url_options", "size", "top_left"),
    [
        # On a 600x400 image whose pixels say where they were ((x, y) mod 256).
        ("c:100:100", (100, 100), (250, 150)),
        ("c:100:100:nowe:10:20", (100, 100), (10, 20)),
        ("c:100:100:soea", (100, 100), (500, 300)),
        ("c:100:100:fp:0.9:0.5", (100, 100), (490, 150)),
        ("c:0.5:0.5:nowe", (300, 200), (0, 0)),
        ("c:1000:100:no", (600, 100), (0, 0)),  # no larger than the image
        # The crop is given as displayed; the stored image is cut before it turns.
        ("c:100:50:no/rot:90", (50, 100), (0, 150)),
        ("c:100:50:nowe/fl:1", (100, 50), (500, 0)),
    ],
)
def test_cut(url_options: str, size: tuple[int, int], top_left: tuple[int, int]) -> None:
    c = context(coordinates(600, 400), url_options)
    crop(c)
    assert (c.img.width, c.img.height) == size
    assert pixel(c.img, 0, 0)[:2] == [v % 256 for v in top_left]
    assert not c.full_view


def test_no_crop_keeps_the_image() -> None:
    image = coordinates(600, 400)
    c = context(image, "rs:fill:100:100")
    crop(c)
    assert c.img is image and c.full_view
