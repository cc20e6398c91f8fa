"""Object detection as the pipeline uses it: the detector behind ``g:obj``/``g:objw``,
``crop_objects`` and the blur/pixelate/draw-detections effects, with its per-source cache.

One inference per source, on an upright copy of the source at the detector's working size
(``DetectorSet.input_size``), whatever the request's output size: right after shrink-on-load
when the image is then a good size for it (``steps.detect_objects``), else when a step first
needs them, from a second shrink-on-load decode of a JPEG or WebP source.  Only for other
formats shrunk below the working size does a request detect on what it has, and that result is
not cached.  Detections are kept in the context in the current image's coordinates (crop,
scale, embed and rotate steps move them along: ``imaging.object_geometry``) and cached across
requests per source identity and orientation, relative to the whole upright source.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import TYPE_CHECKING, Protocol

import pyvips
from cachetools import LRUCache

from imgproxy_py.detection import Box, Detection, DetectionError, DetectorSet, place_crop_window, select_focus
from imgproxy_py.detection.preprocess import shrink_to_fit
from imgproxy_py.errors import UnprocessableImageError
from imgproxy_py.formats import ShrinkOnLoad
from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.object_geometry import Frame, mapped, orient
from imgproxy_py.imaging.vips import materialize
from imgproxy_py.options.model import Gravity, GravityType

if TYPE_CHECKING:
    from imgproxy_py.imaging.context import Context

OBJECT_GRAVITIES = (GravityType.OBJECTS, GravityType.OBJECTS_WEIGHTED)
# Source identity, page, and the EXIF orientation the upright view was made with.
CacheKey = tuple[str, int, int, bool]


class SharedDetections(Protocol):
    """A tier behind the per-process cache that other nodes share (``cluster``'s Redis one);
    called from worker threads, so blocking; it never raises."""

    def get(self, key: str) -> tuple[Detection, ...] | None: ...

    def put(self, key: str, detections: tuple[Detection, ...]) -> None: ...


class ObjectDetection:
    """The detector as the pipeline uses it, with the per-source cache."""

    def __init__(self, detectors: DetectorSet, cache_entries: int = 512) -> None:
        self.detectors = detectors
        self.config = detectors.config
        self._cache: LRUCache[CacheKey, tuple[Detection, ...]] = LRUCache(cache_entries)
        self._lock = threading.Lock()
        self.inferences = 0  # real detector runs (the cache's misses)
        self.shared: SharedDetections | None = None
        # Nodes share detections only when their detector settings are the same.
        # (Model files by name: nodes installed in different folders still agree.)
        settings = re.sub(r"PosixPath\('(?:[^']*/)?([^']*)'\)", r"\1", repr(self.config))
        self._fingerprint = hashlib.sha256(settings.encode()).hexdigest()[:16]

    def _shared_key(self, key: CacheKey) -> str:
        source, page, angle, flip = key
        return f"{self._fingerprint}:{source}:{page}:{angle}:{int(flip)}"

    def cached(self, key: CacheKey | None) -> tuple[Detection, ...] | None:
        if key is None:
            return None
        with self._lock:
            found = self._cache.get(key)
        if found is None and self.shared is not None:
            found = self.shared.get(self._shared_key(key))
            if found is not None:
                with self._lock:
                    self._cache[key] = found
        return found

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
        relative = tuple(mapped(d, lambda x, y: (x * sx, y * sy)) for d in found)
        if key is not None:
            with self._lock:
                self._cache[key] = relative
            if self.shared is not None:
                self.shared.put(self._shared_key(key), relative)
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
            mapped(d, lambda x, y: frame.to_image(x * up_w, y * up_h), (c.img.width, c.img.height))
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
        width: int = c.img.width
        height: int = c.img.height
        return max(width, height) >= max(want_w, want_h) - 1 and width * height <= 4 * want_w * want_h

    def _upright_picture(self, c: Context, frame: Frame) -> tuple[pyvips.Image, bool]:
        """The source, upright, at about the detector's working size (or the current image when
        that is all there is), and whether it is complete (at least the working size)."""
        want_w, want_h = self.working_size(c)
        fmt, data = c.source_format, c.source_data
        kind = fmt.spec.shrink_on_load if fmt is not None else ShrinkOnLoad.NONE
        # An SVG is always rendered again, at the working size: its first decode only describes it.
        if (kind is ShrinkOnLoad.VECTOR or not self.current_image_fits(c)) and c.full_view and data is not None \
                and fmt is not None and kind in (ShrinkOnLoad.FACTOR, ShrinkOnLoad.SCALE, ShrinkOnLoad.VECTOR):
            # A second decode that skips detail (shrink-on-load): sharper than a thumbnail, and
            # cheaper than keeping a large image in memory.
            shrink = min(c.src_width / want_w, c.src_height / want_h)
            if kind is ShrinkOnLoad.FACTOR:
                shrink = loader.shrink_factor(shrink)
            elif kind is ShrinkOnLoad.VECTOR:
                shrink *= c.vector_base_shrink  # from its own size (vector_guard_scale)
            stored = loader.load(data, fmt, shrink=shrink, page=c.page, access="sequential", whole=True,
                                 unlimited=c.settings.unlimited_formats)
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
