"""``colorspace_to_processing``: every later step works on 8-bit sRGB (with alpha when there is one).

A grey source without alpha stays one 8-bit grey channel where the result format and the steps
in use allow it (``keeps_grey``), as imgproxy 4 keeps it.

With ``strip_color_profile`` off (``scp:0``, ``IMGPROXY_STRIP_COLOR_PROFILE=false``) and a result
format that carries a profile, an RGB source keeps its own colour space, as imgproxy keeps it:
its pixels are processed as they are (8-bit) and its embedded profile (Display P3, Adobe RGB...)
goes with the result, so wide-gamut colours survive.  Other sources (CMYK, grey, Lab) are
converted to sRGB either way.

With ``preserve_hdr`` (``IMGPROXY_PRESERVE_HDR``) a high-bit source whose result format can
hold 16 bits stays high-bit instead: RGB16 (scRGB becomes RGB16) or, for a grey source, grey16,
alpha kept, as imgproxy documents.  Other results, and requests using steps written for 8 bits
(``HIGH_BIT_SAFE_OPTIONS``), take the 8-bit fallback.  ``flatten`` turns a grey image RGB when
its background is a colour, as imgproxy does.
"""

from __future__ import annotations

import dataclasses

import pyvips

from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.result_metadata import PROFILE_FORMATS
from imgproxy_py.imaging.vips import ICC_PROFILE_FIELD, is_high_bit, to_high_bit, to_srgb
from imgproxy_py.options.model import GravityType, PipelineOptions

# Result formats that hold more than 8 bits a sample (HEIC and AVIF at 10 or 12).
HIGH_BIT_FORMATS = frozenset({ImageFormat.PNG, ImageFormat.AVIF, ImageFormat.JXL, ImageFormat.TIFF,
                              ImageFormat.HEIC})


# Pipeline options whose steps work on 16-bit and grey pixels (geometry, orientation, margins and
# the background they are flattened onto, brightness, watermarks).  Any other option in use
# (filters, detection effects, plugins...) has steps written for 8-bit sRGB: such a request takes
# the 8-bit sRGB fallback rather than a wrong result.
HIGH_BIT_SAFE_OPTIONS = frozenset({
    "resizing_type", "width", "height", "min_width", "min_height", "zoom_x", "zoom_y", "dpr", "enlarge",
    "gravity", "crop", "auto_rotate", "rotate", "flip_horizontal", "flip_vertical", "brightness",
    "objects_position", "extend", "extend_aspect_ratio", "padding", "background", "watermark",
    "watermark_style"})
_DEFAULTS = PipelineOptions()


def only_safe_options(po: PipelineOptions) -> bool:
    """Whether every pipeline option in use is one of ``HIGH_BIT_SAFE_OPTIONS``."""
    return all(getattr(po, f.name) == getattr(_DEFAULTS, f.name)
               for f in dataclasses.fields(PipelineOptions) if f.name not in HIGH_BIT_SAFE_OPTIONS)


def keeps_high_bit(c: Context) -> bool:
    if not (c.out.preserve_hdr and c.out_format in HIGH_BIT_FORMATS and is_high_bit(c.img)):
        return False
    return only_safe_options(c.po)


# Results whose saver writes one grey channel: libvips' own, the JPEG XL wheel and ICO's PNG
# entry, as imgproxy 4 writes them.  AVIF, HEIC, WebP and GIF have none, or go through wheels
# that take RGB.
GREY_FORMATS = frozenset({ImageFormat.PNG, ImageFormat.JPEG, ImageFormat.TIFF, ImageFormat.JXL, ImageFormat.ICO})
# Gravities that need no colour: detection and smart crop read RGB.
_GREY_GRAVITIES = frozenset({GravityType.NORTH, GravityType.SOUTH, GravityType.EAST, GravityType.WEST,
                             GravityType.NORTH_EAST, GravityType.NORTH_WEST, GravityType.SOUTH_EAST,
                             GravityType.SOUTH_WEST, GravityType.CENTER, GravityType.FOCUS_POINT})


def keeps_grey(c: Context) -> bool:
    """Whether a grey source stays one grey channel (8 bits), as imgproxy 4 keeps it: its PNG
    is a quarter smaller than the same pixels as RGB.  Only for results written by libvips'
    grey-capable savers, without a profile to apply or choose, and with steps that need no
    colour (autoquality, max_bytes and PNG palettes take one band as well); anything else gets
    8-bit sRGB as before."""
    img, out = c.img, c.out
    if img.bands != 1 or (img.interpretation, img.format) not in (("b-w", "uchar"), ("grey16", "ushort")):
        return False  # float or mislabelled grey takes to_srgb's conversions
    if img.get_typeof(ICC_PROFILE_FIELD):
        return False
    if c.out_format not in GREY_FORMATS or out.best_format or out.color_profile:
        return False
    crop_gravity = c.po.crop.gravity or c.po.gravity
    if c.po.gravity.type not in _GREY_GRAVITIES or crop_gravity.type not in _GREY_GRAVITIES:
        return False
    return only_safe_options(c.po)


def keeps_colour_profile(c: Context) -> bool:
    """Whether the source's own RGB colour space and profile go through to the result."""
    img = c.img
    if c.out.strip_color_profile or c.out_format not in PROFILE_FORMATS or not img.get_typeof(ICC_PROFILE_FIELD):
        return False
    if img.interpretation not in ("srgb", "rgb", "rgb16") or img.bands not in (3, 4):
        return False
    profile = bytes(img.get(ICC_PROFILE_FIELD))
    return profile[16:20] == b"RGB "  # the profile's data colour space, ICC.1 7.2.6


def in_own_rgb(img: pyvips.Image) -> pyvips.Image:
    """The RGB image as 8-bit numbers of its own colour space, its profile still attached."""
    if img.format != "uchar":  # RGB16: the numbers scaled down, no colour conversion
        img = img.colourspace("srgb")
        if img.format != "uchar":
            img = img.cast("uchar")
    return img.copy(interpretation="srgb")


def colorspace_to_processing(c: Context) -> None:
    if keeps_high_bit(c):
        c.img = to_high_bit(c.img)
        return
    if keeps_grey(c):
        c.img = c.img if c.img.format == "uchar" else c.img.colourspace("b-w")  # grey16: scaled to 8 bits
        return
    c.img = in_own_rgb(c.img) if keeps_colour_profile(c) else to_srgb(c.img)
