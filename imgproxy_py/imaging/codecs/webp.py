"""Still, lossy WebP through Pillow's libwebp: the same encoder settings as libvips' ``webpsave``,
the same picture, for less CPU.

libvips and Pillow both hand the pixels to libwebp with ``WebPConfigPreset(default, Q)`` and the
method (effort), so the ``VP8`` chunk is the same byte for byte, and both write an ICC profile as
the same ``ICCP`` chunk; but libvips' saver costs 5-15% more CPU per image (an 800x600 result:
84 against 79 ms, and 101 against 88 ms, in two runs of ``benchmarks/codec_costs.py``), on every
WebP request.  libvips gives a result without EXIF one made from the image's fields; this path
writes the part of it that says something (resolution, its unit, orientation 1) with Pillow's
EXIF writer.  Anything else goes to libvips: animations, lossless and near-lossless, another
preset, smart subsampling, the source's EXIF or XMP (libvips merges the image's fields into
them), 16-bit pixels, bands other than RGB or RGBA, and images over ``MAX_PIXELS``.
"""

from __future__ import annotations

import functools
import io
from typing import Any

import pyvips

from imgproxy_py.imaging.codecs.wheels import blob
from imgproxy_py.imaging.vips import ICC_PROFILE_FIELD, PAGE_HEIGHT_FIELD

# Fields that make a file differ from what this path writes.
_LIBVIPS_ONLY_FIELDS = frozenset({"exif-data", "xmp-data", PAGE_HEIGHT_FIELD})
# Above this many pixels libvips' saver is the better one: this path holds the pixels twice
# before libwebp's own copy (a NumPy array, then Pillow's image), and its CPU lead has gone: a
# 96 MP result took 975 MB and 8.2 s here, 509 MB and 7.2 s through libvips.
MAX_PIXELS = 16_000_000


@functools.cache
def _pillow_has_webp() -> bool:
    try:
        from PIL import features
    except ImportError:
        return False
    return bool(features.check("webp"))


def can_save(img: pyvips.Image, options: dict[str, Any]) -> bool:
    """Whether ``img`` with these ``webpsave`` options is a still, lossy, default-preset image."""
    if options.get("lossless") or options.get("near_lossless") or options.get("smart_subsample"):
        return False
    if options.get("preset", "default") != "default" or set(options) - {
            "Q", "effort", "preset", "smart_subsample", "lossless", "near_lossless"}:
        return False
    if img.format != "uchar" or img.bands not in (3, 4) or img.interpretation not in ("srgb", "rgb"):
        return False
    if img.width * img.height > MAX_PIXELS:
        return False
    if _LIBVIPS_ONLY_FIELDS.intersection(img.get_fields()):
        return False
    return _pillow_has_webp()


def save(img: pyvips.Image, options: dict[str, Any]) -> bytes:
    """``img`` as libvips' ``webpsave_buffer(**options)`` writes it; ``can_save`` must hold."""
    from PIL import Image

    picture = Image.fromarray(img.numpy())  # (h, w, 3) or (h, w, 4) uint8: RGB or RGBA
    out = io.BytesIO()
    picture.save(out, "WEBP", quality=int(options.get("Q", 75)), method=int(options.get("effort", 4)),
                 icc_profile=blob(img, ICC_PROFILE_FIELD), exif=_resolution_exif(img))
    return out.getvalue()


def _resolution_exif(img: pyvips.Image) -> bytes:
    """EXIF with the resolution libvips would write (its pixels per mm in dots per inch) and
    orientation 1, as libvips' own EXIF for an image without one says."""
    from PIL import Image

    exif = Image.Exif()
    exif[_ORIENTATION] = 1
    exif[_X_RESOLUTION] = round(img.xres * 25.4, 4)
    exif[_Y_RESOLUTION] = round(img.yres * 25.4, 4)
    exif[_RESOLUTION_UNIT] = 2  # inches
    return exif.tobytes()


_ORIENTATION, _X_RESOLUTION, _Y_RESOLUTION, _RESOLUTION_UNIT = 0x0112, 0x011A, 0x011B, 0x0128
