"""``extend``: a result smaller than the requested size is placed on a transparent canvas of
that size, by the extend gravity (``flatten`` fills the canvas later)."""

from __future__ import annotations

import pytest

from imgproxy_py.imaging.steps.extend import extend
from tests.steps.support import context, coordinates, pixel


@pytest.mark.parametrize(
    ("url_options", "size", "placed_at"),
    [
        ("rs:fit:800:800:0:1", (800, 800), (100, 200)),  # centred
        ("rs:fit:800:800:0:1:nowe", (800, 800), (0, 0)),
        ("rs:fit:800:800:0:1:soea", (800, 800), (200, 400)),
        ("rs:fit:800:800:0:1:no:10:20", (800, 800), (110, 20)),
        ("w:800/ex:1", (800, 400), (100, 0)),  # only the side asked for
    ],
)
def test_placed_on_the_canvas(url_options: str, size: tuple[int, int], placed_at: tuple[int, int]) -> None:
    c = context(coordinates(600, 400), url_options)
    extend(c)
    assert (c.img.width, c.img.height, c.img.bands) == (*size, 4)
    x, y = placed_at
    assert pixel(c.img, x, y) == [0, 0, 0, 255]  # the image's top-left pixel
    assert pixel(c.img, x + 10, y + 20) == [10, 20, 0, 255]
    if (x, y) != (0, 0):
        assert pixel(c.img, 0, 0)[3] == 0  # transparent canvas


@pytest.mark.parametrize("url_options", ["rs:fit:800:800", "rs:fit:300:300:0:1"])
def test_nothing_to_extend(url_options: str) -> None:
    image = coordinates(600, 400)
    c = context(image, url_options)
    extend(c)
    assert c.img is image
