"""``tone``: imgproxy Pro's ``monochrome`` and ``duotone``, after ``adjust``.

Both map each pixel's grey (Rec. 709 weights) through a palette and blend the result in by
their intensity; alpha is left alone.

- ``monochrome``: black, then ``color`` at its own grey, then white.  The result keeps the
  image's grey, tinted by the colour; the default ``b3b3b3`` gives plain greyscale.
- ``duotone``: from ``color1`` at black to ``color2`` at white.
"""

from __future__ import annotations

import numpy as np
import pyvips

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.layers import LUMA_WEIGHTS, channel_top, join_alpha, luma, split_alpha
from imgproxy_py.imaging.vips import materialize
from imgproxy_py.options.model import Color

Stop = tuple[float, Color]


def monochrome_stops(color: Color) -> list[Stop]:
    grey = sum(w * v for w, v in zip(LUMA_WEIGHTS, (color.r, color.g, color.b), strict=True)) / 255
    return [(0.0, Color(0, 0, 0)), (grey, color), (1.0, Color(255, 255, 255))]


def palette(stops: list[Stop]) -> pyvips.Image:
    """A 256-entry, three-band lookup table (0-255 floats) through the colours of ``stops``."""
    positions = np.linspace(0.0, 1.0, 256)
    where = [p for p, _ in stops]
    bands = [np.interp(positions, where, [getattr(colour, band) for _, colour in stops]) for band in "rgb"]
    table = np.ascontiguousarray(np.dstack(bands).astype(np.float32))
    return pyvips.Image.new_from_memory(table.tobytes(), 256, 1, 3, "float")


def map_tone(img: pyvips.Image, stops: list[Stop], intensity: float) -> pyvips.Image:
    colour, alpha = split_alpha(img)
    top = channel_top(img)
    index = (luma(colour) * (255 / top)).rint().clamp(min=0, max=255).cast("uchar")
    toned = index.maplut(palette(stops)) * (top / 255)
    if colour.bands < 3:
        colour = colour.bandjoin([colour, colour])
    return join_alpha(colour * (1 - intensity) + toned * intensity, alpha, img)


def tone(c: Context) -> None:
    mono, duo = c.po.monochrome, c.po.duotone
    if mono is None and duo is None:
        return
    img = c.img
    if mono is not None:
        img = map_tone(img, monochrome_stops(mono.color), mono.intensity)
    if duo is not None:
        img = map_tone(img, [(0.0, duo.dark), (1.0, duo.light)], duo.intensity)
    c.img = materialize(img, c.deadline)
