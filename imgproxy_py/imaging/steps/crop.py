"""``crop``: the ``crop`` option, in source pixels, before scaling (the gravity turned with the image)."""

from __future__ import annotations

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.cropping import crop_image
from imgproxy_py.imaging.geometry import rotate_and_flip_gravity


def crop(c: Context) -> None:
    width, height = c.crop_width, c.crop_height
    gravity = rotate_and_flip_gravity(c.crop_gravity, c.po.rotate, c.po.flip_horizontal, c.po.flip_vertical)
    gravity = rotate_and_flip_gravity(gravity, c.angle, c.flip, False)
    if (c.angle + c.po.rotate) % 180 == 90:
        width, height = height, width
    crop_image(c, width, height, gravity, 1.0)
