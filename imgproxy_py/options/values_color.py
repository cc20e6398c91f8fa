"""The values of imgproxy Pro's colour and tone options (``monochrome``, ``duotone``,
``colorize``, ``gradient``), frozen, each with the canonical form cache keys are built from.

An effect that is off (intensity or opacity 0) is ``None`` in :class:`PipelineOptions`, so
that ``mc:0`` and no ``mc`` at all give the same cache key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from imgproxy_py.options.numbers import canonical_number

if TYPE_CHECKING:  # model.py imports this module; Color is only a type here
    from imgproxy_py.options.model import Color

# Gradient directions as clockwise angles: 0 is "down" (the top side transparent, the bottom
# side opaque), 90 "left" (the right side transparent), as imgproxy's docs define them.
GRADIENT_DIRECTIONS: dict[str, float] = {"down": 0.0, "left": 90.0, "up": 180.0, "right": 270.0}


@dataclass(frozen=True)
class Monochrome:
    """Greyscale on a palette from black through ``color`` (at its own lightness) to white."""

    intensity: float
    color: Color

    def canonical(self) -> str:
        return f"{canonical_number(self.intensity)}:{self.color.canonical()}"


@dataclass(frozen=True)
class Duotone:
    """Lightness mapped from ``dark`` (black) to ``light`` (white)."""

    intensity: float
    dark: Color
    light: Color

    def canonical(self) -> str:
        return f"{canonical_number(self.intensity)}:{self.dark.canonical()}:{self.light.canonical()}"


@dataclass(frozen=True)
class Colorize:
    """A plain colour layer of this opacity over the image."""

    opacity: float
    color: Color
    keep_alpha: bool = False

    def canonical(self) -> str:
        return f"{canonical_number(self.opacity)}:{self.color.canonical()}:{int(self.keep_alpha)}"


@dataclass(frozen=True)
class Gradient:
    """A layer going from transparent at ``start`` to ``color`` at ``opacity`` at ``stop``
    (relative positions along ``angle``, clockwise degrees, 0 = downwards)."""

    opacity: float
    color: Color
    angle: float = 0.0
    start: float = 0.0
    stop: float = 1.0

    def canonical(self) -> str:
        return ":".join([canonical_number(self.opacity), self.color.canonical(), canonical_number(self.angle),
                         canonical_number(self.start), canonical_number(self.stop)])
