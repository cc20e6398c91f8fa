"""Plain-colour layers over and under an image, the image's grey, and ramps along a direction:
what the colour and tone steps (``adjust``, ``tone``, ``colorize``, ``gradient``), ``flatten``'s
``background_alpha`` and ``progressive_blur`` share.

Images here are sRGB, 8 or 16 bits a channel, with or without alpha; results keep that
format.  An opacity is a number or a one-band image of per-pixel values, both 0-1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeAlias

import pyvips

from imgproxy_py.imaging.vips import has_alpha

Opacity: TypeAlias = float | pyvips.Image
# Rec. 709 weights of the grey that saturation, monochrome and duotone work from.
LUMA_WEIGHTS = (0.2126, 0.7152, 0.0722)


def channel_top(img: pyvips.Image) -> int:
    """The value of a full channel: 255, or 65535 for a 16-bit image."""
    return 65535 if img.format == "ushort" else 255


def split_alpha(img: pyvips.Image) -> tuple[pyvips.Image, pyvips.Image | None]:
    if has_alpha(img):
        return img.extract_band(0, n=img.bands - 1), img.extract_band(img.bands - 1)
    return img, None


def join_alpha(colour: pyvips.Image, alpha: pyvips.Image | None, like: pyvips.Image) -> pyvips.Image:
    """Colour bands (any format) rounded and clipped into ``like``'s format, with ``alpha``."""
    out = colour.rint().clamp(min=0, max=channel_top(like)).cast(like.format)
    return out if alpha is None else out.bandjoin(alpha.rint().cast(like.format))


def luma(colour: pyvips.Image) -> pyvips.Image:
    """One band of grey from the colour bands (a one-band image is its own grey)."""
    return colour.recomb([list(LUMA_WEIGHTS)]) if colour.bands >= 3 else colour


def scaled(rgb: Sequence[float], img: pyvips.Image) -> list[float]:
    """An 8-bit colour in ``img``'s range, one value per colour band."""
    colour_bands = img.bands - 1 if has_alpha(img) else img.bands
    factor = channel_top(img) / 255
    values = [v * factor for v in rgb]
    if colour_bands >= 3:
        return values[:colour_bands]
    return [sum(w * v for w, v in zip(LUMA_WEIGHTS, values, strict=True))]  # a grey image: the colour's grey


def _times(opacity: Opacity, values: list[float]) -> pyvips.Image | list[float]:
    return [v * opacity for v in values] if isinstance(opacity, float | int) else opacity * values


def cover(img: pyvips.Image, rgb: Sequence[float], opacity: Opacity, keep_alpha: bool = False) -> pyvips.Image:
    """A layer of ``rgb`` at ``opacity`` over ``img`` ("over" compositing: transparent areas take
    the layer's colour and opacity), or with ``keep_alpha`` mixed into the colour only."""
    colour, alpha = split_alpha(img)
    layer = _times(opacity, scaled(rgb, img))
    if alpha is None or keep_alpha:
        return join_alpha(colour * (1 - opacity) + layer, alpha, img)
    top = channel_top(img)
    a = alpha / top
    out_a = opacity + a * (1 - opacity)
    # libvips divides by zero as zero: fully transparent stays black and transparent.
    mixed = (colour * a * (1 - opacity) + layer) / out_a
    return join_alpha(mixed, out_a * top, img)


def under(img: pyvips.Image, rgb: Sequence[float], opacity: float) -> pyvips.Image:
    """``img`` over a layer of ``rgb`` at ``opacity``: its transparent areas become that colour,
    that opaque."""
    colour, alpha = split_alpha(img)
    if alpha is None:
        return img
    top = channel_top(img)
    a = alpha / top
    out_a = a + (1 - a) * opacity
    mixed = (colour * a + (1 - a) * [v * opacity for v in scaled(rgb, img)]) / out_a
    return join_alpha(mixed, out_a * top, img)


def directional_ramp(width: int, height: int, angle: float, start: float, stop: float) -> pyvips.Image:
    """Per pixel, 0 to 1: where the pixel lies along the direction ``angle`` (degrees; 0:
    downwards, 90: leftwards), from the first pixel that way (0) to the last (1), mapped from
    ``start``-``stop`` to 0-1.  A stop before the start turns the ramp round; equal ones make a
    hard edge."""
    radians = math.radians(angle)
    dx, dy = -math.sin(radians), math.cos(radians)
    extent = max(abs((width - 1) * dx) + abs((height - 1) * dy), 1e-9)
    xy = pyvips.Image.xyz(width, height)
    along = ((xy[0] - (width - 1) / 2) * dx + (xy[1] - (height - 1) / 2) * dy) / extent + 0.5
    if stop == start:
        return (along >= start) / 255.0  # the comparison gives 0 or 255
    return ((along - start) / (stop - start)).clamp(min=0, max=1)
