"""The pipeline's steps, one module each, and their order.

Each step is a plain function ``step(ctx) -> None`` over one ``imaging.context.Context``; it
does nothing when its options are off.  The order is imgproxy's.  A new step gets a module
here, named as the step, and a place in ``MAIN_STEPS``.
"""

from __future__ import annotations

from collections.abc import Callable

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.steps.adjust import adjust
from imgproxy_py.imaging.steps.apply_filters import apply_filters
from imgproxy_py.imaging.steps.blur_areas import blur_areas
from imgproxy_py.imaging.steps.colorize import colorize
from imgproxy_py.imaging.steps.colorspace_to_processing import colorspace_to_processing
from imgproxy_py.imaging.steps.crop import crop
from imgproxy_py.imaging.steps.crop_objects import crop_objects
from imgproxy_py.imaging.steps.crop_to_result import crop_to_result
from imgproxy_py.imaging.steps.detect_objects import detect_objects
from imgproxy_py.imaging.steps.detection_effects import detection_effects
from imgproxy_py.imaging.steps.extend import extend
from imgproxy_py.imaging.steps.extend_aspect_ratio import extend_aspect_ratio
from imgproxy_py.imaging.steps.fix_size import fix_size
from imgproxy_py.imaging.steps.flatten import flatten
from imgproxy_py.imaging.steps.gradient import gradient
from imgproxy_py.imaging.steps.padding import padding
from imgproxy_py.imaging.steps.progressive_blur import progressive_blur
from imgproxy_py.imaging.steps.rotate_and_flip import rotate_and_flip
from imgproxy_py.imaging.steps.scale import scale
from imgproxy_py.imaging.steps.scale_on_load import scale_on_load
from imgproxy_py.imaging.steps.tone import tone
from imgproxy_py.imaging.steps.trim import trim
from imgproxy_py.imaging.steps.unsharp_masking import unsharp_masking
from imgproxy_py.imaging.steps.vector_guard_scale import vector_guard_scale
from imgproxy_py.imaging.steps.watermark import watermark

Step = Callable[[Context], None]

MAIN_STEPS: tuple[Step, ...] = (
    vector_guard_scale,
    trim,
    crop_objects,
    scale_on_load,
    detect_objects,
    colorspace_to_processing,
    blur_areas,
    crop,
    scale,
    rotate_and_flip,
    crop_to_result,
    unsharp_masking,
    apply_filters,
    progressive_blur,
    adjust,
    tone,
    detection_effects,
    extend,
    extend_aspect_ratio,
    padding,
    fix_size,
    colorize,
    gradient,
    flatten,
    watermark,
)
