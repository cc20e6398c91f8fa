"""Point maps between a stored image and its upright view (EXIF orientation), checked on pixels."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from imgproxy_py.imaging.object_geometry import orient, orient_point, unorient_point

W, H = 7, 4  # stored size; the upright view is 4x7 after a quarter turn


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
@pytest.mark.parametrize("flip", [False, True])
def test_points_follow_the_pixels(angle: int, flip: bool) -> None:
    stored = pyvips.Image.new_from_array(np.arange(W * H, dtype=np.uint8).reshape(H, W))
    upright = orient(stored, angle, flip).numpy()
    for y in range(H):
        for x in range(W):
            # Pixel centres: the pixel (x, y) covers (x, y)..(x + 1, y + 1).
            ux, uy = orient_point(x + 0.5, y + 0.5, angle, flip, W, H)
            assert upright[int(uy), int(ux)] == y * W + x
            assert unorient_point(ux, uy, angle, flip, W, H) == (x + 0.5, y + 0.5)
