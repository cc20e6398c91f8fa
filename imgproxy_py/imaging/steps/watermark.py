"""``watermark``: the one watermark image (``dependencies.WatermarkSource``), placed or tiled."""

from __future__ import annotations

import math

import pyvips

from imgproxy_py.errors import ResultTooBigError
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.geometry import MAX_DIMENSION, calc_position, round_to_even, scale_to_even
from imgproxy_py.imaging.vips import ensure_alpha, has_alpha, resize
from imgproxy_py.options.model import Gravity, GravityType


def _prepare(wm: pyvips.Image, c: Context, width: int, height: int) -> pyvips.Image:
    opts = c.po.watermark
    if opts.scale > 0:
        box_w = max(1, scale_to_even(width, opts.scale))
        box_h = max(1, scale_to_even(height, opts.scale))
        factor = min(box_w / wm.width, box_h / wm.height)
        size = (round(wm.width * factor), round(wm.height * factor))
        limit = c.settings.max_result_resolution
        if max(size) > MAX_DIMENSION or (limit and size[0] * size[1] > limit):
            raise ResultTooBigError(f"watermark scale {opts.scale} makes a {size[0]}x{size[1]} watermark")
        wm = resize(wm, factor, factor)
    if opts.position is GravityType.REPLICATE:
        pad_x = round_to_even(opts.x * c.dpr_scale) if abs(opts.x) >= 1 else scale_to_even(width, opts.x)
        pad_y = round_to_even(opts.y * c.dpr_scale) if abs(opts.y) >= 1 else scale_to_even(height, opts.y)
        # A gap wider than the image leaves one tile in view, as the image's width does; a
        # negative one overlaps the tiles, down to one pixel of each.
        pad_x = max(1 - wm.width, min(pad_x, width))
        pad_y = max(1 - wm.height, min(pad_y, height))
        if pad_x or pad_y:
            wm = wm.embed(pad_x // 2, pad_y // 2, wm.width + pad_x, wm.height + pad_y,
                          extend="background", background=[0, 0, 0, 0])
        across, down = math.ceil(width / wm.width), math.ceil(height / wm.height)
        wm = wm.replicate(across, down).crop(0, 0, width, height)
    return wm


def watermark(c: Context) -> None:
    source = c.deps.watermark
    opacity = c.po.watermark.opacity * c.settings.watermark_opacity
    if source is None or opacity <= 0:
        return
    img = c.img
    wm = _prepare(source.image, c, img.width, img.height)
    left = top = 0
    if c.po.watermark.position is not GravityType.REPLICATE:
        gravity = Gravity(c.po.watermark.position, c.po.watermark.x, c.po.watermark.y)
        left, top = calc_position(img.width, img.height, wm.width, wm.height, gravity, c.dpr_scale, True)
    if left >= img.width or top >= img.height or -left >= wm.width or -top >= wm.height:
        return
    if opacity < 1:
        alpha = wm.extract_band(3) * opacity
        wm = wm.extract_band(0, n=3).bandjoin(alpha.cast("uchar"))
    had_alpha = has_alpha(img)
    base = ensure_alpha(img)
    out = base.composite2(wm, "over", x=left, y=top).cast("uchar")
    c.img = out if had_alpha else out.extract_band(0, n=3)
