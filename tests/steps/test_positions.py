"""Where a box lands by gravity (``geometry.calc_position``), and gravity turned with the image
(``geometry.rotate_and_flip_gravity``): the arithmetic behind crop, extend and watermark."""

from __future__ import annotations

import pytest

from imgproxy_py.imaging.geometry import calc_position, rotate_and_flip_gravity
from imgproxy_py.options.model import Gravity, GravityType

G = GravityType


@pytest.mark.parametrize(
    ("gravity", "position"),
    [
        # A 100x100 box in 600x400 (tests/test_http_resize.py crops at these places).
        (Gravity(G.CENTER), (250, 150)),
        (Gravity(G.WEST), (0, 150)),
        (Gravity(G.EAST), (500, 150)),
        (Gravity(G.NORTH), (250, 0)),
        (Gravity(G.SOUTH), (250, 300)),
        (Gravity(G.NORTH_WEST, 10, 20), (10, 20)),
        (Gravity(G.SOUTH_EAST), (500, 300)),
        (Gravity(G.SOUTH_EAST, 10, 20), (490, 280)),  # offsets point inwards
        (Gravity(G.WEST, 50, 0), (50, 150)),
        (Gravity(G.CENTER, 0.25, 0), (400, 150)),  # below 1: a share of the area
        (Gravity(G.FOCUS_POINT, 0.9, 0.5), (490, 150)),
        (Gravity(G.FOCUS_POINT, 1, 0.5), (500, 150)),  # kept inside
    ],
)
def test_position_in_the_area(gravity: Gravity, position: tuple[int, int]) -> None:
    assert calc_position(600, 400, 100, 100, gravity, 1.0, False) == position


@pytest.mark.parametrize(
    ("gravity", "dpr", "overflow", "position"),
    [
        (Gravity(G.NORTH_WEST, 10, 20), 2.0, False, (20, 40)),  # pixel offsets scale with the DPR
        (Gravity(G.NORTH_WEST, 0.5, 0.5), 2.0, False, (300, 200)),  # shares don't
        (Gravity(G.NORTH_WEST, 550, 0), 1.0, False, (500, 0)),
        (Gravity(G.NORTH_WEST, 550, 0), 1.0, True, (550, 0)),  # a watermark may hang over the edge
        (Gravity(G.NORTH_WEST, 700, 0), 1.0, True, (599, 0)),  # but one pixel stays in view
        (Gravity(G.NORTH_WEST, -700, 0), 1.0, True, (-99, 0)),
    ],
)
def test_offsets_dpr_and_overflow(gravity: Gravity, dpr: float, overflow: bool, position: tuple[int, int]) -> None:
    assert calc_position(600, 400, 100, 100, gravity, dpr, overflow) == position


@pytest.mark.parametrize(
    ("gravity", "angle", "flip_x", "flip_y", "expected"),
    [
        (Gravity(G.NORTH), 90, False, False, Gravity(G.WEST)),
        (Gravity(G.NORTH), 180, False, False, Gravity(G.SOUTH)),
        (Gravity(G.NORTH), 270, False, False, Gravity(G.EAST)),
        (Gravity(G.NORTH_EAST), 90, False, False, Gravity(G.NORTH_WEST)),
        (Gravity(G.EAST), 0, True, False, Gravity(G.WEST)),
        (Gravity(G.NORTH), 0, False, True, Gravity(G.SOUTH)),
        (Gravity(G.CENTER, 10, 20), 0, True, True, Gravity(G.CENTER, -10, -20)),
        (Gravity(G.CENTER, 10, 20), 90, False, False, Gravity(G.CENTER, 20, -10)),
        (Gravity(G.CENTER, 10, 20), 270, False, False, Gravity(G.CENTER, -20, 10)),
        (Gravity(G.FOCUS_POINT, 0.2, 0.3), 90, False, False, Gravity(G.FOCUS_POINT, 0.3, 0.8)),
        (Gravity(G.FOCUS_POINT, 0.2, 0.3), 180, False, False, Gravity(G.FOCUS_POINT, 0.8, 0.7)),
        (Gravity(G.FOCUS_POINT, 0.2, 0.3), 0, True, False, Gravity(G.FOCUS_POINT, 0.8, 0.3)),
        (Gravity(G.SMART), 90, True, True, Gravity(G.SMART)),
    ],
)
def test_gravity_in_the_unrotated_image(gravity: Gravity, angle: int, flip_x: bool, flip_y: bool,
                                        expected: Gravity) -> None:
    turned = rotate_and_flip_gravity(gravity, angle, flip_x, flip_y)
    assert turned.type is expected.type
    assert (turned.x, turned.y) == pytest.approx((expected.x, expected.y))
