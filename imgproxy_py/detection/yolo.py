"""User-supplied YOLO object detectors (``IMGPROXY_OBJECT_DETECTION_NET``).

The decoders are pure functions of the raw output arrays, so every layout can be tested with
hand-made tensors.  They return boxes in network-input pixels; the caller maps them back.

Output layouts (batch of one):

* ``yolov8`` / ``yolov9`` / ``yolov11``: one tensor ``[1, 4 + classes, N]``: centre x, centre y,
  width, height, then one score per class.  No objectness.
* ``yolov5`` / ``yolov6`` / ``yolov7`` and ``yolox`` exported with ``--decode_in_inference``:
  one tensor ``[1, N, 5 + classes]``: centre x, centre y, width, height, objectness, then
  class probabilities; the score is objectness times class probability.
* ``yolov4`` (pytorch-YOLOv4 export): ``boxes [1, N, 1, 4]`` x1, y1, x2, y2 as fractions of the
  input size and ``confs [1, N, classes]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from imgproxy_py.detection.config import NetType
from imgproxy_py.detection.geometry import (
    FloatArray,
    Letterbox,
    UInt8Array,
    batched_nms,
    square_letterbox,
    xywh_to_xyxy,
)

# Ultralytics' letterbox colour; the other families were trained with the same grey padding.
PAD_FILL = 114
# More boxes than this in one picture are noise for cropping and only slow NMS down.
MAX_CANDIDATES = 3000
MAX_DETECTIONS = 300

COLUMN_LAYOUT = frozenset({NetType.YOLOV8, NetType.YOLOV9, NetType.YOLOV11})
ROW_LAYOUT = frozenset({NetType.YOLOV5, NetType.YOLOV6, NetType.YOLOV7, NetType.YOLOX})


@dataclass(frozen=True)
class RawObjects:
    """Detections in network-input pixels: ``boxes`` [N, 4] x1 y1 x2 y2, ``scores`` [N], ``class_ids`` [N]."""

    boxes: FloatArray
    scores: FloatArray
    class_ids: npt.NDArray[np.intp]

    @classmethod
    def empty(cls) -> RawObjects:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.intp))

    def __len__(self) -> int:
        return len(self.scores)


def decode_column_layout(output: FloatArray, num_classes: int) -> tuple[FloatArray, FloatArray]:
    """YOLOv8-style ``[1, 4 + C, N]`` to (xyxy boxes [N, 4], class scores [N, C])."""
    table = _single(output)
    channels = 4 + num_classes
    if table.shape[0] != channels and table.shape[1] == channels:
        table = table.T  # some exporters put the anchors first
    if table.shape[0] != channels:
        raise ValueError(f"expected {channels} channels (4 + {num_classes} classes), got shape {output.shape}")
    rows = table.T
    return xywh_to_xyxy(rows[:, :4]), rows[:, 4:]


def decode_row_layout(output: FloatArray, num_classes: int) -> tuple[FloatArray, FloatArray]:
    """YOLOv5/YOLOX-style ``[1, N, 5 + C]`` to (xyxy boxes [N, 4], class scores [N, C])."""
    table = _single(output)
    channels = 5 + num_classes
    if table.shape[1] != channels and table.shape[0] == channels:
        table = table.T
    if table.shape[1] != channels:
        raise ValueError(f"expected {channels} values per box (5 + {num_classes} classes), got {output.shape}")
    scores = table[:, 5:] * table[:, 4:5]
    return xywh_to_xyxy(table[:, :4]), scores


def decode_yolov4(
    boxes: FloatArray, confs: FloatArray, num_classes: int, input_width: int, input_height: int
) -> tuple[FloatArray, FloatArray]:
    """pytorch-YOLOv4 ``boxes [1, N, 1, 4]`` (fractions) and ``confs [1, N, C]``."""
    corners = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    scores = np.asarray(confs, dtype=np.float32).reshape(corners.shape[0], -1)
    if scores.shape[1] != num_classes:
        raise ValueError(f"expected {num_classes} class scores, got {scores.shape[1]}")
    scale = np.array([input_width, input_height, input_width, input_height], dtype=np.float32)
    return corners * scale, scores


def select(boxes: FloatArray, class_scores: FloatArray, *, threshold: float, nms_threshold: float) -> RawObjects:
    """Best class per box, confidence filter, per-class NMS; best first."""
    if len(boxes) == 0:
        return RawObjects.empty()
    class_ids = np.argmax(class_scores, axis=1)
    scores = class_scores[np.arange(len(class_ids)), class_ids].astype(np.float32)
    keep = np.nonzero(scores >= threshold)[0]
    if keep.size > MAX_CANDIDATES:
        keep = keep[np.argsort(-scores[keep], kind="stable")[:MAX_CANDIDATES]]
    boxes, scores, class_ids = boxes[keep].astype(np.float32), scores[keep], class_ids[keep].astype(np.intp)
    kept = batched_nms(boxes, scores, class_ids, nms_threshold)[:MAX_DETECTIONS]
    return RawObjects(boxes[kept], scores[kept], class_ids[kept])


def _single(output: FloatArray) -> FloatArray:
    array = np.asarray(output, dtype=np.float32)
    if array.ndim == 3:
        if array.shape[0] != 1:
            raise ValueError(f"expected a batch of one, got shape {array.shape}")
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D table per image, got shape {output.shape}")
    return array


class YoloDetector:
    """Runs a YOLO-family session on one picture at a time (thread-safe: no mutable state)."""

    def __init__(
        self,
        session: Any,
        *,
        net_type: NetType,
        num_classes: int,
        net_width: int,
        net_height: int,
        threshold: float,
        nms_threshold: float,
        swap_rb: bool,
    ) -> None:
        self.session = session
        self.input_name: str = session.get_inputs()[0].name
        self.net_type = net_type
        self.num_classes = num_classes
        self.net_width = net_width
        self.net_height = net_height
        self.threshold = threshold
        self.nms_threshold = nms_threshold
        self.swap_rb = swap_rb

    def letterbox(self, width: int, height: int) -> Letterbox:
        # YOLOX's own preprocessing pads only right and bottom; the others centre the picture.
        size = min(self.net_width, self.net_height)
        letterbox = square_letterbox(width, height, size, centred=self.net_type != NetType.YOLOX)
        if (self.net_width, self.net_height) == (size, size):
            return letterbox
        return Letterbox(
            width,
            height,
            self.net_width,
            self.net_height,
            letterbox.scale,
            letterbox.pad_left,
            letterbox.pad_top,
        )

    def blob(self, canvas: UInt8Array) -> FloatArray:
        pixels = canvas[..., ::-1] if self.swap_rb else canvas
        blob = np.ascontiguousarray(pixels.transpose(2, 0, 1)[None], dtype=np.float32)
        # YOLOX reads raw 0..255 values; the Ultralytics-style families read 0..1.
        if self.net_type != NetType.YOLOX:
            blob *= np.float32(1 / 255)
        return blob

    def detect(self, canvas: UInt8Array) -> RawObjects:
        outputs = [np.asarray(out) for out in self.session.run(None, {self.input_name: self.blob(canvas)})]
        boxes, class_scores = self.decode(outputs)
        return select(boxes, class_scores, threshold=self.threshold, nms_threshold=self.nms_threshold)

    def decode(self, outputs: list[FloatArray]) -> tuple[FloatArray, FloatArray]:
        if self.net_type == NetType.YOLOV4:
            if len(outputs) < 2:
                raise ValueError("a yolov4 model must have two outputs: boxes and confs")
            return decode_yolov4(outputs[0], outputs[1], self.num_classes, self.net_width, self.net_height)
        if self.net_type in COLUMN_LAYOUT:
            return decode_column_layout(outputs[0], self.num_classes)
        return decode_row_layout(outputs[0], self.num_classes)
