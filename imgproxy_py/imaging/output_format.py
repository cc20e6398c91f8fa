"""Choosing the output format: the ``format`` option, the client's Accept (``auto_webp``,
``auto_avif``, their ``enforce_*`` forms), the source's own format, then the preferred formats.

What each format can hold (alpha, animation) comes from its record (``imgproxy_py.formats``);
whether this build can write it from ``codecs.save.can_save``.
"""

from __future__ import annotations

import pyvips

from imgproxy_py.errors import UnsupportedFormatError
from imgproxy_py.formats import Codec, ImageFormat
from imgproxy_py.imaging import best_format
from imgproxy_py.imaging.codecs import wheels
from imgproxy_py.imaging.codecs.save import can_save
from imgproxy_py.imaging.vips import has_alpha
from imgproxy_py.options.model import OutputOptions, RequestOptions


def svg_passthrough(out: OutputOptions, always_rasterize: bool) -> bool:
    """Whether an SVG source is answered as (sanitized) SVG rather than rendered."""
    if out.format is ImageFormat.SVG:
        return True
    if out.format is None and not always_rasterize:
        return True
    return out.format is None and ImageFormat.SVG in out.skip_processing


def choose_format(img: pyvips.Image, src: ImageFormat | None, options: RequestOptions, animated: bool,
                  preferred: tuple[ImageFormat, ...]) -> ImageFormat:
    out = options.output
    pipes = options.pipelines
    # A translucent background (background_alpha) keeps the alpha channel.
    flattens = any(p.background is not None and p.background_alpha >= 1 for p in pipes)
    expect_alpha = not flattens and (has_alpha(img) or any(
        p.padding_enabled or p.extend.enabled or p.extend_aspect_ratio.enabled for p in pipes))
    fmt = out.format
    if fmt is ImageFormat.SVG:
        raise UnsupportedFormatError("a raster source can't be saved as SVG")
    if fmt is None and out.best_format:
        # The candidates are tried when encoding; until then the steps work for the first.
        fmt = next(iter(best_format.candidates(out, preferred, animated=animated, alpha=expect_alpha)), None)
    if fmt is None:
        if out.prefer_jxl and not animated and can_save(ImageFormat.JXL):
            fmt = ImageFormat.JXL
        elif out.prefer_avif and not animated and can_save(ImageFormat.AVIF):
            fmt = ImageFormat.AVIF
        elif out.prefer_webp:
            fmt = ImageFormat.WEBP
        elif src is not None and can_save(src) and (not animated or src.supports_animation):
            fmt = src
        else:
            fmt = _preferred(preferred, animated, expect_alpha)
    elif out.enforce_jxl and not animated and can_save(ImageFormat.JXL):
        fmt = ImageFormat.JXL
    elif out.enforce_avif and not animated and can_save(ImageFormat.AVIF):
        fmt = ImageFormat.AVIF
    elif out.enforce_webp:
        fmt = ImageFormat.WEBP
    if fmt.spec.codec is Codec.WHEEL and fmt.spec.saver:
        wheels.require(fmt.value)  # a 501 naming the extra when the wheel is missing
    if not can_save(fmt):
        raise UnsupportedFormatError(f"saving {fmt.value} is not supported")
    return fmt


def _preferred(preferred: tuple[ImageFormat, ...], animated: bool, expect_alpha: bool) -> ImageFormat:
    for fmt in preferred:
        if animated and not fmt.supports_animation:
            continue
        if expect_alpha and not fmt.supports_alpha:
            continue
        return fmt
    return preferred[0]


def fallback_for_small(fmt: ImageFormat, img: pyvips.Image, height: int) -> ImageFormat:
    """A format that can hold an image this small: AVIF can't be written under 16 pixels a
    side (``FormatSpec.min_dimension``), so such a result is a PNG (with alpha) or a JPEG."""
    limit = fmt.spec.min_dimension
    if limit and (img.width < limit or height < limit):
        return ImageFormat.PNG if has_alpha(img) else ImageFormat.JPEG
    return fmt
