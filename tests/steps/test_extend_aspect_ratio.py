"""``extend_aspect_ratio``: the scaled result placed on a canvas of the requested aspect ratio."""

from __future__ import annotations

import pytest

from imgproxy_py.imaging.steps.extend_aspect_ratio import extend_aspect_ratio
from imgproxy_py.imaging.steps.scale import scale
from tests.steps.support import context, coordinates, pixel


@pytest.mark.parametrize(
    ("url_options", "size", "placed_at"),
    [
        ("rs:fit:300:300/exar:1", (300, 300), (0, 50)),
        ("rs:fit:300:300/exar:1:no", (300, 300), (0, 0)),
        ("rs:fit:300:100/exar:1", (300, 100), (76, 0)),  # 150x100 widened to 3:1
        ("rs:fit:1200:1200/exar:1", (600, 600), (0, 100)),  # not enlarged: the ratio only
    ],
)
def test_canvas_of_the_ratio(url_options: str, size: tuple[int, int], placed_at: tuple[int, int]) -> None:
    c = context(coordinates(600, 400), url_options)
    scale(c)
    extend_aspect_ratio(c)
    assert (c.img.width, c.img.height) == size
    x, y = placed_at
    assert pixel(c.img, x, y)[3] == 255
    if (x, y) != (0, 0):
        assert pixel(c.img, 0, 0)[3] == 0


@pytest.mark.parametrize("url_options", ["rs:fit:300:300", "w:300/exar:1", "rs:fit:300:200/exar:1"])
def test_nothing_to_extend(url_options: str) -> None:
    c = context(coordinates(600, 400), url_options)
    scale(c)
    scaled = c.img
    extend_aspect_ratio(c)
    assert c.img is scaled
