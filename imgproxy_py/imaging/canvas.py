"""Placing the image on a larger transparent canvas, shared by ``extend``,
``extend_aspect_ratio`` and ``padding``; ``flatten`` later fills the canvas with the background."""

from __future__ import annotations

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.geometry import calc_position
from imgproxy_py.imaging.object_geometry import shift_detections
from imgproxy_py.imaging.vips import ensure_alpha
from imgproxy_py.options.model import Gravity


def embed(c: Context, width: int, height: int, left: int, top: int) -> None:
    """Place the image on a ``width``x``height`` transparent canvas at ``left``, ``top``."""
    img = ensure_alpha(c.img)  # grey and alpha (2 bands) or colour and alpha (4)
    c.img = img.embed(left, top, width, height, extend="background", background=[0] * img.bands)
    c.full_view = False
    shift_detections(c, left, top)


def extend_to(c: Context, width: int, height: int, gravity: Gravity) -> None:
    """Extend the image to at least ``width``x``height`` (0: its own size), placed by ``gravity``."""
    img = c.img
    if width <= img.width and height <= img.height:
        return
    width = max(width, img.width) if width > 0 else img.width
    height = max(height, img.height) if height > 0 else img.height
    left, top = calc_position(width, height, img.width, img.height, gravity, c.dpr_scale, False)
    embed(c, width, height, left, top)
