"""Turn any pyvips image into the small sRGB uint8 array the networks read."""

from __future__ import annotations

import numpy as np
import pyvips

from imgproxy_py.detection.geometry import UInt8Array

# Transparent areas are shown to the networks as neutral grey: their colour values are often
# garbage, and black or white could pass for hair, sky or a shirt.
_TRANSPARENT_FILL = 128

_SIXTEEN_BIT = {"ushort", "short", "uint", "int"}
_FLOAT = {"float", "double", "complex", "dpcomplex"}


def to_srgb_uchar(image: pyvips.Image) -> pyvips.Image:
    """A 3-band sRGB uchar view of ``image`` (lazy; the input is left untouched)."""
    image = _to_srgb(image)
    if image.format != "uchar":
        image = _to_uchar(image)
    if image.hasalpha():
        image = image.flatten(background=[_TRANSPARENT_FILL] * (image.bands - 1))
    if image.bands == 1:
        image = image.bandjoin([image, image])
    elif image.bands == 2:
        # Two bands without alpha (unusual interpretation): treat the first as grey.
        first = image.extract_band(0)
        image = first.bandjoin([first, first])
    elif image.bands > 3:
        image = image.extract_band(0, n=3)
    return image.copy(interpretation="srgb")


def _to_srgb(image: pyvips.Image) -> pyvips.Image:
    if image.interpretation == "srgb" and image.format == "uchar":
        return image
    interpretation = _consistent_interpretation(image)
    image = image.copy(interpretation=interpretation)
    if interpretation in ("srgb", "b-w") and image.format in _FLOAT:
        # libvips would cast these to uchar as they are, which flattens 0..1 floats to black.
        image = _to_uchar(image)
    try:
        return image.colourspace("srgb")
    except pyvips.Error:
        return image


def _consistent_interpretation(image: pyvips.Image) -> str:
    """The interpretation libvips should convert from.

    Images made from raw arrays say "multiband", and a 16-bit image labelled "srgb" would be
    clipped, not scaled, to 8 bits: judge those by band count and format instead.
    """
    interpretation = str(image.interpretation)
    sixteen_bit = image.format in _SIXTEEN_BIT
    grey = image.bands <= 2
    if interpretation in ("multiband", "histogram", "fourier", "matrix"):
        if sixteen_bit:
            return "grey16" if grey else "rgb16"
        return "b-w" if grey else "srgb"
    if sixteen_bit and interpretation == "srgb":
        return "rgb16"
    if sixteen_bit and interpretation == "b-w":
        return "grey16"
    return interpretation


def _to_uchar(image: pyvips.Image) -> pyvips.Image:
    if image.format in _SIXTEEN_BIT:
        return (image / 256).cast("uchar")
    if image.format in _FLOAT:
        image = image.real() if image.format in ("complex", "dpcomplex") else image
        # Float images are either 0..1 (scRGB-like) or 0..255; the maximum tells which.
        peak = image.max()
        if peak <= 1.0:
            image = image * 255
    return image.cast("uchar")


def shrink_to_fit(image: pyvips.Image, max_width: int, max_height: int) -> pyvips.Image:
    """Downscale (never upscale) to fit ``max_width`` x ``max_height``, keeping the aspect ratio."""
    scale = min(max_width / image.width, max_height / image.height)
    if scale >= 1.0:
        return image
    # Asking for the target width explicitly avoids off-by-one sizes from rounding the scale.
    target_width = max(1, round(image.width * scale))
    target_height = max(1, round(image.height * scale))
    return image.resize(target_width / image.width, vscale=target_height / image.height)


def resize_exact(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    if (image.width, image.height) == (width, height):
        return image
    return image.resize(width / image.width, vscale=height / image.height)


def to_array(image: pyvips.Image) -> UInt8Array:
    """The pixels of a uchar image as an ``H x W x bands`` array."""
    data = image.write_to_memory()
    return np.frombuffer(data, dtype=np.uint8).reshape(image.height, image.width, image.bands)
