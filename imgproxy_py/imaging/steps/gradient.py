"""``gradient``: imgproxy Pro's gradient layer over the result, after ``colorize``: transparent
at ``start`` to ``color`` at ``opacity`` at ``stop``, along the direction (clockwise degrees,
0: downwards).  Positions are relative to the image's extent along the direction, so 0 and 1
are its first and last pixels that way whatever the angle; before ``start`` the layer is
transparent, past ``stop`` it is at full opacity (``stop`` before ``start`` reverses it)."""

from __future__ import annotations

import math

import pyvips

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.layers import cover
from imgproxy_py.imaging.vips import materialize
from imgproxy_py.options.values_color import Gradient


def gradient_mask(width: int, height: int, g: Gradient) -> pyvips.Image:
    """One band of per-pixel opacity (0 to ``g.opacity``)."""
    radians = math.radians(g.angle)
    dx, dy = -math.sin(radians), math.cos(radians)  # 0 degrees: downwards; 90: leftwards
    # From the first pixel (0) to the last (1) along the direction.
    extent = max(abs((width - 1) * dx) + abs((height - 1) * dy), 1e-9)
    xy = pyvips.Image.xyz(width, height)
    along = ((xy[0] - (width - 1) / 2) * dx + (xy[1] - (height - 1) / 2) * dy) / extent + 0.5
    if g.stop == g.start:
        ramp = along >= g.start  # a hard edge: 0 or 255
        return (ramp / 255).cast("float") * g.opacity
    return ((along - g.start) / (g.stop - g.start)).clamp(min=0, max=1) * g.opacity


def gradient(c: Context) -> None:
    layer = c.po.gradient
    if layer is None:
        return
    mask = gradient_mask(c.img.width, c.img.height, layer)
    c.img = materialize(cover(c.img, layer.color.rgb, mask, keep_alpha=False), c.deadline)
