"""``colorspace_to_processing``: every later step works on 8-bit sRGB (with alpha when there is one).

With ``preserve_hdr`` (``IMGPROXY_PRESERVE_HDR``) a high-bit source whose result format can
hold 16 bits stays high-bit instead: RGB16 (scRGB becomes RGB16) or, for a grey source, grey16,
as imgproxy documents.  Other results, and requests using steps written for 8 bits
(``HIGH_BIT_SAFE_OPTIONS``), take the 8-bit fallback.
"""

from __future__ import annotations

import dataclasses

import pyvips

from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.vips import apply_embedded_profile, has_alpha, to_srgb
from imgproxy_py.options.model import PipelineOptions

# Result formats that hold more than 8 bits a sample (HEIC and AVIF at 10 or 12).
HIGH_BIT_FORMATS = frozenset({ImageFormat.PNG, ImageFormat.AVIF, ImageFormat.JXL, ImageFormat.TIFF,
                              ImageFormat.HEIC})


def is_high_bit(img: pyvips.Image) -> bool:
    return img.format not in ("uchar", "char") or img.interpretation in ("rgb16", "grey16", "scrgb")


def to_high_bit(img: pyvips.Image) -> pyvips.Image:
    """RGB16 or grey16 (alpha kept), the embedded profile applied at 16 bits."""
    img = apply_embedded_profile(img, depth=16)
    grey = img.bands in (1, 2) and img.interpretation in ("b-w", "grey16")
    target = "grey16" if grey else "rgb16"
    if img.interpretation != target or img.format != "ushort":
        img = img.colourspace(target)
        if img.format != "ushort":
            img = img.cast("ushort")
    return img


# Pipeline options whose steps work on 16-bit pixels (geometry, orientation, brightness).  Any
# other option in use (padding, background, filters, watermark, detection effects, plugins...)
# has steps written for 8 bits: such a request takes the 8-bit fallback, as does a source with
# alpha, rather than a wrong result.
HIGH_BIT_SAFE_OPTIONS = frozenset({
    "resizing_type", "width", "height", "min_width", "min_height", "zoom_x", "zoom_y", "dpr", "enlarge",
    "gravity", "crop", "auto_rotate", "rotate", "flip_horizontal", "flip_vertical", "brightness",
    "objects_position"})
_DEFAULTS = PipelineOptions()


def keeps_high_bit(c: Context) -> bool:
    if not (c.out.preserve_hdr and c.out_format in HIGH_BIT_FORMATS and is_high_bit(c.img)) or has_alpha(c.img):
        return False
    return all(getattr(c.po, f.name) == getattr(_DEFAULTS, f.name)
               for f in dataclasses.fields(PipelineOptions) if f.name not in HIGH_BIT_SAFE_OPTIONS)


def colorspace_to_processing(c: Context) -> None:
    if keeps_high_bit(c):
        c.img = to_high_bit(c.img)
        return
    c.img = to_srgb(c.img)
