"""The state that pipeline steps share.

One :class:`Context` goes through the ordered steps of a pipeline (``imaging.steps.MAIN_STEPS``).
Each step is a plain function ``step(ctx) -> None`` that reads the options and the
geometry computed by :func:`imaging.geometry.calc_params`, and replaces ``ctx.img``.

Geometry fields follow imgproxy's names:

- ``src_width/src_height``: the source size as displayed (after EXIF rotation);
- ``angle/flip``: EXIF orientation still to apply;
- ``crop_width/crop_height``: the ``crop`` option in source pixels (0: none);
- ``wscale/hscale``: scale factors from the (cropped) source to the scaled image;
- ``dpr_scale``: the effective DPR after enlargement limits;
- ``target_width/height``: the requested size in output pixels;
- ``scaled_width/height``: size after scaling; ``result_crop_*``: the final crop;
- ``extend_ar_width/height``: the canvas for ``extend_aspect_ratio``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyvips

from imgproxy_py.deadline import Deadline
from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.smart_crop import SmartCropMode
from imgproxy_py.imaging.unsharp_config import UnsharpMaskingConfig
from imgproxy_py.options.model import Gravity, OutputOptions, PipelineOptions

if TYPE_CHECKING:
    from imgproxy_py.detection import Detection
    from imgproxy_py.imaging.dependencies import PipelineDeps


DEFAULT_MAX_RESULT_RESOLUTION = 16384 * 16384


def result_resolution_limit(max_src_resolution: int) -> int:
    """The result limit for a source limit: a source at the resolution limit must still come
    out, padded or extended, so the limit is at least twice the source limit."""
    return max(DEFAULT_MAX_RESULT_RESOLUTION, 2 * max_src_resolution)


@dataclass(frozen=True)
class ProcessingSettings:
    """The config that steps need, gathered so that steps never read the environment."""

    use_linear_colorspace: bool = False
    disable_shrink_on_load: bool = False
    max_result_dimension: int = 0
    # IMGPROXY_MAX_SRC_RESOLUTION (or the request's own): an SVG larger is rendered smaller
    # (``vector_guard_scale``); 0: no limit.
    max_src_resolution: int = 0
    # Pixels of the largest image a URL may ask for (scaled, extended or padded): 1 GiB as
    # RGBA, or more for a larger source limit (``result_resolution_limit()``); 0: no limit.
    max_result_resolution: int = DEFAULT_MAX_RESULT_RESOLUTION
    watermark_opacity: float = 1.0
    background_default: tuple[float, float, float] = (255.0, 255.0, 255.0)
    unsharp_masking: UnsharpMaskingConfig = field(default_factory=UnsharpMaskingConfig)
    pdf_no_background: bool = False  # IMGPROXY_PDF_NO_BACKGROUND: PDF pages rendered transparent
    smart_crop_face_detection: bool = False  # IMGPROXY_SMART_CROP_FACE_DETECTION: g:sm keeps faces first
    # IMGPROXY_SMART_CROP_ADVANCED(_MODE): how g:sm places the window; None: libvips' attention
    smart_crop_advanced: SmartCropMode | None = None
    # IMGPROXY_PNG|SVG|TIFF_UNLIMITED: sources decoded without the libvips loader's safety limits
    unlimited_formats: frozenset[ImageFormat] = frozenset()


@dataclass
class Context:
    img: pyvips.Image
    po: PipelineOptions
    out: OutputOptions
    out_format: ImageFormat
    settings: ProcessingSettings
    deadline: Deadline
    deps: PipelineDeps
    # The source bytes and format while ``img`` is still a plain decode of them, so that
    # shrink-on-load can re-decode at a smaller size; None once that no longer holds.
    source_data: bytes | None = None
    source_format: ImageFormat | None = None
    page: int = 0

    src_width: int = 0
    src_height: int = 0
    angle: int = 0
    flip: bool = False
    crop_width: int = 0
    crop_height: int = 0
    crop_gravity: Gravity = field(default_factory=Gravity)
    wscale: float = 1.0
    hscale: float = 1.0
    dpr_scale: float = 1.0
    target_width: int = 0
    target_height: int = 0
    scaled_width: int = 0
    scaled_height: int = 0
    result_crop_width: int = 0
    result_crop_height: int = 0
    extend_ar_width: int = 0
    extend_ar_height: int = 0
    # Object detection state: what identifies the source (for the detection cache),
    # whether the image still shows the whole source, whether EXIF rotation is applied,
    # and the detections in the current image's pixel coordinates (None: not computed).
    source_id: str = ""
    full_view: bool = True
    rotated: bool = False
    detections: tuple[Detection, ...] | None = None
    # How much smaller than its own size an SVG source is rendered to fit the source resolution
    # limit (``vector_guard_scale``); scale-on-load renders it that much smaller again.
    vector_base_shrink: float = 1.0
