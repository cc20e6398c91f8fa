"""The URL builder's methods for sharpness, blur areas and geometry options:
unsharp_masking, blur_areas, progressive_blur, resizing_algorithm, crop_aspect_ratio.

A mixin of :class:`imgproxy_py.url.options.Options`; each method returns a new object.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Self, get_args

from imgproxy_py.url.arguments import Direction, choice, direction_arg, non_negative, opt_bool, positive, unit
from imgproxy_py.url.chain import OptionChain

# The words the server's declarations accept (a test checks them against imgproxy_py.options).
ResizingAlgorithm = Literal["nearest", "linear", "cubic", "lanczos2", "lanczos3"]
UnsharpMaskingMode = Literal["auto", "none", "always"]
BlurDirection = Direction  # gradient's words

RESIZING_ALGORITHMS: frozenset[str] = frozenset(get_args(ResizingAlgorithm))
UNSHARP_MASKING_MODES: frozenset[str] = frozenset(get_args(UnsharpMaskingMode))


class SharpnessMethods(OptionChain):
    """Sharpness, blur areas and geometry options of the URL builder."""

    def resizing_algorithm(self, algorithm: ResizingAlgorithm) -> Self:
        """``ra:%algorithm``: the kernel that scales the image (default ``lanczos3``)."""
        return self._push("ra", "resizing_algorithm", choice(algorithm, RESIZING_ALGORITHMS, "resizing algorithm"))

    def crop_aspect_ratio(self, aspect_ratio: float, enlarge: bool | None = None) -> Self:
        """``car:%aspect_ratio:%enlarge``: correct the crop area to width/height (0: off).

        >>> str(SharpnessMethods().crop_aspect_ratio(1.5, True))
        'car:1.5:1'
        """
        return self._push("car", "crop_aspect_ratio", non_negative(aspect_ratio, "crop aspect ratio"),
                          opt_bool(enlarge))

    def unsharp_masking(self, mode: UnsharpMaskingMode | None = None, weight: float | None = None,
                        divider: float | None = None) -> Self:
        """``ush:%mode:%weight:%divider``; what is left out keeps the server's settings."""
        return self._push("ush", "unsharp_masking",
                          "" if mode is None else choice(mode, UNSHARP_MASKING_MODES, "unsharp masking mode"),
                          "" if weight is None else positive(weight, "unsharp masking weight"),
                          "" if divider is None else positive(divider, "unsharp masking divider"))

    def blur_areas(self, sigma: float, *areas: Sequence[float]) -> Self:
        """``ba:%sigma:%left1:%top1:%width1:%height1:...``: areas as 0-1 fractions of the source.

        >>> str(SharpnessMethods().blur_areas(5, (0.1, 0.2, 0.3, 0.4)))
        'ba:5:0.1:0.2:0.3:0.4'
        """
        args = [non_negative(sigma, "blur sigma")]
        for area in areas:
            if len(area) != 4:
                raise ValueError(f"a blur area is (left, top, width, height), got {tuple(area)!r}")
            args += [unit(v, "blur area fraction") for v in area]
        return self._push("ba", "blur_areas", *args)

    def progressive_blur(self, sigma: float, direction: BlurDirection | float | None = None,
                         start: float | None = None, stop: float | None = None) -> Self:
        """``pbl:%sigma:%direction:%start:%stop``: direction a word or clockwise degrees from down."""
        return self._push("pbl", "progressive_blur", non_negative(sigma, "blur sigma"),
                          direction_arg(direction, "progressive blur direction"),
                          "" if start is None else unit(start, "progressive blur start"),
                          "" if stop is None else unit(stop, "progressive blur stop"))
