"""What the pipeline uses besides the image, the options and the settings: built once at
start-up (``server.composition``), passed to the ``Processor`` when it is built, never changed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import pyvips

from imgproxy_py.errors import ResolutionTooBigError
from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.vips import ensure_alpha, resize, to_overlay_space, to_srgb
from imgproxy_py.options.model import GravityType

if TYPE_CHECKING:
    from imgproxy_py.imaging.objects import ObjectDetection
    from imgproxy_py.imaging.sources import SpecialSources


class WatermarkSource:
    """A decoded watermark: the configured one (IMGPROXY_WATERMARK_DATA|PATH|URL), kept in memory
    for the server's life, or a ``watermark_url`` one, decoded for one request.  ``max_pixels``
    (0: none) refuses a larger one before its pixels are decoded."""

    def __init__(self, data: bytes, max_pixels: int = 0) -> None:
        fmt = loader.detect_format(data)
        if fmt is ImageFormat.SVG:  # a watermark_url's SVG is anyone's: never its scripts
            data = loader.prepare_svg(data, sanitize=True)
        img = loader.load(data, fmt, lazy_vector=True)
        # A vector one larger is rendered to fit instead (imgproxy's vector guard, as for sources).
        self._base_shrink = 1.0
        if max_pixels and img.width * img.height > max_pixels:
            if not fmt.is_vector:
                raise ResolutionTooBigError(f"watermark resolution {img.width}x{img.height} exceeds the limit")
            self._base_shrink = math.sqrt(img.width * img.height / max_pixels)
        if fmt.is_vector:  # rendered apart (codecs.load), at the size that fits
            img = loader.load(data, fmt, shrink=self._base_shrink)
        # Grey and 16 bits kept: imgproxy composites in the image's space, so a grey watermark
        # keeps a grey image grey, and a 16-bit one is not rounded to 8 bits first.
        self.image: pyvips.Image = ensure_alpha(to_overlay_space(img)).copy_memory()
        self.grey = self.image.interpretation in ("b-w", "grey16")
        self._format = fmt
        self._vector = data if fmt.is_vector else None

    def scaled(self, factor: float) -> pyvips.Image:
        """The watermark at ``factor`` of its size: a vector one rendered again at that scale
        (sharp when enlarged, as imgproxy's scale-on-load makes it), others resized."""
        if factor == 1.0:
            return self.image
        if self._vector is not None:
            img = loader.load(self._vector, self._format, shrink=self._base_shrink / factor)
            return ensure_alpha(to_srgb(img)).copy_memory()
        return resize(self.image, factor, factor)


@dataclass(frozen=True)
class FetchedWatermarks:
    """The ``watermark_url`` images of one request by URL, downloaded before processing
    (``sources.url_images``) and decoded by the step, no larger than ``max_pixels``."""

    images: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}))
    max_pixels: int = 0


@dataclass(frozen=True)
class PipelineDeps:
    # Object detection for g:obj, crop_objects and the detection effects; None when it is off.
    objects: ObjectDetection | None = None
    # Where an object-gravity crop goes when nothing is found: smart crop, or the centre with
    # IMGPROXY_OBJECT_DETECTION_FALLBACK_TO_SMART_CROP=false.
    object_fallback: GravityType = GravityType.SMART
    # Sources that libvips can't decode itself (video, camera RAW) and the representative face.
    special_sources: SpecialSources | None = None
    watermark: WatermarkSource | None = None
    # Set per request when a pipeline has watermark_url.
    fetched_watermarks: FetchedWatermarks = FetchedWatermarks()
