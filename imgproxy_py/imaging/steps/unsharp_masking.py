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

import pyvips

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.crop_aspect_ratio import correct_crop_aspect_ratio
from imgproxy_py.imaging.geometry import calc_crop_size
from imgproxy_py.imaging.vips import has_alpha, materialize
from imgproxy_py.options.values_sharpness import UnsharpMaskingMode


def unsharp_mask(weight: float, divider: float) -> pyvips.Image:
    w = -weight
    return pyvips.Image.new_from_array([[w, w, w], [w, divider + 8 * weight, w], [w, w, w]], scale=divider)


def sharpened(colour: pyvips.Image, weight: float, divider: float) -> pyvips.Image:
    """``colour`` through the mask, in its own format.

    With whole-number settings (the defaults, 1 and 24) on 8-bit pixels, libvips' integer
    convolution does it: about a fifth less CPU than the float one (12 -> 10 ms for a 512x384
    result, 28 -> 22 ms for an 800x600 one on one libvips thread: benchmarks/unsharp_cost.py),
    on every downscaled request, and it rounds and clips to 0..255 itself; results differ from
    the float path's by at most one level where the float sum falls on a half.
    """
    mask = unsharp_mask(weight, divider)
    if colour.format == "uchar" and float(weight).is_integer() and float(divider).is_integer():
        return colour.conv(mask, precision="integer")
    top = 65535 if colour.format == "ushort" else 255
    return colour.conv(mask, precision="float").rint().clamp(min=0, max=top).cast(colour.format)


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
    img = c.img
    alpha = has_alpha(img)
    colour = img.extract_band(0, n=img.bands - 1) if alpha else img
    sharp = sharpened(colour, settings.weight, settings.divider)
    c.img = materialize(sharp.bandjoin(img.extract_band(img.bands - 1)) if alpha else sharp, c.deadline)
