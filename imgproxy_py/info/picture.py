"""The source as ``/info`` sees it: its header at once, its pixels once, at a bounded size.

Header options read ``header`` (libvips loads lazily: width, height, bands, metadata, without a
pixel).  Pixel options share ``pixels``: decoded on first use with shrink-on-load, turned
upright, reduced to at most ``side`` (``PIXELS_SIDE``, or the detector's input size when larger)
on the longer side, sRGB with alpha, held in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np
import pyvips

from imgproxy_py.imaging.codecs.load import shrink_factor
from imgproxy_py.imaging.geometry import angle_flip
from imgproxy_py.imaging.object_geometry import orient
from imgproxy_py.imaging.vips import page_height

PIXELS_SIDE = 512  # enough for colours, hashes and classification; 12 MP sources decode at 1/8
_decodes = 0
_lock = threading.Lock()


def decode_count() -> int:
    """How many times ``/info`` decoded pixels in this process (tests prove header-only requests don't)."""
    return _decodes


def _count_decode() -> None:
    global _decodes
    with _lock:
        _decodes += 1


class Picture:
    """``header``: the lazily loaded page; ``load(shrink)`` decodes it again with a shrink-on-load
    factor.  ``header_has_pixels`` False: the header's pixels are never read, always ``load``'s (an
    SVG's are rendered apart: ``codecs.load``)."""

    def __init__(self, header: pyvips.Image, load: Callable[[float], pyvips.Image], *,
                 auto_rotate: bool = True, side: int = PIXELS_SIDE, header_has_pixels: bool = True) -> None:
        self.header = header
        self._load = load
        self._header_has_pixels = header_has_pixels
        self.side = side
        self.angle, self.flip = angle_flip(header, auto_rotate)
        self.width, self.height = header.width, page_height(header)
        if self.angle % 180:
            self.width, self.height = self.height, self.width

    @property
    def orientation(self) -> int:
        fields = self.header.get_fields()
        value = self.header.get("orientation") if "orientation" in fields else 1
        return value if isinstance(value, int) and 1 <= value <= 8 else 1

    @cached_property
    def pixels(self) -> pyvips.Image:
        """Upright, at most ``side`` wide and high, sRGB uchar with an alpha band, in memory."""
        _count_decode()
        # The decoder's own reduction (JPEG's DCT scaling 2, 4 or 8; WebP's scale), never past the bound.
        shrink = shrink_factor(max(self.width, self.height) / self.side)
        img = self._load(shrink) if shrink > 1 or not self._header_has_pixels else self.header
        if page_height(img) != img.height:
            img = img.crop(0, 0, img.width, page_height(img))
        img = orient(img, self.angle, self.flip)
        if max(img.width, img.height) > self.side:
            img = img.thumbnail_image(self.side, height=self.side, size="down")
        return srgba(img).copy_memory()

    @cached_property
    def rgba(self) -> np.ndarray[Any, np.dtype[np.uint8]]:
        img = self.pixels
        return np.frombuffer(img.write_to_memory(), dtype=np.uint8).reshape(img.height, img.width, 4)

    def small(self, side: int) -> np.ndarray[Any, np.dtype[np.uint8]]:
        """The pixels reduced to at most ``side`` on the longer side (RGBA)."""
        img = self.pixels
        if max(img.width, img.height) > side:
            img = img.thumbnail_image(side, height=side, size="down")
        return np.frombuffer(img.write_to_memory(), dtype=np.uint8).reshape(img.height, img.width, 4)


def srgba(img: pyvips.Image) -> pyvips.Image:
    """Four sRGB uchar bands, the last alpha (255 where the source has none)."""
    if img.interpretation not in ("srgb", "b-w") or img.format != "uchar":
        try:
            img = img.colourspace("srgb")
        except pyvips.Error:
            pass  # an interpretation libvips can't convert: the bands are taken as they are
    if img.format != "uchar":
        img = img.cast("uchar") if img.format == "char" else (img.cast("float") / (
            256.0 if img.format in ("ushort", "short") else 1.0)).cast("uchar")
    alpha = img.extract_band(img.bands - 1) if img.hasalpha() else None
    colour = img.extract_band(0, n=img.bands - 1) if alpha is not None else img
    if colour.bands < 3:
        colour = colour.extract_band(0).bandjoin([colour.extract_band(0), colour.extract_band(0)])
    elif colour.bands > 3:
        colour = colour.extract_band(0, n=3)
    return colour.bandjoin(alpha if alpha is not None else 255).copy(interpretation="srgb")
