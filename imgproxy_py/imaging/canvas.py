"""Canvas steps: extend, extend_aspect_ratio, padding, per-format size limits, flatten."""

from __future__ import annotations

import logging
import math

from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.colour import background_rgb, ensure_alpha, has_alpha
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.geometry import calc_position, scale_to_even
from imgproxy_py.imaging.objects import scale_detections, shift_detections
from imgproxy_py.imaging.resize import resize_image
from imgproxy_py.options.model import Gravity

log = logging.getLogger("imgproxy_py.processing")

# Format limits; larger results are scaled down to fit rather than failing to save.
_MAX_DIMENSION = {ImageFormat.WEBP: 16383, ImageFormat.AVIF: 16384, ImageFormat.HEIC: 16384,
                  ImageFormat.ICO: 256, ImageFormat.GIF: 65535}
_GIF_MAX_RESOLUTION = 4 * 1024 * 1024 * 64


def embed(c: Context, width: int, height: int, left: int, top: int) -> None:
    """Place the image on a transparent canvas; flatten later fills it with the background."""
    c.img = ensure_alpha(c.img).embed(left, top, width, height, extend="background", background=[0, 0, 0, 0])
    c.full_view = False
    shift_detections(c, left, top)


def _extend_to(c: Context, width: int, height: int, gravity: Gravity) -> None:
    img = c.img
    if width <= img.width and height <= img.height:
        return
    width = max(width, img.width) if width > 0 else img.width
    height = max(height, img.height) if height > 0 else img.height
    left, top = calc_position(width, height, img.width, img.height, gravity, c.dpr_scale, False)
    embed(c, width, height, left, top)


def extend(c: Context) -> None:
    if c.po.extend.enabled:
        _extend_to(c, c.target_width, c.target_height, c.po.extend.gravity)


def extend_aspect_ratio(c: Context) -> None:
    if c.po.extend_aspect_ratio.enabled and c.extend_ar_width and c.extend_ar_height:
        _extend_to(c, c.extend_ar_width, c.extend_ar_height, c.po.extend_aspect_ratio.gravity)


def padding(c: Context) -> None:
    if not c.po.padding_enabled:
        return
    top, right, bottom, left = (scale_to_even(v, c.dpr_scale) for v in c.po.padding)
    img = c.img
    embed(c, img.width + left + right, img.height + top + bottom, left, top)


def fix_size(c: Context) -> None:
    img = c.img
    limit = _MAX_DIMENSION.get(c.out_format)
    if limit is None:
        return
    shrink = max(img.width, img.height) / limit
    if c.out_format is ImageFormat.GIF:
        shrink = max(shrink, math.sqrt(img.width * img.height / _GIF_MAX_RESOLUTION))
    if shrink <= 1:
        return
    scale = 1 / shrink
    c.img = resize_image(img, scale, scale)
    scale_detections(c, scale, scale)
    log.warning("%s dimensions are limited to %d; result rescaled to %dx%d",
                c.out_format.value, limit, c.img.width, c.img.height)


def flatten(c: Context) -> None:
    if not has_alpha(c.img):
        return
    if c.po.background is None and c.out_format.supports_alpha:
        return
    c.img = c.img.flatten(background=background_rgb(c)).cast("uchar")
