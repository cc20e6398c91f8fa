"""``extend``: a result smaller than the requested size is placed on a canvas of that size."""

from __future__ import annotations

from imgproxy_py.imaging.canvas import extend_to
from imgproxy_py.imaging.context import Context


def extend(c: Context) -> None:
    if c.po.extend.enabled:
        extend_to(c, c.target_width, c.target_height, c.po.extend.gravity)
