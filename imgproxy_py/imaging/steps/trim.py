"""``trim``: cut away the border of the background colour, then size everything again."""

from __future__ import annotations

from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.geometry import calc_params
from imgproxy_py.imaging.vips import has_alpha, materialize, to_srgb


def trim(c: Context) -> None:
    t = c.po.trim
    if not t.enabled:
        return
    fmt, data = c.source_format, c.source_data
    if data is not None and fmt is not None and fmt.is_vector:
        # The first decode only describes an SVG: its pixels are rendered now, apart (codecs.load).
        c.img = loader.load(data, fmt, shrink=c.vector_base_shrink, page=c.page,
                            unlimited=c.settings.unlimited_formats)
    c.img = to_srgb(c.img)  # the colour to trim is given, and compared, in sRGB
    img = c.img = materialize(c.img, c.deadline)  # read twice: to find the edges, then to crop
    # Transparent areas are compared as magenta, as imgproxy flattens them: ``trim:1:ff00ff``
    # trims a transparent border, and white content next to one is never mistaken for it.
    probe = img.flatten(background=[255, 0, 255]) if has_alpha(img) else img
    background = t.color.rgb if t.color is not None else probe(0, 0)[:3]
    # libvips takes no negative threshold (it would use its default, 10, as for 0 here).
    threshold = t.threshold if t.threshold and t.threshold > 0 else 10.0
    left, top, width, height = probe.find_trim(threshold=threshold, background=background)
    if width <= 0 or height <= 0:
        return  # a uniform image: imgproxy leaves it as it is
    if t.equal_horizontal:
        right = img.width - (left + width)
        left = min(left, right)
        width = img.width - 2 * left
    if t.equal_vertical:
        bottom = img.height - (top + height)
        top = min(top, bottom)
        height = img.height - 2 * top
    c.img = materialize(img.crop(left, top, width, height), c.deadline)
    c.source_data = None  # the decode no longer matches the source bytes
    c.full_view = False
    c.detections = None
    calc_params(c)
