"""``adjust``: colour adjustments of imgproxy Pro, after the filters: ``brightness`` adds a
constant to every colour channel (alpha is left alone), clipped to the channel's range."""

from __future__ import annotations

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.vips import has_alpha, materialize


def adjust(c: Context) -> None:
    brightness = c.po.brightness
    if brightness == 0:
        return
    img = c.img
    # A 16-bit image keeps its depth: the offset is scaled to its range (255 -> 65535).
    top = 65535 if img.format == "ushort" else 255
    offset = brightness * top / 255
    colour = img.extract_band(0, n=img.bands - 1) if has_alpha(img) else img
    shifted = (colour + offset).clamp(min=0, max=top).cast(img.format)
    c.img = materialize(shifted.bandjoin(img.extract_band(img.bands - 1)) if has_alpha(img) else shifted,
                        c.deadline)
