"""``crop``: where imgproxy's ``c:%width:%height:%gravity`` would cut, relative to the upright source."""

from __future__ import annotations

from collections.abc import Callable

from imgproxy_py.detection import Box, Detection, select_focus
from imgproxy_py.detection.focus import GravityMode
from imgproxy_py.imaging.attention import attention_point
from imgproxy_py.imaging.geometry import calc_crop_size, calc_position
from imgproxy_py.imaging.objects import OBJECT_GRAVITIES, position_window
from imgproxy_py.imaging.smart_crop import SmartCropMode, smart_window
from imgproxy_py.info.picture import Picture
from imgproxy_py.options.model import CropOptions, Gravity, GravityType


def crop_box(picture: Picture, crop: CropOptions, objects_position: Gravity,
             detect: Callable[[], tuple[Detection, ...]] | None, class_weights: dict[str, float],
             mode: GravityMode, fallback: GravityType,
             smart_mode: SmartCropMode | None = None) -> dict[str, float] | None:
    """``left``, ``top``, ``width``, ``height`` in 0-1; None when the crop asks for nothing."""
    full_w, full_h = picture.width, picture.height
    width = min(calc_crop_size(full_w, crop.width) or full_w, full_w)
    height = min(calc_crop_size(full_h, crop.height) or full_h, full_h)
    if crop.width == 0 and crop.height == 0:
        return None
    gravity = crop.gravity or Gravity()
    position: tuple[int, int] | None = None
    if width >= full_w and height >= full_h:
        position = (0, 0)
    elif gravity.type in OBJECT_GRAVITIES:
        position = _objects(gravity, objects_position, detect, class_weights, mode, full_w, full_h, width, height)
        if position is None:
            gravity = Gravity(fallback)
    if position is None and gravity.type is GravityType.SMART:
        position = _smart(picture, width, height, smart_mode)
    if position is None:
        position = calc_position(full_w, full_h, width, height, gravity, 1.0, False)
    left, top = position
    return {"left": left / full_w, "top": top / full_h, "width": width / full_w, "height": height / full_h}


def _objects(gravity: Gravity, objects_position: Gravity, detect: Callable[[], tuple[Detection, ...]] | None,
             class_weights: dict[str, float], mode: GravityMode, full_w: int, full_h: int,
             width: int, height: int) -> tuple[int, int] | None:
    found = detect() if detect is not None else ()
    if not found:
        return None
    if gravity.classes:
        weights = {name: w for name, w in gravity.classes if name != "all"}
        default = next((w for name, w in gravity.classes if name == "all"), 0.0)
    else:
        weights, default = class_weights, 1.0
    boxes = [Detection(d.class_id, d.class_name, d.confidence, d.left * full_w, d.top * full_h,
                       d.width * full_w, d.height * full_h) for d in found]
    focus: Box | None = select_focus(boxes, class_weights=weights, default_weight=default, mode=mode,
                                     image_width=full_w, image_height=full_h, crop_width=width, crop_height=height)
    if focus is None:
        return None
    return position_window(focus, objects_position, full_w, full_h, width, height)


def _smart(picture: Picture, width: int, height: int, mode: SmartCropMode | None) -> tuple[int, int]:
    """libvips' attention measure, or the advanced smart crop's window, on the shared pixels,
    scaled back to the source."""
    img = picture.pixels
    scale = img.width / picture.width
    small_w, small_h = max(1, min(img.width, round(width * scale))), max(1, min(img.height, round(height * scale)))
    if mode is not None:
        small_left, small_top = smart_window(img, small_w, small_h, mode)
        left = min(max(0.0, (small_left + small_w / 2) / scale - width / 2), picture.width - width)
        top = min(max(0.0, (small_top + small_h / 2) / scale - height / 2), picture.height - height)
        return round(left), round(top)
    attention_x, attention_y = attention_point(img.extract_band(0, n=3), small_w, small_h)
    left = min(max(0.0, attention_x / scale - width / 2), picture.width - width)
    top = min(max(0.0, attention_y / scale - height / 2), picture.height - height)
    return round(left), round(top)
