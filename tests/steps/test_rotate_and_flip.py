"""``rotate_and_flip``: EXIF orientation, then ``rotate`` and ``flip``; the orientation tag goes."""

from __future__ import annotations

import pytest
import pyvips

from imgproxy_py.imaging.steps.rotate_and_flip import rotate_and_flip
from tests.steps.support import context, coordinates, pixel


def oriented(orientation: int) -> pyvips.Image:
    img = coordinates(3, 2).copy()
    img.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    return img


@pytest.mark.parametrize(
    ("url_options", "size", "top_left"),
    [
        # A 3x2 image whose pixels say where they were: (x, y).
        ("", (3, 2), (0, 0)),
        ("rot:90", (2, 3), (0, 1)),  # clockwise: the bottom-left corner comes to the top
        ("rot:180", (3, 2), (2, 1)),
        ("rot:270", (2, 3), (2, 0)),
        ("fl:1", (3, 2), (2, 0)),
        ("fl:0:1", (3, 2), (0, 1)),
        ("rot:90/fl:1", (2, 3), (0, 0)),  # rotated first, then flipped
    ],
)
def test_turns_and_flips(url_options: str, size: tuple[int, int], top_left: tuple[int, int]) -> None:
    c = context(coordinates(3, 2), url_options)
    rotate_and_flip(c)
    assert (c.img.width, c.img.height) == size
    assert pixel(c.img, 0, 0)[:2] == list(top_left)


@pytest.mark.parametrize(
    ("orientation", "url_options", "size", "top_left"),
    [
        (6, "", (2, 3), (0, 1)),  # EXIF 6: turn 90 degrees clockwise to view
        (3, "", (3, 2), (2, 1)),
        (2, "", (3, 2), (2, 0)),  # mirrored
        (6, "ar:0", (3, 2), (0, 0)),  # auto_rotate off: as stored
        (6, "rot:90", (3, 2), (2, 1)),  # EXIF first, then the option
    ],
)
def test_exif_orientation(orientation: int, url_options: str, size: tuple[int, int],
                          top_left: tuple[int, int]) -> None:
    c = context(oriented(orientation), url_options)
    rotate_and_flip(c)
    assert (c.img.width, c.img.height) == size
    assert pixel(c.img, 0, 0)[:2] == list(top_left)
    assert not c.img.get_typeof("orientation")  # viewers must not turn it again
    assert c.rotated
