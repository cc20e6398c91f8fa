"""Encoders: the saver each format's record names (``imgproxy_py.formats``), with our settings
(``codecs.settings``).

libvips' savers write most formats; ICO and BMP are our own (``codecs.ico``, ``codecs.bmp``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pyvips

from imgproxy_py.errors import UnprocessableImageError, UnsupportedFormatError
from imgproxy_py.formats import Codec, ImageFormat
from imgproxy_py.imaging.codecs import bmp, heic, ico, jxl, webp, wheels
from imgproxy_py.imaging.codecs.settings import EncoderSettings

__all__ = ["EncoderSettings", "can_save", "encode"]


# Our own encoders, under the saver names the format records give them; they take no options.
_BUILTIN_SAVERS: dict[str, Callable[[pyvips.Image], bytes]] = {"bmpsave": bmp.save_bmp, "icosave": ico.save_ico}


def _save_wheel(img: pyvips.Image, fmt: ImageFormat, quality: int, s: EncoderSettings,
                extra: dict[str, Any]) -> bytes | None:
    """HEIC and JPEG XL through their wheels (``codecs.heic``, ``codecs.jxl``); None for others.
    A 16-bit image (``preserve_hdr``) is written with its depth."""
    sixteen = img.format == "ushort"
    if fmt.spec.saver == "heicsave":
        return heic.save_heic(img, quality=quality, sixteen=sixteen)
    if fmt.spec.saver == "jxlsave":
        return jxl.save_jxl(img, quality=quality, effort=s.jxl_effort, sixteen=sixteen,
                            lossless=bool(extra.get("lossless")))
    return None


def _save(img: pyvips.Image, fmt: ImageFormat, quality: int, settings: EncoderSettings,
          extra: dict[str, Any]) -> bytes:
    saver = fmt.spec.saver
    builtin = _BUILTIN_SAVERS.get(saver)
    if builtin is not None:
        return builtin(img)
    if not saver:
        raise ValueError(f"{fmt.value} has no saver")
    wheel = _save_wheel(img, fmt, quality, settings, extra)
    if wheel is not None:
        return wheel
    # ``extra`` (PNG palettes from the optimizer) overrides our defaults.
    options = {**settings.save_options(fmt, quality), **extra}
    if fmt is ImageFormat.AVIF and img.format == "ushort":
        options["bitdepth"] = 12  # a high-bit result (``preserve_hdr``) keeps its depth
    if fmt is ImageFormat.WEBP and webp.can_save(img, options):
        return webp.save(img, options)  # the same picture as libvips' saver writes, for less CPU
    return bytes(getattr(img, saver + "_buffer")(**options))


@functools.cache
def can_save(fmt: ImageFormat) -> bool:
    """Whether this libvips build can write ``fmt`` (probed once with a tiny image)."""
    if not fmt.spec.saver:
        return False
    if fmt.spec.codec is Codec.WHEEL:
        return wheels.installed(fmt.value)
    try:
        probe = pyvips.Image.black(16, 16, bands=3).cast("uchar")
        _save(probe, fmt, 50, EncoderSettings(), {})
    except (pyvips.Error, ValueError):
        return False
    return True


def encode(img: pyvips.Image, fmt: ImageFormat, quality: int, settings: EncoderSettings,
           extra: dict[str, Any] | None = None) -> bytes:
    if fmt.spec.codec is Codec.WHEEL and fmt.spec.saver:
        wheels.require(fmt.value)  # a 501 naming the extra
    if not can_save(fmt):
        raise UnsupportedFormatError(f"saving {fmt.value} is not supported by this build")
    try:
        return _save(img, fmt, quality, settings, extra or {})
    except (pyvips.Error, ValueError, RuntimeError, OSError) as exc:  # OSError: Pillow's encoders
        raise UnprocessableImageError(f"can't encode {fmt.value}: {exc}") from exc
