"""``crop_to_result``: the scaled image cut to the requested size (``fill``, ``fill-down``)."""

from __future__ import annotations

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.cropping import crop_image


def crop_to_result(c: Context) -> None:
    crop_image(c, c.result_crop_width, c.result_crop_height, c.po.gravity, c.dpr_scale)
