"""``vector_guard_scale``: an SVG larger than the source resolution limit is rendered smaller.

imgproxy checks no vector source against ``IMGPROXY_MAX_SRC_RESOLUTION`` (it renders at any
size) but renders one whose own size passes the limit that much smaller, to fit it, and sizes
everything after from there: ``viewBox="0 0 20000 20000"`` with the default 50 MP comes out
7071 px a side when the URL asks for no size, and ``scale_on_load`` renders it smaller again
for the size asked.  Without this, such an SVG was rendered at its full size.
"""

from __future__ import annotations

import math

from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.geometry import calc_params


def vector_guard_scale(c: Context) -> None:
    fmt, data, limit = c.source_format, c.source_data, c.settings.max_src_resolution
    if data is None or fmt is None or not fmt.is_vector:
        return
    resolution = c.img.width * c.img.height
    if 0 < limit < resolution:
        shrink = math.sqrt(resolution / limit)
        c.img = loader.load(data, fmt, shrink=shrink, page=c.page, access="sequential",
                            unlimited=c.settings.unlimited_formats, lazy_vector=True)
        c.vector_base_shrink = shrink
    # Sized again, and only now checked against the result limits: ``pipeline.run_steps`` leaves
    # a vector source unchecked until it is known at what size it renders.
    calc_params(c, is_vector=True)
