"""``scale_on_load``: decode again at a smaller size when the decoder can skip detail.

What a format's decoder can skip is in its record (``FormatSpec.shrink_on_load``): JPEG by DCT
factors, WebP by any scale, SVG renders at any scale (larger too), and always here: its first
decode reads no pixel (``codecs.load``: ``lazy_vector``).
"""

from __future__ import annotations

import math
from dataclasses import replace

from imgproxy_py.formats import ShrinkOnLoad
from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.geometry import extract_geometry, scale_int, shrink_int
from imgproxy_py.imaging.object_geometry import scale_detections
from imgproxy_py.options.model import GravityType


def scale_on_load(c: Context) -> None:
    fmt, data = c.source_format, c.source_data
    if data is None or fmt is None:
        return
    kind = fmt.spec.shrink_on_load
    if c.settings.disable_shrink_on_load and kind is not ShrinkOnLoad.VECTOR:
        return
    wshrink = c.src_width / max(1, scale_int(c.src_width, c.wscale))
    hshrink = c.src_height / max(1, scale_int(c.src_height, c.hscale))
    preshrink = min(wshrink, hshrink)
    if kind is ShrinkOnLoad.VECTOR:
        preshrink *= c.vector_base_shrink  # rendered smaller to fit the source limit (vector_guard_scale)
        # Its pixels are rendered here, at any size (the first decode is only a header): never
        # more than the source limit, which ``scale`` then enlarges to the size asked.
        limit = c.settings.max_src_resolution
        natural = c.src_width * c.src_height * c.vector_base_shrink ** 2
        if limit and natural / preshrink ** 2 > limit:
            preshrink = math.sqrt(natural / limit)
    elif preshrink <= 1 or kind is ShrinkOnLoad.NONE:
        return
    if kind is ShrinkOnLoad.FACTOR:
        preshrink = loader.shrink_factor(preshrink)
        if preshrink == 1:
            return
    img = loader.load(data, fmt, shrink=preshrink, page=c.page, access="sequential", whole=True,
                      pages=loader.stacked_pages(fmt, c.out.pages), no_background=c.settings.pdf_no_background,
                      unlimited=c.settings.unlimited_formats)
    new_w, new_h, angle, flip = extract_geometry(img, c.po.rotate, c.po.auto_rotate)
    wpre = c.src_width / new_w
    hpre = c.src_height / new_h
    if c.detections is not None:
        scale_detections(c, img.width / c.img.width, img.height / c.img.height)
    c.img, c.angle, c.flip = img, angle, flip
    c.wscale *= wpre
    c.hscale *= hpre
    if new_w == scale_int(new_w, c.wscale):
        c.wscale = 1.0
    if new_h == scale_int(new_h, c.hscale):
        c.hscale = 1.0
    if c.crop_width:
        c.crop_width = max(1, shrink_int(c.crop_width, wpre))
    if c.crop_height:
        c.crop_height = max(1, shrink_int(c.crop_height, hpre))
    g = c.crop_gravity
    if g.type is not GravityType.FOCUS_POINT:
        x = round(g.x / wpre) if abs(g.x) >= 1 else g.x
        y = round(g.y / hpre) if abs(g.y) >= 1 else g.y
        c.crop_gravity = replace(g, x=x, y=y)
