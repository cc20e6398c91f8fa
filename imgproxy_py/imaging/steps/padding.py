"""``padding``: transparent (later background-coloured) margins, scaled by the DPR."""

from __future__ import annotations

from imgproxy_py.imaging.canvas import embed
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.geometry import scale_to_even


def padding(c: Context) -> None:
    if not c.po.padding_enabled:
        return
    top, right, bottom, left = (scale_to_even(v, c.dpr_scale) for v in c.po.padding)
    img = c.img
    embed(c, img.width + left + right, img.height + top + bottom, left, top)
