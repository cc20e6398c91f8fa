"""``progressive_blur`` (imgproxy Pro): a blur that grows from none at ``start`` to ``sigma``
at ``stop``, fractions of the way across the image in the blur's direction.

A true per-pixel sigma would be a convolution per pixel; instead the image is blurred at a few
evenly spaced sigmas and each pixel mixes the two levels around its own sigma, which is smooth
to the eye and costs a few blurs of the result.
"""

from __future__ import annotations

import math

import pyvips

from imgproxy_py.imaging.blurring import gaussian_blur
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.vips import materialize
from imgproxy_py.options.values_sharpness import ProgressiveBlur

# Blur levels between none and the full sigma (the level 0 is the image itself).
LEVELS = 4


def progress(width: int, height: int, blur: ProgressiveBlur) -> pyvips.Image:
    """Per pixel, 0 (sharp) to 1 (blurred by the full sigma): how far along the direction the
    pixel lies (0 on the sharp side, 1 on the other) mapped from ``start``-``stop`` to 0-1."""
    radians = math.radians(blur.angle)
    # The direction the blur grows in, x right and y down: 0 degrees points down, 90 left.
    dx, dy = -math.sin(radians), math.cos(radians)
    dx, dy = (0.0 if abs(dx) < 1e-9 else dx), (0.0 if abs(dy) < 1e-9 else dy)
    xy = pyvips.Image.xyz(width, height) + 0.5  # pixel centres
    along = xy.extract_band(0) * dx + xy.extract_band(1) * dy
    corners = [x * dx + y * dy for x in (0, width) for y in (0, height)]
    low, high = min(corners), max(corners)
    position = (along - low) / (high - low)
    if blur.stop > blur.start:
        ramp = (position - blur.start) / (blur.stop - blur.start)
    else:  # start == stop: a sharp step
        ramp = (position >= blur.start) / 255.0
    return ramp.clamp(min=0, max=1)


def progressive_blur(c: Context) -> None:
    blur = c.po.progressive_blur
    if blur is None:
        return
    img = materialize(c.img, c.deadline)  # read once per level
    level = progress(img.width, img.height, blur) * LEVELS
    out: pyvips.Image | None = None
    for i in range(LEVELS + 1):
        # Hat weights: each pixel takes 1 - |level - i| of the levels next to its own; they sum to 1.
        weight = (1 - (level - i).abs()).clamp(min=0, max=1)
        blurred = img if i == 0 else gaussian_blur(img, blur.sigma * i / LEVELS)
        term = blurred.cast("float") * weight
        out = term if out is None else out + term
    assert out is not None
    top = 65535 if img.format == "ushort" else 255
    c.img = materialize(out.rint().clamp(min=0, max=top).cast(img.format), c.deadline)
