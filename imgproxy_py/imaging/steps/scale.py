"""``scale``: resize by the factors ``calc_params`` worked out (after shrink-on-load's share),
with the ``resizing_algorithm``'s libvips kernel."""

from __future__ import annotations

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.object_geometry import scale_detections
from imgproxy_py.imaging.vips import resize


def scale(c: Context) -> None:
    if c.wscale == 1 and c.hscale == 1:
        return
    wscale, hscale = c.wscale, c.hscale
    if (c.angle + c.po.rotate) % 180 == 90:
        wscale, hscale = hscale, wscale
    img = c.img
    kernel = c.po.resizing_algorithm.value
    if c.settings.use_linear_colorspace:
        # Back to the image's own space afterwards, as imgproxy does: grey stays grey, RGB16 16-bit.
        img = resize(img.colourspace("scrgb"), wscale, hscale, kernel).colourspace(img.interpretation)
    else:
        img = resize(img, wscale, hscale, kernel)
    c.img = img
    scale_detections(c, wscale, hscale)
