"""``adjust``: colour adjustments of imgproxy Pro, after the filters, in this order (alpha is
left alone, each channel clipped to its range):

- ``brightness`` adds a constant to every colour channel;
- ``contrast`` scales every channel's distance from mid-grey (1: unchanged, 0: flat grey);
- ``saturation`` scales every channel's distance from the pixel's grey (0: greyscale).
"""

from __future__ import annotations

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.layers import channel_top, join_alpha, luma, split_alpha
from imgproxy_py.imaging.vips import materialize


def adjust(c: Context) -> None:
    brightness, contrast, saturation = c.po.brightness, c.po.contrast, c.po.saturation
    if brightness == 0 and contrast == 1 and saturation == 1:
        return
    img = c.img
    # A 16-bit image keeps its depth: the offset is scaled to its range (255 -> 65535).
    top = channel_top(img)
    colour, alpha = split_alpha(img)
    if brightness:
        colour = (colour + brightness * top / 255).clamp(min=0, max=top)
    if contrast != 1:
        mid = top / 2
        colour = ((colour - mid) * contrast + mid).clamp(min=0, max=top)
    if saturation != 1 and colour.bands >= 3:
        grey = luma(colour)
        colour = (colour - grey) * saturation + grey
    c.img = materialize(join_alpha(colour, alpha, img), c.deadline)
