"""``crop_objects``: becomes a crop around the detections, before any scaling."""

from __future__ import annotations

from dataclasses import replace

from imgproxy_py.detection import filter_by_class
from imgproxy_py.errors import ObjectNotFoundError
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.geometry import calc_params
from imgproxy_py.imaging.object_geometry import Point, map_box, orient_point
from imgproxy_py.options.model import CropOptions, Gravity, GravityType


def crop_objects(c: Context) -> None:
    spec = c.po.crop_objects
    service = c.deps.objects
    if spec is None or service is None:
        return
    found = filter_by_class(service.detections(c), spec.classes or None)
    if spec.index is not None:
        # Reading order (left to right, then top to bottom): stable for a given photo and
        # easy for an app to predict, unlike confidence order.
        ranked = sorted(found, key=lambda d: (d.left, d.top))
        if spec.index < len(ranked):
            found = (ranked[spec.index],)
        elif spec.fallback:
            found = ()  # as though nothing was found (an avatar falls back to its gravity)
        else:
            raise ObjectNotFoundError(f"object {spec.index} not found ({len(ranked)} detected)")
    if not found:
        return  # nothing found: normal processing
    img = c.img
    # Detections are in stored coordinates; the crop option is in upright coordinates.
    def upright_point(x: float, y: float) -> Point:
        return orient_point(x, y, c.angle, c.flip, img.width, img.height)

    upright = [map_box(d.box, upright_point) for d in found]
    union = upright[0]
    for box in upright[1:]:
        union = union.union(box)
    up_w, up_h = (img.height, img.width) if c.angle % 180 else (img.width, img.height)
    union = union.grow(spec.scale).clip(up_w, up_h)
    cx, cy = union.center
    crop = CropOptions(max(1.0, round(union.width)), max(1.0, round(union.height)),
                       Gravity(GravityType.FOCUS_POINT, cx / up_w, cy / up_h))
    c.po = replace(c.po, crop=crop)
    calc_params(c)
