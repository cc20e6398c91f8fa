"""``progressive_blur`` (imgproxy Pro): a blur that grows from none at ``start`` to ``sigma``
at ``stop``, fractions of the way across the image in the blur's direction.

A true per-pixel sigma would be a convolution per pixel; instead the image is blurred at a few
evenly spaced sigmas and each pixel mixes the two levels around its own sigma, which is smooth
to the eye and costs a few blurs of the result.
"""

from __future__ import annotations

import pyvips

from imgproxy_py.imaging.blurring import gaussian_blur
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.layers import directional_ramp
from imgproxy_py.imaging.vips import materialize
from imgproxy_py.options.values_sharpness import ProgressiveBlur

# Blur levels between none and the full sigma (the level 0 is the image itself).
LEVELS = 4


def progress(width: int, height: int, blur: ProgressiveBlur) -> pyvips.Image:
    """Per pixel, 0 (sharp) to 1 (blurred by the full sigma): where the pixel lies along the
    direction (0: the first pixel that way, 1: the last, as ``gradient`` measures it) mapped from
    ``start``-``stop`` to 0-1; a stop before the start turns the ramp round."""
    return directional_ramp(width, height, blur.angle, blur.start, blur.stop)


def progressive_blur(c: Context) -> None:
    blur = c.po.progressive_blur
    if blur is None:
        return
    img = materialize(c.img, c.deadline)  # read once per level
    level = progress(img.width, img.height, blur) * LEVELS

    def weight(i: int) -> pyvips.Image:
        # Hat weights: each pixel takes 1 - |level - i| of the two levels around its own; they sum to 1.
        return (1 - (level - i).abs()).clamp(min=0, max=1)

    out = img.cast("float") * weight(0)
    for i in range(1, LEVELS + 1):
        out += gaussian_blur(img, blur.sigma * i / LEVELS).cast("float") * weight(i)
    top = 65535 if img.format == "ushort" else 255
    c.img = materialize(out.rint().clamp(min=0, max=top).cast(img.format), c.deadline)
