"""``rotate_and_flip``: EXIF orientation, then the ``rotate`` and ``flip`` options."""

from __future__ import annotations

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.vips import ORIENTATION_FIELD, materialize, without_fields


def rotate_and_flip(c: Context) -> None:
    po = c.po
    img = c.img
    c.rotated = True
    if c.angle % 360 or c.flip or po.rotate % 360 or po.flip_horizontal or po.flip_vertical:
        c.detections = None  # recomputed (from the per-source cache) in the new orientation
    if not (c.angle % 360 or po.rotate % 360 or c.flip or po.flip_horizontal or po.flip_vertical):
        _drop_orientation(c)
        return
    if c.angle % 360 or po.rotate % 360 or po.flip_vertical:
        img = materialize(img, c.deadline)  # rotating reads the image out of order
    if c.angle:
        img = img.rot(f"d{c.angle % 360}")
    if c.flip:
        img = img.fliphor()
    if po.rotate % 360:
        img = img.rot(f"d{po.rotate % 360}")
    if po.flip_horizontal:
        img = img.fliphor()
    if po.flip_vertical:
        img = img.flipver()
    c.img = img
    _drop_orientation(c)


def _drop_orientation(c: Context) -> None:
    # The pixels are upright now; a leftover tag would make viewers rotate them again.
    c.img = without_fields(c.img, ORIENTATION_FIELD)
