"""What the result says about itself besides its pixels: its resolution (``dpi``,
``IMGPROXY_STRIP_METADATA_DPI``) and the colour profile ``color_profile`` converts it to."""

from __future__ import annotations

from pathlib import Path

import pyvips

from imgproxy_py.errors import InvalidURLError, UnprocessableImageError
from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.codecs.settings import EncoderSettings
from imgproxy_py.imaging.vips import ICC_PROFILE_FIELD
from imgproxy_py.options.model import OutputOptions
from imgproxy_py.options.values_encoding import BUILTIN_PROFILES

MM_PER_INCH = 25.4
# The savers that write an ICC profile; the others drop it, so color_profile is ignored there.
PROFILE_FORMATS = frozenset({ImageFormat.JPEG, ImageFormat.PNG, ImageFormat.WEBP, ImageFormat.AVIF,
                             ImageFormat.HEIC, ImageFormat.TIFF, ImageFormat.JXL})
# The ones that can also hold CMYK pixels; elsewhere a CMYK profile is ignored as well.
CMYK_FORMATS = frozenset({ImageFormat.JPEG, ImageFormat.TIFF})
PROFILE_EXTENSIONS = ("", ".icc", ".icm", ".ICC", ".ICM")
MAX_PROFILE_BYTES = 4 * 1024 * 1024


def apply_result_metadata(img: pyvips.Image, out: OutputOptions, fmt: ImageFormat,
                          settings: EncoderSettings) -> pyvips.Image:
    """The resolution and colour profile the request asks for, after metadata was stripped."""
    dpi = out.dpi or (settings.strip_metadata_dpi if out.strip_metadata else 0.0)
    if dpi > 0:
        img = img.copy(xres=dpi / MM_PER_INCH, yres=dpi / MM_PER_INCH)
    if out.color_profile and fmt in PROFILE_FORMATS:
        img = convert_to_profile(img, out.color_profile, fmt, settings.color_profiles_dir)
    return img


def profile_source(name: str, profiles_dir: str) -> str:
    """What libvips' icc_transform takes for ``name``: a built-in name or a file's path.

    An unknown name is the URL's mistake: a 404 naming it, as any bad option argument is."""
    if name in BUILTIN_PROFILES:
        return name
    folder = Path(profiles_dir)
    for extension in PROFILE_EXTENSIONS:
        path = folder / (name + extension)
        # The name is one path segment (options.output), so the file is in the folder itself.
        try:
            if path.is_file() and path.stat().st_size <= MAX_PROFILE_BYTES:
                return str(path)
        except OSError:  # a name too long for the file system, a folder we may not read
            continue
    raise InvalidURLError(f"Invalid color_profile argument: {name!r} (unknown color profile)")


def convert_to_profile(img: pyvips.Image, name: str, fmt: ImageFormat, profiles_dir: str) -> pyvips.Image:
    """``img`` (8-bit sRGB after the steps, or in the RGB space of the profile it kept)
    converted to the profile, which it then carries."""
    source = profile_source(name, profiles_dir)
    try:
        converted = img.icc_transform(source, embedded=True, input_profile="srgb", intent="perceptual", depth=8)
    except pyvips.Error as exc:
        raise UnprocessableImageError(f"can't convert to color profile {name!r}: {exc}") from exc
    if converted.interpretation == "cmyk" and fmt not in CMYK_FORMATS:
        return img  # PNG, WebP, AVIF have no CMYK: the profile is ignored as for GIF
    if not converted.get_typeof(ICC_PROFILE_FIELD):
        raise UnprocessableImageError(f"color profile {name!r} was not embedded")
    return converted
