"""``detect_objects``: detect right after shrink-on-load, when the image is then a good size
for the detector, so that a thumbnail's steps need neither a second decode of the source nor a
detection on the thumbnail."""

from __future__ import annotations

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.objects import OBJECT_GRAVITIES


def needs_detections(c: Context) -> bool:
    """Whether a later step will ask for detections: an object-gravity crop that cuts
    something off, or a detection effect.  (Only a hint: a step that needs detections the
    hint missed computes them itself.)"""
    po = c.po
    crops = (c.crop_gravity.type in OBJECT_GRAVITIES
             and (0 < c.crop_width < c.src_width or 0 < c.crop_height < c.src_height))
    result_crops = (po.gravity.type in OBJECT_GRAVITIES
                    and (0 < c.result_crop_width < c.scaled_width or 0 < c.result_crop_height < c.scaled_height))
    effects = (po.blur_detections is not None or po.pixelate_detections is not None
               or po.draw_detections is not None)
    return crops or result_crops or effects


def detect_objects(c: Context) -> None:
    service = c.deps.objects
    if (service is None or c.detections is not None or not c.full_view or not needs_detections(c)
            or not service.current_image_fits(c)):
        return
    service.detections(c)
