"""``blur_areas`` (imgproxy Pro): a Gaussian blur inside areas given as fractions of the source.

It runs before ``crop`` on the whole decoded image, so the areas need no tracking through the
crops; the image is still in its stored orientation, so the areas, given as the source is
displayed (after EXIF rotation), are turned back into it here, and then turn with the image
in ``rotate_and_flip`` (imgproxy turns them with ``rotate`` and ``flip``).  ``sigma`` is in
pixels of the scaled result: the blur is scaled by what ``scale`` will still do.
"""

from __future__ import annotations

import math

from imgproxy_py.imaging.blurring import blur_at_scale
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.vips import materialize
from imgproxy_py.options.values_sharpness import BlurArea


def stored_area(area: BlurArea, angle: int, flip: bool) -> BlurArea:
    """An area of the displayed image (the stored one turned ``angle`` clockwise, then mirrored
    when ``flip``) in the stored image's fractions."""
    left, top, width, height = area.left, area.top, area.width, area.height
    if flip:
        left = 1 - left - width
    angle %= 360
    if angle == 90:  # undo a clockwise quarter turn
        left, top, width, height = top, 1 - left - width, height, width
    elif angle == 180:
        left, top = 1 - left - width, 1 - top - height
    elif angle == 270:
        left, top, width, height = 1 - top - height, left, height, width
    return BlurArea(left, top, width, height)


def _pixels(start: float, size: float, total: int) -> tuple[int, int]:
    """An area side's first pixel and length, clipped to the image."""
    first = max(0, min(total, math.floor(start * total + 0.5)))
    last = max(first, min(total, math.floor((start + size) * total + 0.5)))
    return first, last - first


def blur_areas(c: Context) -> None:
    areas = c.po.blur_areas
    if areas is None:
        return
    img = materialize(c.img, c.deadline)  # read again around each area
    # What scale will still do to this image: the blur is meant at the result's size.
    scale = math.sqrt(c.wscale * c.hscale)
    for area in areas.areas:
        stored = stored_area(area, c.angle, c.flip)
        left, width = _pixels(stored.left, stored.width, img.width)
        top, height = _pixels(stored.top, stored.height, img.height)
        if width == 0 or height == 0:
            continue
        # Blur with the pixels around the area so that its edges are blurred like its middle.
        margin = math.ceil(3 * areas.sigma / min(1.0, scale))
        outer_left, outer_top = max(0, left - margin), max(0, top - margin)
        outer_right = min(img.width, left + width + margin)
        outer_bottom = min(img.height, top + height + margin)
        region = img.crop(outer_left, outer_top, outer_right - outer_left, outer_bottom - outer_top)
        blurred = blur_at_scale(region, areas.sigma, scale)
        inner = blurred.crop(left - outer_left, top - outer_top, width, height)
        img = materialize(img.insert(inner, left, top), c.deadline)
    c.img = img
