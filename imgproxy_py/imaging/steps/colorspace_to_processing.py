"""``colorspace_to_processing``: every later step works on 8-bit sRGB (with alpha when there is one)."""

from __future__ import annotations

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.vips import to_srgb


def colorspace_to_processing(c: Context) -> None:
    c.img = to_srgb(c.img)
