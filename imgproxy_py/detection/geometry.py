"""Pure numpy geometry for network inputs and outputs: letterboxing, box formats, NMS."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
UInt8Array = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Letterbox:
    """Where a ``source_width`` x ``source_height`` picture sits inside a network input.

    The picture is scaled by ``scale`` (the same on both axes, so shapes are not distorted)
    and placed at ``(pad_left, pad_top)`` in a ``width`` x ``height`` canvas.
    """

    source_width: int
    source_height: int
    width: int
    height: int
    scale: float
    pad_left: int
    pad_top: int

    @property
    def content_width(self) -> int:
        return max(1, min(self.width - self.pad_left, round(self.source_width * self.scale)))

    @property
    def content_height(self) -> int:
        return max(1, min(self.height - self.pad_top, round(self.source_height * self.scale)))

    def to_source(self, boxes: FloatArray) -> FloatArray:
        """Map ``[N, 4]`` x1, y1, x2, y2 boxes (or ``[N, 2k]`` x, y points) from input to source pixels."""
        out = np.array(boxes, dtype=np.float32, copy=True)
        out[:, 0::2] = (out[:, 0::2] - self.pad_left) / self.scale
        out[:, 1::2] = (out[:, 1::2] - self.pad_top) / self.scale
        return out

    def place(self, picture: UInt8Array, fill: int) -> UInt8Array:
        """Put an already resized ``content_height x content_width x 3`` picture on the canvas."""
        canvas = np.full((self.height, self.width, 3), fill, dtype=np.uint8)
        height, width = picture.shape[:2]
        canvas[self.pad_top : self.pad_top + height, self.pad_left : self.pad_left + width] = picture
        return canvas


def square_letterbox(source_width: int, source_height: int, size: int, *, centred: bool) -> Letterbox:
    """Fit the picture in a ``size`` x ``size`` input, scaled up or down.

    Ultralytics models were trained on centred letterboxes; YOLOX pads only right and bottom.
    """
    scale = min(size / source_width, size / source_height)
    content_width = max(1, min(size, round(source_width * scale)))
    content_height = max(1, min(size, round(source_height * scale)))
    pad_left = (size - content_width) // 2 if centred else 0
    pad_top = (size - content_height) // 2 if centred else 0
    return Letterbox(source_width, source_height, size, size, scale, pad_left, pad_top)


def stride_letterbox(
    source_width: int, source_height: int, size: int, stride: int = 32, max_aspect: float = 2.0
) -> Letterbox:
    """Scale the picture to about ``size * size`` pixels and round each side up to ``stride``.

    For fully convolutional models such as CenterFace the cost follows the pixel count, not the
    shape: a 3:2 photo at size 320 runs as 384x256 for the price of 320x320, and its faces
    keep more pixels than if the long side were cut to 320.  The long side is capped at
    ``max_aspect * size`` so that a panorama does not become a sliver.
    """
    scale = min(size / math.sqrt(source_width * source_height), max_aspect * size / max(source_width, source_height))
    content_width = max(1, round(source_width * scale))
    content_height = max(1, round(source_height * scale))
    width = _round_up(content_width, stride)
    height = _round_up(content_height, stride)
    return Letterbox(source_width, source_height, width, height, scale, 0, 0)


def stride_canvas_side(size: int, stride: int = 32, max_aspect: float = 2.0) -> int:
    """The side of the square canvas that holds every ``stride_letterbox`` of ``size``: its
    long side is at most ``max_aspect * size``, rounded up to ``stride``."""
    return _round_up(math.ceil(max_aspect * size), stride)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def xywh_to_xyxy(boxes: FloatArray) -> FloatArray:
    """Centre x, centre y, width, height to corner coordinates."""
    out = np.empty_like(boxes, dtype=np.float32)
    half_w = boxes[:, 2] / 2
    half_h = boxes[:, 3] / 2
    out[:, 0] = boxes[:, 0] - half_w
    out[:, 1] = boxes[:, 1] - half_h
    out[:, 2] = boxes[:, 0] + half_w
    out[:, 3] = boxes[:, 1] + half_h
    return out


def nms(boxes: FloatArray, scores: FloatArray, iou_threshold: float) -> npt.NDArray[np.intp]:
    """Greedy non-maximum suppression; returns the indices kept, best score first."""
    if len(boxes) == 0:
        return np.empty(0, dtype=np.intp)
    x1, y1, x2, y2 = (boxes[:, i].astype(np.float64) for i in range(4))
    areas = np.maximum(0.0, x2 - x1) * np.maximum(0.0, y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        width = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]))
        height = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]))
        inter = width * height
        union = areas[best] + areas[rest] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[iou < iou_threshold]
    return np.asarray(keep, dtype=np.intp)


def batched_nms(
    boxes: FloatArray, scores: FloatArray, class_ids: npt.NDArray[np.intp], iou_threshold: float
) -> npt.NDArray[np.intp]:
    """NMS within each class: a face and a person may overlap, two faces may not."""
    if len(boxes) == 0:
        return np.empty(0, dtype=np.intp)
    # Shifting each class far apart makes one NMS pass behave like one pass per class.
    span = float(np.max(boxes[:, 2:]) - min(0.0, float(np.min(boxes[:, :2])))) + 1.0
    offsets = class_ids.astype(np.float32)[:, None] * span
    return nms(boxes + offsets, scores, iou_threshold)
