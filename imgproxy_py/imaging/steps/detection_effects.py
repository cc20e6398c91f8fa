"""``blur_detections``, ``pixelate_detections`` and ``draw_detections``."""

from __future__ import annotations

from collections.abc import Sequence

from imgproxy_py.detection import (
    Detection,
    blur_detections,
    draw_detections,
    filter_by_class,
    pixelate_detections,
)
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.vips import materialize


def detection_effects(c: Context) -> None:
    po = c.po
    service = c.deps.objects
    if service is None or (po.blur_detections is None and po.pixelate_detections is None
                           and po.draw_detections is None):
        return
    found = service.detections(c)
    # Effects read the pixels around each detection and then the whole image again.
    img = c.img = materialize(c.img, c.deadline) if found else c.img
    if po.blur_detections is not None:
        img = blur_detections(img, _of(found, po.blur_detections.classes), po.blur_detections.amount)
    if po.pixelate_detections is not None:
        img = pixelate_detections(img, _of(found, po.pixelate_detections.classes),
                                  int(po.pixelate_detections.amount))
    if po.draw_detections is not None:
        img = draw_detections(img, _of(found, po.draw_detections))
    c.img = img


def _of(found: Sequence[Detection], classes: tuple[str, ...]) -> tuple[Detection, ...]:
    return filter_by_class(found, classes or None)
