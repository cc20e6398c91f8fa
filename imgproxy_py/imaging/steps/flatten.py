"""``flatten``: transparency onto the background colour, when asked for or when the output
format has no alpha; a grey image stays grey on a grey background, and 16 bits stay 16.  With
``background_alpha`` under 1 (imgproxy Pro) and a format with alpha, the background is laid under
the image at that opacity instead: transparent areas become the background colour, that
transparent."""

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
    img, background = c.img, background_rgb(c)
    if img.bands < 3 and len(set(background)) > 1:  # a colour behind a grey image: it becomes RGB
        img = img.colourspace("rgb16" if img.format == "ushort" else "srgb")
    if img.format == "ushort":  # a 16-bit image (preserve_hdr): the colour on its scale
        background = [value * 257 for value in background]
    c.img = img.flatten(background=background).cast(img.format)
