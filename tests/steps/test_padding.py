"""``padding``: margins around the result, in CSS order, scaled by the DPR."""

from __future__ import annotations

import pytest

from imgproxy_py.imaging.steps.padding import padding
from tests.steps.support import context, coordinates, pixel


@pytest.mark.parametrize(
    ("url_options", "size", "placed_at"),
    [
        ("pd:10", (120, 70), (10, 10)),
        ("pd:10:20", (140, 70), (20, 10)),  # vertical, horizontal
        ("pd:10:20:30:40", (160, 90), (40, 10)),  # top, right, bottom, left
        ("rs:fit:50:50/pd:10/dpr:2", (140, 90), (20, 20)),  # 100x100 at DPR 2: nothing scaled
        ("pd:10/dpr:2", (120, 70), (10, 10)),  # DPR 2 would enlarge: it doesn't apply
    ],
)
def test_margins(url_options: str, size: tuple[int, int], placed_at: tuple[int, int]) -> None:
    c = context(coordinates(100, 50), url_options)
    padding(c)
    assert (c.img.width, c.img.height) == size
    assert pixel(c.img, *placed_at) == [0, 0, 0, 255]
    assert pixel(c.img, 0, 0)[3] == 0


def test_no_padding() -> None:
    image = coordinates(100, 50)
    c = context(image, "pd:0")
    padding(c)
    assert c.img is image


def test_sixteen_bit_margins_are_transparent_on_its_scale() -> None:
    """The image's own alpha is opaque at 65535 in a 16-bit image (preserve_hdr), not 255."""
    c = context(coordinates(100, 50).colourspace("rgb16"), "pd:10")
    padding(c)
    assert pixel(c.img, 10, 10)[3] == 65535 and pixel(c.img, 0, 0)[3] == 0
