"""``apply_filters``: blur, sharpen and pixelate."""

from __future__ import annotations

from collections.abc import Callable

import pyvips

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.vips import has_alpha, materialize

# libvips's ranges (gaussblur's sigma up to 1000, sharpen's 0.000001-10).  imgproxy passes any
# value through: libvips then refuses the blur, and sharpens with its default sigma instead.
# Clamped into the range, the value is the closest libvips comes to what the URL asked for.
MAX_BLUR_SIGMA = 1000.0
SHARPEN_SIGMA_RANGE = (0.000001, 10.0)


def _on_colour(img: pyvips.Image, op: Callable[[pyvips.Image], pyvips.Image]) -> pyvips.Image:
    """Apply ``op`` to the colour bands only; alpha is carried through untouched."""
    if has_alpha(img):
        colour, alpha = img.extract_band(0, n=img.bands - 1), img.extract_band(img.bands - 1)
        return op(colour).cast("uchar").bandjoin(alpha)
    return op(img).cast("uchar")


def pixelate_image(img: pyvips.Image, size: int) -> pyvips.Image:
    size = min(size, img.width, img.height)
    if size <= 1:
        return img
    small = img.shrink(size, size)
    big = small.zoom(size, size)
    if big.width < img.width or big.height < img.height:
        big = big.embed(0, 0, img.width, img.height, extend="copy")
    return big.crop(0, 0, img.width, img.height)


def apply_filters(c: Context) -> None:
    po = c.po
    if po.blur == 0 and po.sharpen == 0 and po.pixelate <= 1:
        return
    img = c.img
    if po.blur > 0:
        sigma = min(po.blur, MAX_BLUR_SIGMA)
        img = _on_colour(img, lambda i: i.gaussblur(sigma))
    if po.sharpen > 0:
        low, high = SHARPEN_SIGMA_RANGE
        sharp = max(low, min(po.sharpen, high))
        img = _on_colour(img, lambda i: i.sharpen(sigma=sharp))
    if po.pixelate > 1:
        img = pixelate_image(img, po.pixelate)
    c.img = materialize(img, c.deadline)
