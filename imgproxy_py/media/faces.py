"""Faces across images: the protocol the media code needs of a face detection, and the best face
thumbnail among several images (the representative face of a photo or a video)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pyvips

FloatArray = npt.NDArray[np.float32]


class DetectionLike(Protocol):
    """What is used of a detection (``imgproxy_py.detection.Detection`` fits)."""

    @property
    def confidence(self) -> float: ...
    @property
    def left(self) -> float: ...
    @property
    def top(self) -> float: ...
    @property
    def width(self) -> float: ...
    @property
    def height(self) -> float: ...


FaceDetector = Callable[[pyvips.Image], Sequence[DetectionLike]]


class ExpressionLike(Protocol):
    """What is used of a face's expression (``imgproxy_py.detection.expressions.Expression`` fits)."""

    @property
    def dominant(self) -> str: ...
    @property
    def probability(self) -> float: ...
    def value(self, values: Mapping[str, float]) -> float: ...


# The expressions of the given faces of an image, in their order (one inference for all of them).
ExpressionClassifier = Callable[[pyvips.Image, Sequence[DetectionLike]], Sequence[ExpressionLike]]


def laplacian_variance(grey: FloatArray) -> float:
    """Variance of the 4-neighbour Laplacian: high for crisp edges, low for blur and flat frames."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4.0 * grey[1:-1, 1:-1]
    return float(lap.var())


def is_face(detection: DetectionLike) -> bool:
    name = getattr(detection, "class_name", None)
    return not isinstance(name, str) or "face" in name.lower()


def representative_face(
    images: Sequence[pyvips.Image], detector: FaceDetector, size: int = 320
) -> pyvips.Image | None:
    """A ``size`` x ``size`` thumbnail of the sharpest of the biggest, surest faces in ``images``.

    Faces are ranked by area times confidence; the ten best are compared by the Laplacian
    variance of their crop (resized to a common size so big and small faces compare fairly).
    """
    candidates: list[tuple[float, pyvips.Image, DetectionLike]] = []
    for image in images:
        for detection in detector(image):
            if is_face(detection) and detection.width >= 1 and detection.height >= 1:
                candidates.append((detection.width * detection.height * detection.confidence, image, detection))
    if not candidates:
        return None
    candidates.sort(key=lambda item: item[0], reverse=True)
    best: tuple[float, pyvips.Image, DetectionLike] | None = None
    for _, image, detection in candidates[:10]:
        sharpness = _crop_sharpness(image, detection)
        if best is None or sharpness > best[0]:
            best = (sharpness, image, detection)
    assert best is not None
    return face_thumbnail(best[1], best[2], size)


def _crop_sharpness(image: pyvips.Image, face: DetectionLike) -> float:
    left, top, width, height = _clip_box(image, face.left, face.top, face.width, face.height)
    if width < 3 or height < 3:
        return 0.0
    crop = _srgb(image).crop(left, top, width, height).colourspace("b-w")[0]
    crop = crop.resize(96 / width, vscale=96 / height)
    grey = np.ndarray(
        buffer=crop.cast("uchar").write_to_memory(), dtype=np.uint8, shape=(crop.height, crop.width)
    ).astype(np.float32)
    return laplacian_variance(grey)


def face_thumbnail(image: pyvips.Image, face: DetectionLike, size: int) -> pyvips.Image:
    # A margin of half the face on each side keeps hair and chin in the thumbnail.
    side = min(max(face.width, face.height) * 1.6, image.width, image.height)
    centre_x, centre_y = face.left + face.width / 2, face.top + face.height / 2
    left = min(max(0.0, centre_x - side / 2), image.width - side)
    top = min(max(0.0, centre_y - side / 2), image.height - side)
    whole = max(1, int(side))
    crop = _srgb(image).crop(int(left), int(top), whole, whole)
    return crop.resize(size / whole, vscale=size / whole)


def _clip_box(image: pyvips.Image, left: float, top: float, width: float, height: float) -> tuple[int, int, int, int]:
    x0 = max(0, min(image.width, int(left)))
    y0 = max(0, min(image.height, int(top)))
    x1 = max(x0, min(image.width, math.ceil(left + width)))
    y1 = max(y0, min(image.height, math.ceil(top + height)))
    return x0, y0, x1 - x0, y1 - y0


def _srgb(image: pyvips.Image) -> pyvips.Image:
    if image.hasalpha():
        image = image.flatten(background=[255])
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    return image
