"""The URL builder's methods for colour and tone options:
adjust, contrast, saturation, monochrome, duotone, colorize, gradient, background_alpha.

A mixin of :class:`imgproxy_py.url.options.Options`; each method returns a new object.
"""

from __future__ import annotations

from imgproxy_py.url.chain import OptionChain


class ColorMethods(OptionChain):
    """Colour and tone options of the URL builder."""
