"""Colour-space steps: into sRGB for processing, and the helpers other steps share."""

from __future__ import annotations

import pyvips

from imgproxy_py.imaging.context import Context

_ICC_FIELD = "icc-profile-data"


def has_alpha(img: pyvips.Image) -> bool:
    return bool(img.hasalpha())


def to_srgb(img: pyvips.Image) -> pyvips.Image:
    """Any decoded image as 8-bit sRGB (3 bands, or 4 with alpha), profile applied."""
    if img.get_typeof(_ICC_FIELD):
        try:
            img = img.icc_transform("srgb", embedded=True, intent="perceptual", depth=8)
        except pyvips.Error:
            # A broken embedded profile: fall back to the interpretation libvips guessed.
            img = img.copy()
        img = img.copy()
        img.remove(_ICC_FIELD)
    if img.interpretation not in ("srgb",) or img.bands < 3:
        img = img.colourspace("srgb")
    if img.format != "uchar":
        img = img.cast("uchar") if img.format in ("char", "short", "int") else img.colourspace("srgb")
        if img.format != "uchar":
            img = img.cast("uchar")
    if img.bands > 4:
        img = img.extract_band(0, n=4)
    return img


def colorspace_to_processing(c: Context) -> None:
    c.img = to_srgb(c.img)


def ensure_alpha(img: pyvips.Image) -> pyvips.Image:
    return img if has_alpha(img) else img.bandjoin(255)


def background_rgb(c: Context) -> list[float]:
    bg = c.po.background
    return bg.rgb if bg is not None else list(c.settings.background_default)
