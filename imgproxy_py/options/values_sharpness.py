"""Values of imgproxy Pro's sharpness, blur-area and geometry options: ``resizing_algorithm``,
``crop_aspect_ratio``, ``unsharp_masking``, ``blur_areas`` and ``progressive_blur``.

Kept out of ``model.py`` (which only holds their fields); each value is frozen and has a
canonical form for cache keys and ETags.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from imgproxy_py.options.numbers import canonical_number


class ResizingAlgorithm(StrEnum):
    """imgproxy's names; each is the libvips kernel of the same name."""

    NEAREST = "nearest"
    LINEAR = "linear"
    CUBIC = "cubic"
    LANCZOS2 = "lanczos2"
    LANCZOS3 = "lanczos3"


class UnsharpMaskingMode(StrEnum):
    AUTO = "auto"  # only when the image is downscaled and ``sharpen`` is not set
    NONE = "none"
    ALWAYS = "always"


@dataclass(frozen=True)
class UnsharpMaskingArgs:
    """What ``unsharp_masking`` gave; ``None`` keeps the server's ``IMGPROXY_UNSHARP_MASKING_*``."""

    mode: UnsharpMaskingMode | None = None
    weight: float | None = None
    divider: float | None = None

    def canonical(self) -> str:
        return ":".join("" if v is None else (v.value if isinstance(v, StrEnum) else canonical_number(v))
                        for v in (self.mode, self.weight, self.divider))


@dataclass(frozen=True)
class CropAspectRatio:
    """``crop_aspect_ratio``: the width/height ratio the crop area is corrected to (0: none),
    by growing it (``enlarge``) or shrinking it."""

    ratio: float = 0.0
    enlarge: bool = False

    def canonical(self) -> str:
        return f"{canonical_number(self.ratio)}:{int(self.enlarge)}"


@dataclass(frozen=True)
class BlurArea:
    """An area relative to the source size: 0-1 fractions of its width and height."""

    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class BlurAreas:
    sigma: float
    areas: tuple[BlurArea, ...]

    def canonical(self) -> str:
        areas = (":".join(canonical_number(v) for v in (a.left, a.top, a.width, a.height)) for a in self.areas)
        return ":".join([canonical_number(self.sigma), *areas])


@dataclass(frozen=True)
class ProgressiveBlur:
    """A blur growing from none at ``start`` to ``sigma`` at ``stop`` (fractions of the way
    along ``angle``: clockwise degrees, 0 = down, 90 = left, as ``gradient``'s)."""

    sigma: float
    angle: float = 0.0
    start: float = 0.0
    stop: float = 1.0

    def canonical(self) -> str:
        return ":".join(canonical_number(v) for v in (self.sigma, self.angle % 360, self.start, self.stop))
