"""``colorspace_to_processing``: every later step works on 8-bit sRGB (with alpha when there is one).

With ``preserve_hdr`` (``IMGPROXY_PRESERVE_HDR``) a high-bit source whose result format can
hold 16 bits stays high-bit instead: RGB16 (scRGB becomes RGB16) or, for a grey source, grey16,
as imgproxy documents.  Other results take the 8-bit fallback.
"""

from __future__ import annotations

import pyvips

from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.vips import ICC_PROFILE_FIELD, to_srgb

# Result formats that hold more than 8 bits a sample (HEIC and AVIF at 10 or 12).
HIGH_BIT_FORMATS = frozenset({ImageFormat.PNG, ImageFormat.AVIF, ImageFormat.JXL, ImageFormat.TIFF,
                              ImageFormat.HEIC})


def is_high_bit(img: pyvips.Image) -> bool:
    return img.format not in ("uchar", "char") or img.interpretation in ("rgb16", "grey16", "scrgb")


def to_high_bit(img: pyvips.Image) -> pyvips.Image:
    """RGB16 or grey16 (alpha kept), the embedded profile applied at 16 bits."""
    if img.get_typeof(ICC_PROFILE_FIELD):
        try:
            img = img.icc_transform("srgb", embedded=True, intent="perceptual", depth=16)
        except pyvips.Error:
            img = img.copy()
        img = img.copy()
        img.remove(ICC_PROFILE_FIELD)
    grey = img.bands in (1, 2) and img.interpretation in ("b-w", "grey16")
    target = "grey16" if grey else "rgb16"
    if img.interpretation != target or img.format != "ushort":
        img = img.colourspace(target)
        if img.format != "ushort":
            img = img.cast("ushort")
    return img


def colorspace_to_processing(c: Context) -> None:
    if c.out.preserve_hdr and c.out_format in HIGH_BIT_FORMATS and is_high_bit(c.img):
        c.img = to_high_bit(c.img)
        return
    c.img = to_srgb(c.img)
