"""``crop_aspect_ratio`` (imgproxy Pro): the crop area corrected to a width/height ratio.

Only the area's size changes; where it sits is still the crop's gravity's business (as in
imgproxy: keep the centre with an ``fp`` gravity).
"""

from __future__ import annotations

import math

from imgproxy_py.options.values_sharpness import CropAspectRatio


def _round(x: float) -> int:
    return max(1, math.floor(x + 0.5))


def correct_crop_aspect_ratio(src_width: int, src_height: int, crop_width: int, crop_height: int,
                              car: CropAspectRatio) -> tuple[int, int]:
    """The crop size (0: the whole side, as ``crop`` gives it) corrected to ``car.ratio``.

    Without ``enlarge`` the longer side (for the ratio) is shortened; with it the shorter one is
    lengthened, and an area that no longer fits the image is shrunk to fit, ratio kept.
    """
    if car.ratio <= 0 or src_width <= 0 or src_height <= 0:
        return crop_width, crop_height
    width = min(crop_width or src_width, src_width)
    height = min(crop_height or src_height, src_height)
    if width / height > car.ratio:
        if car.enlarge:
            height = _round(width / car.ratio)
        else:
            width = _round(height * car.ratio)
    elif car.enlarge:
        width = _round(height * car.ratio)
    else:
        height = _round(width / car.ratio)
    if width > src_width:
        width, height = src_width, _round(src_width / car.ratio)
    if height > src_height:
        width, height = _round(src_height * car.ratio), src_height
    return min(width, src_width), min(height, src_height)
