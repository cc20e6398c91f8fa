"""Blurs shared by the ``blur_areas`` and ``progressive_blur`` steps: on the colour bands only
(alpha is carried through), in the image's own depth, and cheap whatever the sigma."""

from __future__ import annotations

import math

import pyvips

from imgproxy_py.imaging.vips import has_alpha

# libvips' gaussblur refuses a larger sigma; apply_filters clamps ``blur`` the same way.
MAX_BLUR_SIGMA = 1000.0
# A wider blur runs on a shrunk copy: a Gaussian's cost grows with its sigma, and what a wide
# blur leaves is smooth enough to be shrunk and enlarged again without a visible difference.
CHEAP_SIGMA = 8.0


def _colour_and_alpha(img: pyvips.Image) -> tuple[pyvips.Image, pyvips.Image | None]:
    if has_alpha(img):
        return img.extract_band(0, n=img.bands - 1), img.extract_band(img.bands - 1)
    return img, None


def gaussian_blur(img: pyvips.Image, sigma: float) -> pyvips.Image:
    """``img`` blurred with this sigma (none below 0.1), alpha untouched, format kept."""
    sigma = min(sigma, MAX_BLUR_SIGMA)
    if sigma < 0.1:
        return img
    colour, alpha = _colour_and_alpha(img)
    if sigma <= CHEAP_SIGMA:
        blurred = colour.gaussblur(sigma).cast(img.format)
    else:
        # Blurred at CHEAP_SIGMA on a copy shrunk by CHEAP_SIGMA / sigma, then brought back.
        shrink = CHEAP_SIGMA / sigma
        small_width = max(1, math.ceil(colour.width * shrink))
        small_height = max(1, math.ceil(colour.height * shrink))
        small = colour.resize(small_width / colour.width, vscale=small_height / colour.height, kernel="linear")
        small = small.gaussblur(sigma * small_width / colour.width)
        back = small.resize(colour.width / small.width, vscale=colour.height / small.height, kernel="linear")
        if back.width < colour.width or back.height < colour.height:
            back = back.embed(0, 0, max(back.width, colour.width), max(back.height, colour.height), extend="copy")
        blurred = back.crop(0, 0, colour.width, colour.height).cast(img.format)
    return blurred if alpha is None else blurred.bandjoin(alpha)


def blur_at_scale(img: pyvips.Image, sigma: float, scale: float) -> pyvips.Image:
    """Blur what will be shown ``scale`` times its size as ``sigma`` would blur it at that size."""
    return gaussian_blur(img, min(sigma, MAX_BLUR_SIGMA) / scale)
