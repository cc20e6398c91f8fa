"""The value types every part of detection shares: a box and a detection."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in pixel coordinates (floats: sub-pixel precision is kept)."""

    left: float
    top: float
    width: float
    height: float

    @classmethod
    def from_corners(cls, left: float, top: float, right: float, bottom: float) -> Box:
        return cls(left, top, max(0.0, right - left), max(0.0, bottom - top))

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def center(self) -> tuple[float, float]:
        return (self.left + self.width / 2, self.top + self.height / 2)

    @property
    def area(self) -> float:
        return self.width * self.height

    def scale(self, sx: float, sy: float) -> Box:
        """The same box in a copy of the image resized by ``sx`` horizontally and ``sy`` vertically."""
        return Box(self.left * sx, self.top * sy, self.width * sx, self.height * sy)

    def grow(self, factor: float) -> Box:
        """The box with both sides multiplied by ``factor``, keeping its centre."""
        cx, cy = self.center
        width, height = self.width * factor, self.height * factor
        return Box(cx - width / 2, cy - height / 2, width, height)

    def clip(self, width: float, height: float) -> Box:
        """The part of the box inside an image of ``width`` x ``height`` (empty boxes keep a position)."""
        left = min(max(self.left, 0.0), width)
        top = min(max(self.top, 0.0), height)
        right = min(max(self.right, left), width)
        bottom = min(max(self.bottom, top), height)
        return Box(left, top, right - left, bottom - top)

    def union(self, other: Box) -> Box:
        return Box.from_corners(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def contains(self, other: Box) -> bool:
        return (
            self.left <= other.left
            and self.top <= other.top
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def intersection_area(self, other: Box) -> float:
        width = min(self.right, other.right) - max(self.left, other.left)
        height = min(self.bottom, other.bottom) - max(self.top, other.top)
        return max(0.0, width) * max(0.0, height)

    def iou(self, other: Box) -> float:
        """Intersection over union: 1 for the same box, 0 for boxes that do not touch."""
        inter = self.intersection_area(other)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def pixel_bounds(self, image_width: int, image_height: int) -> tuple[int, int, int, int]:
        """``(left, top, width, height)`` in whole pixels covering the box, inside the image.

        Partly covered edge pixels count as inside, so an effect applied to this area never
        leaves a sliver of the object untouched.
        """
        left = max(0, min(image_width, int(self.left)))
        top = max(0, min(image_height, int(self.top)))
        right = max(left, min(image_width, _ceil(self.right)))
        bottom = max(top, min(image_height, _ceil(self.bottom)))
        return left, top, right - left, bottom - top


def _ceil(value: float) -> int:
    whole = int(value)
    return whole + 1 if value > whole else whole


@dataclass(frozen=True)
class Detection:
    """One detected object; coordinates are pixels of the image that was passed to ``detect``."""

    class_id: int
    class_name: str
    confidence: float
    left: float
    top: float
    width: float
    height: float
    landmarks: tuple[tuple[float, float], ...] = ()

    @property
    def box(self) -> Box:
        return Box(self.left, self.top, self.width, self.height)

    @property
    def label(self) -> str:
        return f"{self.class_name} {self.confidence:.2f}"
