"""Object detection in the pipeline: ``g:obj``/``g:objw``, ``crop_objects``, and the
blur/pixelate/draw-detections effects.

One inference per source, on an upright copy of the source at the detector's working size
(``DetectorSet.input_size``), whatever the request's output size: right after shrink-on-load
when the image is then a good size for it (``detect_objects``), else when a step first needs
them, from a second shrink-on-load decode of a JPEG or WebP source.  Only for other formats
shrunk below the working size does a request detect on what it has, and that result is not
cached.  Detections are kept in the context in the current image's coordinates (crop, scale,
embed and rotate steps move them along) and cached across requests per source identity and
orientation, relative to the whole upright source.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

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
from imgproxy_py.detection.preprocess import shrink_to_fit
from imgproxy_py.errors import ObjectNotFoundError, UnprocessableImageError
from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging import load as loader
from imgproxy_py.imaging.context import Context, materialize
from imgproxy_py.imaging.geometry import calc_params
from imgproxy_py.options.model import CropOptions, Gravity, GravityType

log = logging.getLogger("imgproxy_py.detection")

_OBJECT_GRAVITIES = (GravityType.OBJECTS, GravityType.OBJECTS_WEIGHTED)

Point = tuple[float, float]
# Source identity, page, and the EXIF orientation the upright view was made with.
CacheKey = tuple[str, int, int, bool]


def orient(img: pyvips.Image, angle: int, flip: bool) -> pyvips.Image:
    """The upright view of ``img`` (EXIF orientation applied), as rotate_and_flip does it."""
    if angle % 360:
        img = img.rot(f"d{angle % 360}")
    return img.fliphor() if flip else img


def rotate_point(x: float, y: float, angle: int, width: int, height: int) -> Point:
    """Where a point of a ``width`` x ``height`` image lands when the image turns ``angle``
    degrees clockwise (as libvips' ``rot``)."""
    angle %= 360
    if angle == 90:
        return height - y, x
    if angle == 180:
        return width - x, height - y
    if angle == 270:
        return y, width - x
    return x, y


def orient_point(x: float, y: float, angle: int, flip: bool, width: int, height: int) -> Point:
    """A point of the stored image (``width``x``height``) in its upright view (``orient``)."""
    x, y = rotate_point(x, y, angle, width, height)
    if flip:
        x = (height if angle % 180 else width) - x
    return x, y


def unorient_point(x: float, y: float, angle: int, flip: bool, width: int, height: int) -> Point:
    """The inverse of ``orient_point``: a point of the upright view in the stored image's
    coordinates (``width``x``height``)."""
    up_w, up_h = (height, width) if angle % 180 else (width, height)
    if flip:
        x = up_w - x
    return rotate_point(x, y, -angle, up_w, up_h)


def _map_box(box: Box, point: Callable[[float, float], Point]) -> Box:
    """The box through ``point``, a map that keeps boxes axis-aligned (scaling, shifting,
    quarter turns, flips)."""
    (x1, y1), (x2, y2) = point(box.left, box.top), point(box.right, box.bottom)
    return Box.from_corners(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def _mapped(d: Detection, point: Callable[[float, float], Point],
            bounds: tuple[int, int] | None = None) -> Detection:
    """``d`` with its box and landmarks moved by ``point`` (see ``_map_box``); the box is
    clipped to ``bounds`` when given.

    The landmarks travel too: gravity reads a face's pose from them (``subject_box``).
    """
    box = _map_box(d.box, point)
    if bounds is not None:
        box = box.clip(*bounds)
    return replace(d, left=box.left, top=box.top, width=box.width, height=box.height,
                   landmarks=tuple(point(x, y) for x, y in d.landmarks))


@dataclass(frozen=True)
class Frame:
    """How the current image relates to the upright source (EXIF orientation applied).

    Before ``rotate_and_flip`` the image is stored as decoded and the EXIF orientation
    (``angle`` then ``flip``) is still to come; after it, the image is upright and then turned
    by the ``rotate``, ``flip`` options.  Scaling is not part of the frame: sizes are relative.
    """

    width: int
    height: int
    exif_angle: int = 0
    exif_flip: bool = False
    rotate: int = 0
    flip_horizontal: bool = False
    flip_vertical: bool = False

    @classmethod
    def of(cls, c: Context) -> Frame:
        if not c.rotated:
            return cls(c.img.width, c.img.height, exif_angle=c.angle % 360, exif_flip=c.flip)
        po = c.po
        return cls(c.img.width, c.img.height, rotate=po.rotate % 360, flip_horizontal=po.flip_horizontal,
                   flip_vertical=po.flip_vertical)

    @property
    def upright_size(self) -> tuple[int, int]:
        turned = (self.exif_angle + self.rotate) % 180
        return (self.height, self.width) if turned else (self.width, self.height)

    def upright(self, img: pyvips.Image) -> pyvips.Image:
        """The upright view of an image in this frame."""
        if self.exif_angle or self.exif_flip:
            return orient(img, self.exif_angle, self.exif_flip)
        if self.flip_vertical:
            img = img.flipver()
        if self.flip_horizontal:
            img = img.fliphor()
        return img.rot(f"d{360 - self.rotate}") if self.rotate else img

    def to_image(self, x: float, y: float) -> Point:
        """A point of the upright view in this frame's pixels."""
        up_w, up_h = self.upright_size
        if self.exif_angle or self.exif_flip:
            return unorient_point(x, y, self.exif_angle, self.exif_flip, self.width, self.height)
        x, y = rotate_point(x, y, self.rotate, up_w, up_h)
        if self.flip_horizontal:
            x = self.width - x
        if self.flip_vertical:
            y = self.height - y
        return x, y


class ObjectDetection:
    """The detector as the pipeline uses it, with the per-source cache."""

    def __init__(self, detectors: DetectorSet, cache_entries: int = 512) -> None:
        self.detectors = detectors
        self.config = detectors.config
        self._cache: LRUCache[CacheKey, tuple[Detection, ...]] = LRUCache(cache_entries)
        self._lock = threading.Lock()
        self.inferences = 0  # real detector runs (the cache's misses)

    def cached(self, key: CacheKey | None) -> tuple[Detection, ...] | None:
        if key is None:
            return None
        with self._lock:
            return self._cache.get(key)

    def relative(self, upright: pyvips.Image, key: CacheKey | None = None) -> tuple[Detection, ...]:
        """Detections in ``upright`` in coordinates relative to its size (0..1), from the cache
        under ``key`` or computed and stored there."""
        cached = self.cached(key)
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
        """Detections in ``c.img``'s pixel coordinates (computed once per request).

        The detector sees the source at its own working size, whatever size the request asks
        for: a thumbnail's crop is chosen from the faces of the photo, not of the thumbnail.
        """
        if c.detections is not None:
            return c.detections
        frame = Frame.of(c)
        # The upright view depends on the request's auto_rotate: part of the key.
        key = (c.source_id, c.page, c.angle, c.flip) if c.full_view and c.source_id else None
        relative = self.cached(key)
        if relative is None:
            upright, complete = self._upright_picture(c, frame)
            # A picture smaller than the working size misses small faces: not for the cache.
            relative = self.relative(upright, key if complete else None)
        up_w, up_h = frame.upright_size
        c.detections = tuple(
            _mapped(d, lambda x, y: frame.to_image(x * up_w, y * up_h), (c.img.width, c.img.height))
            for d in relative
        )
        return c.detections

    def working_size(self, c: Context) -> tuple[int, int]:
        """The size the detector shrinks this request's source to (``DetectorSet.input_size``)."""
        return self.detectors.input_size(c.src_width, c.src_height)

    def current_image_fits(self, c: Context) -> bool:
        """Whether ``c.img`` is a good picture to detect on: at least the working size (so the
        result is the source's and can be cached), and not so much larger that holding it in
        memory for detection costs more than decoding the source again."""
        want_w, want_h = self.working_size(c)
        long_side = max(c.img.width, c.img.height)
        return long_side >= max(want_w, want_h) - 1 and c.img.width * c.img.height <= 4 * want_w * want_h

    def _upright_picture(self, c: Context, frame: Frame) -> tuple[pyvips.Image, bool]:
        """The source, upright, at about the detector's working size (or the current image when
        that is all there is), and whether it is complete (at least the working size)."""
        want_w, want_h = self.working_size(c)
        fmt, data = c.source_format, c.source_data
        if not self.current_image_fits(c) and c.full_view and data is not None and fmt in (
                ImageFormat.JPEG, ImageFormat.WEBP):
            # A second decode that skips detail (shrink-on-load): sharper than a thumbnail, and
            # cheaper than keeping a large image in memory.
            shrink = min(c.src_width / want_w, c.src_height / want_h)
            if fmt is ImageFormat.JPEG:
                shrink = next((factor for factor in (8, 4, 2) if shrink >= factor), 1)
            stored = loader.load(data, fmt, shrink=shrink, page=c.page, access="sequential")
            # src_width/src_height and so the working size are as displayed; the decode is not.
            if (c.angle + c.po.rotate) % 180:
                want_w, want_h = want_h, want_w
            small = shrink_to_fit(stored, want_w, want_h).copy_memory()
            return orient(small, c.angle, c.flip), True
        # Detection reads the pixels, and the steps after it read them again.
        c.img = materialize(c.img, c.deadline)
        upright = frame.upright(c.img)
        return upright, max(upright.width, upright.height) >= max(want_w, want_h) - 1

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

def needs_detections(c: Context) -> bool:
    """Whether a later step will ask for detections: an object-gravity crop that cuts
    something off, or a detection effect.  (Only a hint: a step that needs detections the
    hint missed computes them itself.)"""
    po = c.po
    crops = (c.crop_gravity.type in _OBJECT_GRAVITIES
             and (0 < c.crop_width < c.src_width or 0 < c.crop_height < c.src_height))
    result_crops = (po.gravity.type in _OBJECT_GRAVITIES
                    and (0 < c.result_crop_width < c.scaled_width or 0 < c.result_crop_height < c.scaled_height))
    effects = (po.blur_detections is not None or po.pixelate_detections is not None
               or po.draw_detections is not None)
    return crops or result_crops or effects


def detect_objects(c: Context) -> None:
    """Detect now, after shrink-on-load, if the image is a good size for it: a thumbnail's
    steps then need neither a second decode of the source nor a detection on the thumbnail."""
    service: ObjectDetection | None = c.services.get("objects")
    if (service is None or c.detections is not None or not c.full_view or not needs_detections(c)
            or not service.current_image_fits(c)):
        return
    service.detections(c)


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

    upright = [_map_box(d.box, upright_point) for d in found]
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


def detection_effects(c: Context) -> None:
    """``blur_detections``, ``pixelate_detections`` and ``draw_detections``."""
    po = c.po
    service: ObjectDetection | None = c.services.get("objects")
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


# --- keeping detections in step with the image -----------------------------------------

def shift_detections(c: Context, dx: float, dy: float) -> None:
    if c.detections is not None:
        bounds = (c.img.width, c.img.height)
        moved = (_mapped(d, lambda x, y: (x + dx, y + dy), bounds) for d in c.detections)
        c.detections = tuple(d for d in moved if d.width > 0 and d.height > 0)


def scale_detections(c: Context, sx: float, sy: float) -> None:
    if c.detections is not None:
        c.detections = tuple(_mapped(d, lambda x, y: (x * sx, y * sy)) for d in c.detections)
