"""CenterFace: an anchor-free face detector with five landmarks (MIT, Star-Clouds).

The network reads RGB floats in 0..255 (no normalisation) of any size that is a multiple of 32
and predicts, on a grid 4 times coarser than the input:

* ``heatmap`` [1, 1, h, w]: probability that a face centre lies in the cell;
* ``scale`` [1, 2, h, w]: log of the face height and width, in units of 4 input pixels;
* ``offset`` [1, 2, h, w]: sub-cell position of the centre (y, x);
* ``landmarks`` [1, 10, h, w]: (y, x) of eyes, nose and mouth corners relative to the box's
  top-left corner, in units of the box size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from imgproxy_py.detection.geometry import (
    FloatArray,
    Letterbox,
    UInt8Array,
    nms,
    stride_canvas_side,
    stride_letterbox,
)
from imgproxy_py.detection.sessions import one_input_shape

STRIDE = 4
# Pad value: black, as in the upstream demo (the network was trained without letterboxing).
PAD_FILL = 0
# The coarse pass is there for faces the main pass sees too large; it reports only faces at
# least this tall in main-pass network pixels.  Smaller ones it sees at a few pixels, where
# textures pass for faces, and the main pass sees them well.
LARGE_FACE = 192


@dataclass(frozen=True)
class RawFaces:
    """Faces in network-input pixels: ``boxes`` [N, 4] x1 y1 x2 y2, ``scores`` [N], ``landmarks`` [N, 10]."""

    boxes: FloatArray
    scores: FloatArray
    landmarks: FloatArray


def decode(
    heatmap: FloatArray,
    scale: FloatArray,
    offset: FloatArray,
    landmarks: FloatArray,
    *,
    threshold: float,
    nms_threshold: float,
) -> RawFaces:
    """Turn one image's raw outputs (batch dimension included) into boxes, best first."""
    heat = heatmap[0, 0]
    rows, cols = np.nonzero(heat > threshold)
    if rows.size == 0:
        empty = np.zeros((0, 4), dtype=np.float32)
        return RawFaces(empty, np.zeros(0, dtype=np.float32), np.zeros((0, 10), dtype=np.float32))
    scores = heat[rows, cols].astype(np.float32)
    heights = np.exp(scale[0, 0, rows, cols]) * STRIDE
    widths = np.exp(scale[0, 1, rows, cols]) * STRIDE
    centre_y = (rows + offset[0, 0, rows, cols] + 0.5) * STRIDE
    centre_x = (cols + offset[0, 1, rows, cols] + 0.5) * STRIDE
    x1 = centre_x - widths / 2
    y1 = centre_y - heights / 2
    boxes = np.stack([x1, y1, x1 + widths, y1 + heights], axis=1).astype(np.float32)

    points = landmarks[0][:, rows, cols].T  # [N, 10] as (y, x) pairs
    marks = np.empty_like(points, dtype=np.float32)
    marks[:, 0::2] = points[:, 1::2] * widths[:, None] + x1[:, None]
    marks[:, 1::2] = points[:, 0::2] * heights[:, None] + y1[:, None]

    keep = nms(boxes, scores, nms_threshold)
    return RawFaces(boxes[keep], scores[keep], marks[keep])


class CenterFace:
    """Runs a CenterFace session on one picture at a time (thread-safe: no mutable state).

    ``net_size`` is the main scale; ``coarse_net_size`` (0 for none) a second, smaller one for
    faces too large for the main scale, which the network misses.

    On CUDA both passes run in one square canvas that holds any main-pass letterbox (the
    picture at the same scale as on the CPU, top-left, the rest padding), since a change of
    input shape costs that provider about a second (``one_input_shape``).
    """

    def __init__(
        self, session: Any, *, net_size: int, threshold: float, nms_threshold: float, coarse_net_size: int = 0
    ) -> None:
        self.session = session
        self.input_name: str = session.get_inputs()[0].name
        self.net_size = net_size
        self.coarse_net_size = coarse_net_size
        self.threshold = threshold
        self.nms_threshold = nms_threshold
        self.canvas_side = stride_canvas_side(net_size) if one_input_shape(session) else 0

    def blank_canvas(self) -> UInt8Array:
        """An empty input of the size this detector feeds (a load check and a warm-up)."""
        side = self.canvas_side or 32
        return np.full((side, side, 3), PAD_FILL, np.uint8)

    def letterbox(self, width: int, height: int, net_size: int = 0) -> Letterbox:
        """The main pass's letterbox, or the one of ``net_size``; on CUDA in the one canvas."""
        letterbox = stride_letterbox(width, height, net_size or self.net_size)
        if not self.canvas_side:
            return letterbox
        return replace(letterbox, width=self.canvas_side, height=self.canvas_side)

    def detect_all(self, width: int, height: int, canvas: Callable[[Letterbox], UInt8Array]) -> RawFaces:
        """Faces in a ``width`` x ``height`` picture, in its pixels: the main pass and, when
        configured, the coarse pass for large faces.  ``canvas`` renders the picture for a
        letterbox."""
        main = self.letterbox(width, height)
        found = [self._in_source(self.detect(canvas(main)), main)]
        if self.coarse_net_size:
            coarse = self.letterbox(width, height, self.coarse_net_size)
            faces = self._in_source(self.detect(canvas(coarse)), coarse)
            large = (faces.boxes[:, 3] - faces.boxes[:, 1]) * main.scale >= LARGE_FACE
            found.append(RawFaces(faces.boxes[large], faces.scores[large], faces.landmarks[large]))
        return self.merge(found)

    @staticmethod
    def _in_source(faces: RawFaces, letterbox: Letterbox) -> RawFaces:
        return RawFaces(letterbox.to_source(faces.boxes), faces.scores, letterbox.to_source(faces.landmarks))

    def run(self, canvas: UInt8Array) -> tuple[FloatArray, ...]:
        blob = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32)
        outputs = self.session.run(None, {self.input_name: blob})
        return tuple(np.asarray(out, dtype=np.float32) for out in outputs)

    def detect(self, canvas: UInt8Array) -> RawFaces:
        heatmap, scale, offset, landmarks = self.run(canvas)[:4]
        return decode(heatmap, scale, offset, landmarks, threshold=self.threshold, nms_threshold=self.nms_threshold)

    def merge(self, passes: list[RawFaces]) -> RawFaces:
        """One set of faces from several passes (in the same coordinates): the surest of overlaps."""
        if len(passes) == 1:
            return passes[0]
        boxes = np.concatenate([found.boxes for found in passes])
        scores = np.concatenate([found.scores for found in passes])
        landmarks = np.concatenate([found.landmarks for found in passes])
        keep = nms(boxes, scores, self.nms_threshold)
        return RawFaces(boxes[keep], scores[keep], landmarks[keep])
