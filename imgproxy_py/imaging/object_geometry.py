"""Where things in the image go as the pipeline turns, flips, crops, shifts and scales it:
points and boxes between the stored and the upright view (EXIF orientation), and the
detections the context keeps in the current image's coordinates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pyvips

from imgproxy_py.detection import Box, Detection

if TYPE_CHECKING:
    from imgproxy_py.imaging.context import Context

Point = tuple[float, float]


def orient(img: pyvips.Image, angle: int, flip: bool) -> pyvips.Image:
    """The upright view of ``img`` (EXIF orientation applied), as rotate_and_flip does it."""
    if angle % 360:
        img = img.rot(f"d{angle % 360}")
    return img.fliphor() if flip else img


def rotate_point(x: float, y: float, angle: int, width: int, height: int) -> Point:
    """Where a point of a ``width`` x ``height`` image lands when the image turns ``angle``
    degrees clockwise (as libvips' ``rot``)."""
    angle %= 360
    if angle == 90:
        return height - y, x
    if angle == 180:
        return width - x, height - y
    if angle == 270:
        return y, width - x
    return x, y


def orient_point(x: float, y: float, angle: int, flip: bool, width: int, height: int) -> Point:
    """A point of the stored image (``width``x``height``) in its upright view (``orient``)."""
    x, y = rotate_point(x, y, angle, width, height)
    if flip:
        x = (height if angle % 180 else width) - x
    return x, y


def unorient_point(x: float, y: float, angle: int, flip: bool, width: int, height: int) -> Point:
    """The inverse of ``orient_point``: a point of the upright view in the stored image's
    coordinates (``width``x``height``)."""
    up_w, up_h = (height, width) if angle % 180 else (width, height)
    if flip:
        x = up_w - x
    return rotate_point(x, y, -angle, up_w, up_h)


def map_box(box: Box, point: Callable[[float, float], Point]) -> Box:
    """The box through ``point``, a map that keeps boxes axis-aligned (scaling, shifting,
    quarter turns, flips)."""
    (x1, y1), (x2, y2) = point(box.left, box.top), point(box.right, box.bottom)
    return Box.from_corners(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def mapped(d: Detection, point: Callable[[float, float], Point],
            bounds: tuple[int, int] | None = None) -> Detection:
    """``d`` with its box and landmarks moved by ``point`` (see ``map_box``); the box is
    clipped to ``bounds`` when given.

    The landmarks travel too: gravity reads a face's pose from them (``subject_box``).
    """
    box = map_box(d.box, point)
    if bounds is not None:
        box = box.clip(*bounds)
    return replace(d, left=box.left, top=box.top, width=box.width, height=box.height,
                   landmarks=tuple(point(x, y) for x, y in d.landmarks))


@dataclass(frozen=True)
class Frame:
    """How the current image relates to the upright source (EXIF orientation applied).

    Before ``rotate_and_flip`` the image is stored as decoded and the EXIF orientation
    (``angle`` then ``flip``) is still to come; after it, the image is upright and then turned
    by the ``rotate``, ``flip`` options.  Scaling is not part of the frame: sizes are relative.
    """

    width: int
    height: int
    exif_angle: int = 0
    exif_flip: bool = False
    rotate: int = 0
    flip_horizontal: bool = False
    flip_vertical: bool = False

    @classmethod
    def of(cls, c: Context) -> Frame:
        if not c.rotated:
            return cls(c.img.width, c.img.height, exif_angle=c.angle % 360, exif_flip=c.flip)
        po = c.po
        return cls(c.img.width, c.img.height, rotate=po.rotate % 360, flip_horizontal=po.flip_horizontal,
                   flip_vertical=po.flip_vertical)

    @property
    def upright_size(self) -> tuple[int, int]:
        turned = (self.exif_angle + self.rotate) % 180
        return (self.height, self.width) if turned else (self.width, self.height)

    def upright(self, img: pyvips.Image) -> pyvips.Image:
        """The upright view of an image in this frame."""
        if self.exif_angle or self.exif_flip:
            return orient(img, self.exif_angle, self.exif_flip)
        if self.flip_vertical:
            img = img.flipver()
        if self.flip_horizontal:
            img = img.fliphor()
        return img.rot(f"d{360 - self.rotate}") if self.rotate else img

    def to_image(self, x: float, y: float) -> Point:
        """A point of the upright view in this frame's pixels."""
        up_w, up_h = self.upright_size
        if self.exif_angle or self.exif_flip:
            return unorient_point(x, y, self.exif_angle, self.exif_flip, self.width, self.height)
        x, y = rotate_point(x, y, self.rotate, up_w, up_h)
        if self.flip_horizontal:
            x = self.width - x
        if self.flip_vertical:
            y = self.height - y
        return x, y


# --- keeping detections in step with the image -----------------------------------------

def shift_detections(c: Context, dx: float, dy: float) -> None:
    if c.detections is not None:
        bounds = (c.img.width, c.img.height)
        moved = (mapped(d, lambda x, y: (x + dx, y + dy), bounds) for d in c.detections)
        c.detections = tuple(d for d in moved if d.width > 0 and d.height > 0)


def scale_detections(c: Context, sx: float, sy: float) -> None:
    if c.detections is not None:
        c.detections = tuple(mapped(d, lambda x, y: (x * sx, y * sy)) for d in c.detections)
