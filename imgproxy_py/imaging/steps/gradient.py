"""``gradient``: imgproxy Pro's gradient layer over the result, after ``colorize``: transparent
at ``start`` to ``color`` at ``opacity`` at ``stop``, along the direction (clockwise degrees,
0: downwards).  Positions are relative to the image's extent along the direction, so 0 and 1
are its first and last pixels that way whatever the angle; before ``start`` the layer is
transparent, past ``stop`` it is at full opacity (``stop`` before ``start`` reverses it)."""

from __future__ import annotations

import pyvips

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.layers import cover, directional_ramp
from imgproxy_py.imaging.vips import materialize
from imgproxy_py.options.values_color import Gradient


def gradient_mask(width: int, height: int, g: Gradient) -> pyvips.Image:
    """One band of per-pixel opacity (0 to ``g.opacity``)."""
    return directional_ramp(width, height, g.angle, g.start, g.stop) * g.opacity


def gradient(c: Context) -> None:
    layer = c.po.gradient
    if layer is None:
        return
    mask = gradient_mask(c.img.width, c.img.height, layer)
    c.img = materialize(cover(c.img, layer.color.rgb, mask, keep_alpha=False), c.deadline)
