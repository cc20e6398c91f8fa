"""``unsharp_masking`` (imgproxy Pro): a light sharpening that makes up for the softness of
downscaling.

``IMGPROXY_UNSHARP_MASKING_MODE`` (or the ``unsharp_masking`` option) says when: ``auto`` when
the image was downscaled and ``sharpen`` is not set, ``always``, or ``none``.  The mask is a
3x3 convolution: each neighbour counts ``-weight``, the pixel ``divider + 8 * weight``, all
over ``divider``; flat areas keep their value (the weights sum to one) and edges get
``8 * weight / divider`` of their contrast added: a greater weight or a smaller divider is
sharper, as imgproxy's settings describe.
"""

from __future__ import annotations

import numpy as np
import pyvips

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.crop_aspect_ratio import correct_crop_aspect_ratio
from imgproxy_py.imaging.geometry import calc_crop_size
from imgproxy_py.imaging.vips import has_alpha, materialize, pixel_array
from imgproxy_py.options.values_sharpness import UnsharpMaskingMode


def unsharp_mask(weight: float, divider: float) -> pyvips.Image:
    w = -weight
    return pyvips.Image.new_from_array([[w, w, w], [w, divider + 8 * weight, w], [w, w, w]], scale=divider)


def sharpened(colour: pyvips.Image, weight: float, divider: float) -> pyvips.Image:
    """``colour`` through the mask, in its own format, its edges extended by copying.

    With whole-number settings (the defaults, 1 and 24) on 8-bit pixels the mask is exact
    integer arithmetic: ``_sharpened_in_16_bits`` does it on the image in memory.  libvips'
    integer convolution gives the same pixels, but this mask is off its vector path (a divider
    of 24 has no power-of-two form) and its C loop costs 3.5-4.5x the CPU: 8.3 -> 2.4 ms at
    512x384, 19.3 -> 4.1 ms at 800x600 (benchmarks/unsharp_cost.py), on every downscaled request.
    Other settings take libvips' float convolution, rounded and clipped.
    """
    if colour.format == "uchar" and _fits_16_bits(weight, divider):
        return _sharpened_in_16_bits(colour, int(weight), int(divider))
    mask = unsharp_mask(weight, divider)
    top = 65535 if colour.format == "ushort" else 255
    return colour.conv(mask, precision="float").rint().clamp(min=0, max=top).cast(colour.format)


def _fits_16_bits(weight: float, divider: float) -> bool:
    """Whether the mask's sums for 8-bit pixels stay within int16 (whole numbers only)."""
    if not (float(weight).is_integer() and float(divider).is_integer()) or weight < 0 or divider < 1:
        return False
    return (divider + 9 * weight) * 255 + divider < 2**15 and 9 * weight * 255 < 2**15


# Rows per pass of the 16-bit path: its temporaries stay small enough for the allocator to reuse
# (and for the cache); whole-image temporaries were fresh pages on every request.
_STRIP_ROWS = 32


def _sharpened_in_16_bits(colour: pyvips.Image, weight: int, divider: int) -> pyvips.Image:
    """The mask as ``((divider + 9w)·p − w·box3x3 + divider/2) // divider``, 32 rows at a time:
    the 3x3 box sum in two separable passes of int16 adds, then one multiply and one division.
    ``colour`` must be in memory (the step materializes it first)."""
    pixels = pixel_array(colour)
    height, width, bands = pixels.shape
    result = np.empty((height, width, bands), np.uint8)
    centre = np.int16(divider + 9 * weight)
    for top in range(0, height, _STRIP_ROWS):
        bottom = min(height, top + _STRIP_ROWS)
        # The strip with one more row above and below and one more column each side, the
        # image's edges copied outwards as libvips' convolution extends them.
        padded = np.empty((bottom - top + 2, width + 2, bands), np.int16)
        padded[1:-1, 1:-1] = pixels[top:bottom]
        padded[0, 1:-1] = pixels[max(0, top - 1)]
        padded[-1, 1:-1] = pixels[min(height - 1, bottom)]
        padded[:, 0] = padded[:, 1]
        padded[:, -1] = padded[:, -2]
        rows = padded[:, :-2] + padded[:, 1:-1]
        rows += padded[:, 2:]
        box = rows[:-2] + rows[1:-1]
        box += rows[2:]
        if weight != 1:
            box *= np.int16(weight)
        out = padded[1:-1, 1:-1] * centre
        out -= box
        out += np.int16(divider // 2)
        out //= np.int16(divider)
        np.clip(out, 0, 255, out=out)
        result[top:bottom] = out
    # Pasted over the source, whose metadata (profile, EXIF, resolution) libvips carries on.
    return colour.insert(pyvips.Image.new_from_array(result), 0, 0)


def was_downscaled(c: Context) -> bool:
    """Whether the scaled image is smaller than the part of the source it shows (the crop area
    as ``calc_params`` worked it out; shrink-on-load has since changed the context's copy)."""
    po = c.po
    width, height = correct_crop_aspect_ratio(
        c.src_width, c.src_height, calc_crop_size(c.src_width, po.crop.width),
        calc_crop_size(c.src_height, po.crop.height), po.crop_aspect_ratio)
    return c.scaled_width < (width or c.src_width) or c.scaled_height < (height or c.src_height)


def unsharp_masking(c: Context) -> None:
    settings = c.settings.unsharp_masking.with_args(c.po.unsharp_masking)
    if settings.mode is UnsharpMaskingMode.NONE:
        return
    if settings.mode is UnsharpMaskingMode.AUTO and (c.po.sharpen > 0 or not was_downscaled(c)):
        return
    img = materialize(c.img, c.deadline)  # computed once, for the mask and the alpha band
    alpha = has_alpha(img)
    colour = img.extract_band(0, n=img.bands - 1) if alpha else img
    sharp = sharpened(colour, settings.weight, settings.divider)
    c.img = materialize(sharp.bandjoin(img.extract_band(img.bands - 1)) if alpha else sharp, c.deadline)
