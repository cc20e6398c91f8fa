"""Which part of the image a crop should keep, given the detections (``g:obj`` / ``g:objw``).

Every detection is scored ``class weight x confidence x area``; a weight of 0 removes it.
What a crop keeps of a face is its head (``subject_box``), not just the detector's box.
Modes (``IMGPROXY_OBJECT_DETECTION_GRAVITY_MODE``):

* ``max_score_area``: when the crop size is known, the crop-sized window holding the largest
  total score of whole detections wins and the focus is the union of the detections in it.
  Without a crop size the focus is the union of every detection scoring at least a tenth of
  the best one (weak, tiny detections do not drag the crop around).
* ``one_best``: the single detection with the highest score.
* ``one_best_centermost``: among the detections scoring at least half the best score, the one
  whose centre is closest to the image centre.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

import numpy as np

from imgproxy_py.detection.types import Box, Detection

# Share of the best score a detection needs to join the max_score_area focus (no crop size).
UNION_SHARE = 0.1
# Share of the best score that still counts as "one of the best" for one_best_centermost.
CENTERMOST_SHARE = 0.5
# Where the eyes are in a face box, as a share of its height from the top.  When a box is taller
# than the crop, the crop is centred here rather than on the box centre (the nose or mouth).
EYE_LINE = 0.4
# A turned face's box is extended behind the head by this share of the nose's sideways offset
# from the box centre (see subject_box).
HEAD_EXTENSION = 0.5
# max_score_area tries every window position that starts or ends at a detection edge: with
# n detections that is (2n)^2 windows of n checks each, so only the best ones are considered.
MAX_WINDOW_CANDIDATES = 48


class GravityMode(StrEnum):
    MAX_SCORE_AREA = "max_score_area"
    ONE_BEST = "one_best"
    ONE_BEST_CENTERMOST = "one_best_centermost"


def select_focus(
    detections: Sequence[Detection],
    *,
    class_weights: Mapping[str, float] | None,
    default_weight: float | None = None,
    mode: GravityMode,
    image_width: float,
    image_height: float,
    crop_width: float | None = None,
    crop_height: float | None = None,
) -> Box | None:
    """The box the crop should hold, or ``None`` when no detection has a positive weight.

    ``class_weights`` None gives every class weight 1.  Otherwise classes not in the mapping
    get ``default_weight``, which defaults to 0 (only the named classes count).
    ``crop_width``/``crop_height`` (in this image's pixels) let ``max_score_area`` pick the
    best crop-sized group instead of the union of everything.
    """
    fallback = default_weight if default_weight is not None else (0.0 if class_weights else 1.0)
    weights = class_weights or {}
    scored = [
        (weights.get(detection.class_name, fallback) * detection.confidence * detection.box.area, detection)
        for detection in detections
    ]
    scored = [(score, detection) for score, detection in scored if score > 0]
    if not scored:
        return None
    scored.sort(key=lambda item: item[0], reverse=True)
    scores = [score for score, _ in scored]
    boxes = [subject_box(detection).clip(image_width, image_height) for _, detection in scored]

    if mode == GravityMode.ONE_BEST:
        return boxes[0]
    if mode == GravityMode.ONE_BEST_CENTERMOST:
        return _centermost(boxes, scores, image_width, image_height)
    if crop_width is not None and crop_height is not None:
        return _best_window(boxes, scores, image_width, image_height, crop_width, crop_height)
    return _union([box for box, score in zip(boxes, scores, strict=True) if score >= scores[0] * UNION_SHARE])


def subject_box(detection: Detection) -> Box:
    """The area a crop should keep to show ``detection``: its box, or for a face its head.

    A face detector boxes the face from brow to chin and, when the head is turned, from the
    ear to the tip of the nose, so a crop fitted to that box cuts through the ear and the
    back of the head.  The nose tells how far the head is turned: it sits on the box's centre
    line in a frontal face and near its edge in a profile.  The box is extended away from the
    nose, along the eye line, by ``HEAD_EXTENSION`` of the nose's offset along that line:
    nothing for a frontal face, about a quarter of the face's width for a profile.
    Detections without the five face landmarks (eyes, nose, mouth corners) keep their box.
    """
    box = detection.box
    if len(detection.landmarks) != 5:
        return box
    (left_eye_x, left_eye_y), (right_eye_x, right_eye_y), (nose_x, nose_y) = detection.landmarks[:3]
    # The eye line is the face's own horizontal: it stays right in rotated images.
    axis_x, axis_y = right_eye_x - left_eye_x, right_eye_y - left_eye_y
    length = math.hypot(axis_x, axis_y)
    axis_x, axis_y = (axis_x / length, axis_y / length) if length > 1e-6 else (1.0, 0.0)
    centre_x, centre_y = box.center
    sideways = (nose_x - centre_x) * axis_x + (nose_y - centre_y) * axis_y
    shift_x, shift_y = -HEAD_EXTENSION * sideways * axis_x, -HEAD_EXTENSION * sideways * axis_y
    return box.union(Box(box.left + shift_x, box.top + shift_y, box.width, box.height))


def _centermost(boxes: list[Box], scores: list[float], image_width: float, image_height: float) -> Box:
    centre_x, centre_y = image_width / 2, image_height / 2

    def distance(box: Box) -> float:
        x, y = box.center
        # Relative to the image size, so that a tall image does not favour horizontal offsets.
        return math.hypot((x - centre_x) / image_width, (y - centre_y) / image_height)

    contenders = [box for box, score in zip(boxes, scores, strict=True) if score >= scores[0] * CENTERMOST_SHARE]
    return min(contenders, key=distance)  # min keeps the first (best-scoring) on ties


def _best_window(
    boxes: list[Box],
    scores: list[float],
    image_width: float,
    image_height: float,
    crop_width: float,
    crop_height: float,
) -> Box:
    boxes, scores = boxes[:MAX_WINDOW_CANDIDATES], scores[:MAX_WINDOW_CANDIDATES]
    lows_x, lows_y, highs_x, highs_y = np.array([[b.left, b.top, b.right, b.bottom] for b in boxes]).T
    weight = np.array(scores)
    lefts = _window_starts(lows_x, highs_x, crop_width, image_width)
    tops = _window_starts(lows_y, highs_y, crop_height, image_height)

    # held[i, j, k]: detection k lies wholly in the window at (lefts[i], tops[j]).
    held = _held(lows_x, highs_x, lefts, crop_width)[:, None, :] & _held(lows_y, highs_y, tops, crop_height)[None, :, :]
    totals = (held * weight).sum(axis=2)
    if totals.max() <= 0:
        # Nothing fits whole: keep as much as possible of the best detection.
        return boxes[0]
    # Among equally good windows, prefer the one that also shows most of the others.
    shown_x = _overlap(lows_x, highs_x, lefts, crop_width)
    shown_y = _overlap(lows_y, highs_y, tops, crop_height)
    areas = np.maximum((highs_x - lows_x) * (highs_y - lows_y), 1e-9)
    partial = (shown_x[:, None, :] * shown_y[None, :, :] / areas * weight).sum(axis=2)
    best = np.unravel_index(np.lexsort((partial.ravel(), totals.ravel()))[-1], totals.shape)
    return _union(box for box, inside in zip(boxes, held[best], strict=True) if inside)


def _held(lows: np.ndarray, highs: np.ndarray, starts: np.ndarray, window: float) -> np.ndarray:
    """``[len(starts), len(lows)]``: whether each span lies inside each window (with float slack)."""
    return (lows[None, :] >= starts[:, None] - 1e-6) & (highs[None, :] <= starts[:, None] + window + 1e-6)


def _overlap(lows: np.ndarray, highs: np.ndarray, starts: np.ndarray, window: float) -> np.ndarray:
    """``[len(starts), len(lows)]``: how much of each span each window covers, in pixels."""
    covered = np.minimum(highs[None, :], starts[:, None] + window) - np.maximum(lows[None, :], starts[:, None])
    clipped: np.ndarray = np.clip(covered, 0.0, None)
    return clipped


def _window_starts(lows: np.ndarray, highs: np.ndarray, window: float, length: float) -> np.ndarray:
    """Window positions worth trying: flush with some detection's start or end, inside the image."""
    limit = max(0.0, length - window)
    starts = np.concatenate([lows, highs - window, [0.0, limit]])
    return np.unique(np.clip(starts, 0.0, limit))


def _union(boxes: Iterable[Box]) -> Box:
    iterator = iter(boxes)
    result = next(iterator)
    for box in iterator:
        result = result.union(box)
    return result


def union_box(detections: Sequence[Detection], scale: float) -> Box:
    """The union of the detections' boxes, grown by ``scale`` about its centre (``crop_objects``).

    Not clipped: the caller clips it to the image (``Box.clip``).  Raises ``ValueError`` when
    there are no detections.
    """
    if not detections:
        raise ValueError("union_box needs at least one detection")
    return _union(detection.box for detection in detections).grow(scale)


def place_crop_window(
    focus: Box, image_width: int, image_height: int, crop_width: int, crop_height: int
) -> tuple[int, int]:
    """Top-left corner of a ``crop_width`` x ``crop_height`` window that best shows ``focus``.

    Along each axis the window is centred on the focus; when the focus fits, it is kept whole.
    When the focus is taller than the window, the window is centred on the focus' eye line
    (``EYE_LINE`` of its height from the top) or on its top part, so that a face loses its
    chin rather than its eyes.  The window always stays inside the image.
    """
    left = _place_axis(focus.left, focus.right, image_width, crop_width, keep_start=False)
    top = _place_axis(focus.top, focus.bottom, image_height, crop_height, keep_start=True)
    return left, top


def _place_axis(low: float, high: float, length: int, window: int, *, keep_start: bool) -> int:
    limit = length - window
    if limit <= 0:
        return 0
    size = high - low
    if size <= window:
        start = round((low + high - window) / 2)
        # Rounding may shave a pixel off the focus; shift back so that it stays whole.
        start = min(start, math.floor(low))
        start = max(start, math.ceil(high) - window)
    elif keep_start:
        centre = low + max(window / 2, size * EYE_LINE)
        start = round(centre - window / 2)
    else:
        start = round((low + high - window) / 2)
    return int(min(max(start, 0), limit))


def filter_by_class(detections: Iterable[Detection], class_names: Iterable[str] | None) -> tuple[Detection, ...]:
    """The detections of the named classes; ``None``, an empty list or ``all`` keep everything."""
    names = set(class_names or ())
    if not names or "all" in names:
        return tuple(detections)
    return tuple(detection for detection in detections if detection.class_name in names)
