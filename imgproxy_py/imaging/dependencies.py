"""What the pipeline uses besides the image, the options and the settings: built once at
start-up (``server.composition``), passed to the ``Processor`` when it is built, never changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyvips

from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.vips import ensure_alpha, to_srgb
from imgproxy_py.options.model import GravityType

if TYPE_CHECKING:
    from imgproxy_py.imaging.objects import ObjectDetection
    from imgproxy_py.imaging.sources import SpecialSources


class WatermarkSource:
    """The decoded watermark (IMGPROXY_WATERMARK_DATA|PATH|URL), kept in memory for the server's life."""

    def __init__(self, data: bytes) -> None:
        fmt = loader.detect_format(data)
        self.image: pyvips.Image = ensure_alpha(to_srgb(loader.load(data, fmt))).copy_memory()


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
