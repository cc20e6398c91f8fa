"""The URL builder's methods for colour and tone options:
adjust, contrast, saturation, monochrome, duotone, colorize, gradient, background_alpha.

A mixin of :class:`imgproxy_py.url.options.Options`; each method returns a new object.
"""

from __future__ import annotations

from typing import Self

from imgproxy_py.url.arguments import (
    Direction,
    direction_arg,
    hex_color,
    int_arg,
    non_negative,
    opt_bool,
    unit,
)
from imgproxy_py.url.chain import OptionChain

GradientDirection = Direction


def _opt_hex(value: str | None, what: str) -> str:
    return "" if value is None else hex_color(value, what)


def _opt_unit(value: float | None, what: str) -> str:
    return "" if value is None else unit(value, what)


class ColorMethods(OptionChain):
    """Colour and tone options of the URL builder."""

    def background_alpha(self, alpha: float) -> Self:
        """``bga:%alpha``: the opacity (0-1) of ``background``.

        >>> str(ColorMethods().background_alpha(0.5))
        'bga:0.5'
        """
        return self._push("bga", "background_alpha", unit(alpha, "background_alpha"))

    def adjust(self, brightness: int | None = None, contrast: float | None = None,
               saturation: float | None = None) -> Self:
        """``a:%brightness:%contrast:%saturation``; ``None`` leaves one as it is.

        >>> str(ColorMethods().adjust(10, saturation=1.5))
        'a:10::1.5'
        """
        return self._push("a", "adjust",
                          "" if brightness is None else int_arg(brightness, "brightness", minimum=-255, maximum=255),
                          "" if contrast is None else non_negative(contrast, "contrast"),
                          "" if saturation is None else non_negative(saturation, "saturation"))

    def contrast(self, contrast: float) -> Self:
        """``co:%contrast``: 1 leaves the contrast unchanged."""
        return self._push("co", "contrast", non_negative(contrast, "contrast"))

    def saturation(self, saturation: float) -> Self:
        """``sa:%saturation``: 1 leaves the saturation unchanged, 0 is greyscale."""
        return self._push("sa", "saturation", non_negative(saturation, "saturation"))

    def monochrome(self, intensity: float, color: str | None = None) -> Self:
        """``mc:%intensity:%color`` (a hex colour such as ``b3b3b3``)."""
        return self._push("mc", "monochrome", unit(intensity, "monochrome intensity"),
                          _opt_hex(color, "monochrome color"))

    def duotone(self, intensity: float, color1: str | None = None, color2: str | None = None) -> Self:
        """``dt:%intensity:%color1:%color2``: dark areas toward ``color1``, light ones toward ``color2``."""
        return self._push("dt", "duotone", unit(intensity, "duotone intensity"),
                          _opt_hex(color1, "duotone color1"), _opt_hex(color2, "duotone color2"))

    def colorize(self, opacity: float, color: str | None = None, keep_alpha: bool | None = None) -> Self:
        """``col:%opacity:%color:%keep_alpha``."""
        return self._push("col", "colorize", unit(opacity, "colorize opacity"),
                          _opt_hex(color, "colorize color"), opt_bool(keep_alpha))

    def gradient(self, opacity: float, color: str | None = None,
                 direction: GradientDirection | float | None = None,
                 start: float | None = None, stop: float | None = None) -> Self:
        """``gr:%opacity:%color:%direction:%start:%stop``; the direction is a word or clockwise
        degrees (0: downwards).

        >>> str(ColorMethods().gradient(0.8, "000", "up", stop=0.6))
        'gr:0.8:000:up::0.6'
        """
        return self._push("gr", "gradient", unit(opacity, "gradient opacity"), _opt_hex(color, "gradient color"),
                          direction_arg(direction, "gradient direction"), _opt_unit(start, "gradient start"),
                          _opt_unit(stop, "gradient stop"))
