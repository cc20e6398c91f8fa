"""Crop steps: the ``crop`` option (before scaling) and the crop to the result size."""

from __future__ import annotations

from typing import Protocol

from imgproxy_py.imaging.context import Context, materialize
from imgproxy_py.imaging.geometry import calc_position, rotate_and_flip_gravity
from imgproxy_py.options.model import Gravity, GravityType


class ObjectFocus(Protocol):
    """The detection subsystem's window placement (``imaging.objects.ObjectDetection``)."""

    def focus_window(self, c: Context, gravity: Gravity, width: int, height: int) -> tuple[int, int] | None: ...


def _crop(c: Context, left: int, top: int, width: int, height: int) -> None:
    from imgproxy_py.imaging.objects import shift_detections

    c.img = c.img.crop(left, top, width, height)
    c.full_view = False
    shift_detections(c, -left, -top)


def crop_image(c: Context, width: int, height: int, gravity: Gravity, offset_scale: float) -> None:
    if width == 0 and height == 0:
        return
    img = c.img
    width = min(width or img.width, img.width)
    height = min(height or img.height, img.height)
    if width >= img.width and height >= img.height:
        return
    if gravity.type in (GravityType.OBJECTS, GravityType.OBJECTS_WEIGHTED):
        service: ObjectFocus | None = c.services.get("objects")
        position = service.focus_window(c, gravity, width, height) if service is not None else None
        if position is not None:
            _crop(c, position[0], position[1], width, height)
            return
        gravity = Gravity(c.services.get("object_fallback", GravityType.SMART))
        # Detection may have replaced a sequentially read image with its in-memory copy: the
        # old one cannot be read again.
        img = c.img
    if gravity.type is GravityType.SMART:
        c.img = materialize(img, c.deadline).smartcrop(width, height, interesting="attention")
        c.full_view = False
        c.detections = None  # smartcrop doesn't say where it cut
        return
    left, top = calc_position(img.width, img.height, width, height, gravity, offset_scale, False)
    _crop(c, left, top, width, height)


def crop(c: Context) -> None:
    width, height = c.crop_width, c.crop_height
    gravity = rotate_and_flip_gravity(c.crop_gravity, c.po.rotate, c.po.flip_horizontal, c.po.flip_vertical)
    gravity = rotate_and_flip_gravity(gravity, c.angle, c.flip, False)
    if (c.angle + c.po.rotate) % 180 == 90:
        width, height = height, width
    crop_image(c, width, height, gravity, 1.0)


def crop_to_result(c: Context) -> None:
    crop_image(c, c.result_crop_width, c.result_crop_height, c.po.gravity, c.dpr_scale)
