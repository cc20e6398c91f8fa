"""``flatten``: transparency onto the background colour, when asked for or when the output
format has no alpha."""

from __future__ import annotations

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.vips import has_alpha


def background_rgb(c: Context) -> list[float]:
    bg = c.po.background
    return bg.rgb if bg is not None else list(c.settings.background_default)


def flatten(c: Context) -> None:
    if not has_alpha(c.img):
        return
    if c.po.background is None and c.out_format.supports_alpha:
        return
    c.img = c.img.flatten(background=background_rgb(c)).cast("uchar")
