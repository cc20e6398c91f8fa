"""``flatten``: transparency onto the background colour, when asked for or when the output
format has no alpha.  With ``background_alpha`` under 1 (imgproxy Pro) and a format with
alpha, the background is laid under the image at that opacity instead: transparent areas
become the background colour, that transparent."""

from __future__ import annotations

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.layers import under
from imgproxy_py.imaging.vips import has_alpha


def background_rgb(c: Context) -> list[float]:
    bg = c.po.background
    return bg.rgb if bg is not None else list(c.settings.background_default)


def flatten(c: Context) -> None:
    if not has_alpha(c.img):
        return
    if c.po.background is None and c.out_format.supports_alpha:
        return
    if c.po.background is not None and c.po.background_alpha < 1 and c.out_format.supports_alpha:
        c.img = under(c.img, background_rgb(c), c.po.background_alpha)
        return
    c.img = c.img.flatten(background=background_rgb(c)).cast("uchar")
