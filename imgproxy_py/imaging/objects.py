"""Object detection in the pipeline: ``g:obj``/``g:objw``, ``crop_objects``, and the
blur/pixelate/draw-detections effects.

One inference per source: detections are computed on an upright copy of the image the
first time a step needs them, kept in the context in the current image's coordinates
(crop, scale and embed steps move them along), and cached across requests per source
identity in coordinates relative to the whole upright source.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import pyvips
from cachetools import LRUCache

from imgproxy_py.detection import (
    Box,
    Detection,
    DetectionError,
    DetectorSet,
    blur_detections,
    draw_detections,
    filter_by_class,
    pixelate_detections,
    place_crop_window,
    select_focus,
)
from imgproxy_py.errors import ObjectNotFoundError, UnprocessableImageError
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.geometry import calc_params
from imgproxy_py.options.model import CropOptions, Gravity, GravityType

log = logging.getLogger("imgproxy_py.detection")

Point = tuple[float, float]


def orient(img: pyvips.Image, angle: int, flip: bool) -> pyvips.Image:
    """The upright view of ``img`` (EXIF orientation applied), as rotate_and_flip does it."""
    if angle % 360:
        img = img.rot(f"d{angle % 360}")
    return img.fliphor() if flip else img


def unorient_point(x: float, y: float, angle: int, flip: bool, width: int, height: int) -> Point:
    """A point of the upright view in the stored image's coordinates (``width``x``height``)."""
    if flip:
        x = (height if angle % 180 else width) - x
    angle %= 360
    if angle == 90:  # upright (x, y) came from stored (y, H - x)
        return y, height - x
    if angle == 180:
        return width - x, height - y
    if angle == 270:  # upright (x, y) came from stored (W - y, x)
        return width - y, x
    return x, y


def unorient_box(box: Box, angle: int, flip: bool, width: int, height: int) -> Box:
    """A box in the upright view back in the stored image's coordinates (``width``x``height``)."""
    return _bounding(unorient_point(x, y, angle, flip, width, height)
                     for x, y in ((box.left, box.top), (box.right, box.bottom)))


def _bounding(points: Iterable[Point]) -> Box:
    (x1, y1), (x2, y2) = points
    return Box.from_corners(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def _mapped(d: Detection, point: Callable[[float, float], Point],
            bounds: tuple[int, int] | None = None) -> Detection:
    """``d`` with its box and landmarks moved by ``point``, a map that keeps boxes axis-aligned
    (scaling, shifting, quarter turns, flips); the box is clipped to ``bounds`` when given.

    The landmarks travel too: gravity reads a face's pose from them (``subject_box``).
    """
    box = _bounding(point(x, y) for x, y in ((d.left, d.top), (d.left + d.width, d.top + d.height)))
    if bounds is not None:
        box = box.clip(*bounds)
    return replace(d, left=box.left, top=box.top, width=box.width, height=box.height,
                   landmarks=tuple(point(x, y) for x, y in d.landmarks))


class ObjectDetection:
    """The detector as the pipeline uses it, with the per-source cache."""

    def __init__(self, detectors: DetectorSet, cache_entries: int = 512) -> None:
        self.detectors = detectors
        self.config = detectors.config
        self._cache: LRUCache[tuple[str, int], tuple[Detection, ...]] = LRUCache(cache_entries)
        self._lock = threading.Lock()
        self.inferences = 0  # real detector runs (the cache's misses)

    def relative(self, upright: pyvips.Image, key: tuple[str, int] | None) -> tuple[Detection, ...]:
        if key is not None:
            with self._lock:
                cached = self._cache.get(key)
            if cached is not None:
                return cached
        self.inferences += 1
        try:
            found = self.detectors.detect(upright)
        except DetectionError as exc:
            # Never answer with faces left unblurred or a crop that ignored them.
            raise UnprocessableImageError(f"detection failed: {exc}") from exc
        sx, sy = 1 / upright.width, 1 / upright.height
        relative = tuple(_mapped(d, lambda x, y: (x * sx, y * sy)) for d in found)
        if key is not None:
            with self._lock:
                self._cache[key] = relative
        return relative

    def detections(self, c: Context) -> tuple[Detection, ...]:
        """Detections in ``c.img``'s pixel coordinates (computed once per request)."""
        if c.detections is not None:
            return c.detections
        # Detection reads the pixels, and the steps after it read them again.
        img = c.img = c.img.copy_memory()
        angle, flip = (0, False) if c.rotated else (c.angle, c.flip)
        upright = orient(img, angle, flip)
        key = (c.source_id, c.page) if c.full_view and c.source_id else None
        relative = self.relative(upright, key)

        def stored(x: float, y: float) -> Point:
            return unorient_point(x * upright.width, y * upright.height, angle, flip, img.width, img.height)

        c.detections = tuple(_mapped(d, stored, (img.width, img.height)) for d in relative)
        return c.detections

    # --- gravity ------------------------------------------------------------------------
    def focus_window(self, c: Context, gravity: Gravity, width: int, height: int) -> tuple[int, int] | None:
        """Top-left of a ``width``x``height`` window holding the gravity's objects, or None."""
        found = self.detections(c)
        if gravity.classes:
            weights = {name: w for name, w in gravity.classes if name != "all"}
            default = next((w for name, w in gravity.classes if name == "all"), 0.0)
        else:
            weights, default = dict(self.detectors.class_weights), 1.0
        if not found:
            return None
        img = c.img
        focus = select_focus(found, class_weights=weights, default_weight=default, mode=self.config.gravity_mode,
                             image_width=img.width, image_height=img.height, crop_width=width, crop_height=height)
        if focus is None:
            return None
        return position_window(focus, c.po.objects_position, img.width, img.height, width, height)


def position_window(focus: Box, position: Gravity, image_width: int, image_height: int,
                    width: int, height: int) -> tuple[int, int]:
    """Place the window so the focus sits where ``objects_position`` asks (centre by default).

    Centred, and whenever the focus is larger than the window, the placement is
    ``place_crop_window``'s: the whole focus when it fits, else its middle or, vertically, its
    eye line.
    """
    centred_left, centred_top = place_crop_window(focus, image_width, image_height, width, height)
    cx, cy = focus.center

    def axis(centred: int, center: float, low: float, high: float, size: int, total: int, kind: str,
             offset: float) -> int:
        if high - low > size or (kind == "center" and not offset):
            return centred
        if kind == "start":
            start = low - offset
        elif kind == "end":
            start = high - size + offset
        elif kind == "fp":
            start = center - offset * size
        elif kind == "prop":
            start = center - (center / total) * size
        else:
            start = center - size / 2 + offset
            start = min(max(start, high - size), low)  # keep the whole focus inside
        return round(max(0, min(start, total - size)))

    t = position.type
    kind_x = "start" if t in (GravityType.WEST, GravityType.NORTH_WEST, GravityType.SOUTH_WEST) else (
        "end" if t in (GravityType.EAST, GravityType.NORTH_EAST, GravityType.SOUTH_EAST) else "center")
    kind_y = "start" if t in (GravityType.NORTH, GravityType.NORTH_EAST, GravityType.NORTH_WEST) else (
        "end" if t in (GravityType.SOUTH, GravityType.SOUTH_EAST, GravityType.SOUTH_WEST) else "center")
    if t in (GravityType.FOCUS_POINT, GravityType.PROPORTIONAL):
        kind_x = kind_y = t.value
    left = axis(centred_left, cx, focus.left, focus.right, width, image_width, kind_x, position.x)
    top = axis(centred_top, cy, focus.top, focus.bottom, height, image_height, kind_y, position.y)
    return left, top


# --- steps ------------------------------------------------------------------------------

def crop_objects(c: Context) -> None:
    """``crop_objects``: becomes a crop around the detections, before any scaling."""
    spec = c.po.crop_objects
    service: ObjectDetection | None = c.services.get("objects")
    if spec is None or service is None:
        return
    found = filter_by_class(service.detections(c), spec.classes or None)
    if spec.index is not None:
        # Reading order (left to right, then top to bottom): stable for a given photo and
        # easy for an app to predict, unlike confidence order.
        ranked = sorted(found, key=lambda d: (d.left, d.top))
        if spec.index >= len(ranked):
            raise ObjectNotFoundError(f"object {spec.index} not found ({len(ranked)} detected)")
        found = (ranked[spec.index],)
    if not found:
        return  # nothing found: normal processing
    img = c.img
    # Detections are in stored coordinates; the crop option is in upright coordinates.
    upright = [_upright_box(d.box, c.angle, c.flip, img.width, img.height) for d in found]
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


def _upright_box(box: Box, angle: int, flip: bool, width: int, height: int) -> Box:
    """Inverse of unorient_box: a stored-coordinates box in the upright view."""
    corners = []
    for x, y in ((box.left, box.top), (box.right, box.bottom)):
        angle_mod = angle % 360
        if angle_mod == 90:
            x, y = height - y, x
        elif angle_mod == 180:
            x, y = width - x, height - y
        elif angle_mod == 270:
            x, y = y, width - x
        corners.append((x, y))
    up_w = height if angle % 180 else width
    (x1, y1), (x2, y2) = corners
    if flip:
        x1, x2 = up_w - x1, up_w - x2
    return Box.from_corners(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def detection_effects(c: Context) -> None:
    """``blur_detections``, ``pixelate_detections`` and ``draw_detections``."""
    po = c.po
    service: ObjectDetection | None = c.services.get("objects")
    if service is None or (po.blur_detections is None and po.pixelate_detections is None
                           and po.draw_detections is None):
        return
    found = service.detections(c)
    img = c.img  # in memory: detections() made it so
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


# --- keeping detections in step with the image -----------------------------------------

def shift_detections(c: Context, dx: float, dy: float) -> None:
    if c.detections is not None:
        bounds = (c.img.width, c.img.height)
        moved = (_mapped(d, lambda x, y: (x + dx, y + dy), bounds) for d in c.detections)
        c.detections = tuple(d for d in moved if d.width > 0 and d.height > 0)


def scale_detections(c: Context, sx: float, sy: float) -> None:
    if c.detections is not None:
        c.detections = tuple(_mapped(d, lambda x, y: (x * sx, y * sy)) for d in c.detections)
