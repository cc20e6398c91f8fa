"""Face and object detection for ``g:obj``/``g:objw`` gravity, ``crop_objects``,
``blur_detections``, ``draw_detections`` and pixelation of detections.

Faces come from the bundled CenterFace model (``models/centerface.onnx``); other classes from a
user-supplied YOLO-family ONNX model (``IMGPROXY_OBJECT_DETECTION_NET``).  Both run through
onnxruntime on a downscaled, letterboxed copy of the image.
"""

from imgproxy_py.detection.config import DetectionConfig, NetType, parse_classes
from imgproxy_py.detection.detector import FACE_CLASS, DetectionError, DetectorSet
from imgproxy_py.detection.effects import blur_detections, draw_detections, pixelate_detections
from imgproxy_py.detection.focus import (
    GravityMode,
    filter_by_class,
    place_crop_window,
    select_focus,
    subject_box,
    union_box,
)
from imgproxy_py.detection.types import Box, Detection

__all__ = [
    "FACE_CLASS",
    "Box",
    "Detection",
    "DetectionConfig",
    "DetectionError",
    "DetectorSet",
    "GravityMode",
    "NetType",
    "blur_detections",
    "draw_detections",
    "filter_by_class",
    "parse_classes",
    "pixelate_detections",
    "place_crop_window",
    "select_focus",
    "subject_box",
    "union_box",
]
