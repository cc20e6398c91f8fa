"""Cropping the current image to a size by a gravity, shared by the ``crop`` and
``crop_to_result`` steps: object gravity asks the detector, smart gravity libvips' attention
window (``attention``) or, with ``IMGPROXY_SMART_CROP_ADVANCED``, our feature map
(``smart_crop``), after the face detector with ``IMGPROXY_SMART_CROP_FACE_DETECTION`` (imgproxy
Pro's extra step); the rest is arithmetic (``geometry.calc_position``)."""

from __future__ import annotations

from imgproxy_py.detection.detector import FACE_CLASS
from imgproxy_py.imaging.attention import attention_window
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.geometry import calc_position
from imgproxy_py.imaging.object_geometry import shift_detections
from imgproxy_py.imaging.objects import OBJECT_GRAVITIES
from imgproxy_py.imaging.smart_crop import smart_window
from imgproxy_py.imaging.vips import materialize
from imgproxy_py.options.model import Gravity, GravityType

FACES = Gravity(GravityType.OBJECTS, classes=((FACE_CLASS, 1.0),))


def _crop(c: Context, left: int, top: int, width: int, height: int) -> None:
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
    service = c.deps.objects
    if gravity.type in OBJECT_GRAVITIES:
        position = service.focus_window(c, gravity, width, height) if service is not None else None
        if position is not None:
            _crop(c, position[0], position[1], width, height)
            return
        gravity = Gravity(c.deps.object_fallback)
        # Detection may have replaced a sequentially read image with its in-memory copy: the
        # old one cannot be read again.
        img = c.img
    if (gravity.type is GravityType.SMART and c.settings.smart_crop_face_detection and service is not None
            and FACE_CLASS in service.detectors.class_names):
        position = service.focus_window(c, FACES, width, height)
        if position is not None:
            _crop(c, position[0], position[1], width, height)
            return
        img = c.img  # detection may have put the image in memory: read that one
    if gravity.type is GravityType.SMART:
        c.img = materialize(img, c.deadline)
        mode = c.settings.smart_crop_advanced
        left, top = (smart_window(c.img, width, height, mode) if mode is not None
                     else attention_window(c.img, width, height))
        _crop(c, left, top, width, height)
        return
    left, top = calc_position(img.width, img.height, width, height, gravity, offset_scale, False)
    _crop(c, left, top, width, height)
