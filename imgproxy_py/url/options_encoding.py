"""The URL builder's methods for encoding options:
dpi, color_profile, jpeg_options, webp_options, avif_options, style.

A mixin of :class:`imgproxy_py.url.options.Options`; each method returns a new object.
"""

from __future__ import annotations

from imgproxy_py.url.chain import OptionChain


class EncodingMethods(OptionChain):
    """Encoding options of the URL builder."""
