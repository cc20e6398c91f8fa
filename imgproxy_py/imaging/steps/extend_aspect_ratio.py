"""``extend_aspect_ratio``: a result of another shape is placed on a canvas of the requested aspect ratio."""

from __future__ import annotations

from imgproxy_py.imaging.canvas import extend_to
from imgproxy_py.imaging.context import Context


def extend_aspect_ratio(c: Context) -> None:
    if c.po.extend_aspect_ratio.enabled and c.extend_ar_width and c.extend_ar_height:
        extend_to(c, c.extend_ar_width, c.extend_ar_height, c.po.extend_aspect_ratio.gravity)
