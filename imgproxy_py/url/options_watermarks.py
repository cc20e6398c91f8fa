"""The URL builder's methods for watermarks options:
watermark_url, watermark_text, watermark_size, watermark_rotate, watermark_shadow.

A mixin of :class:`imgproxy_py.url.options.Options`; each method returns a new object.
"""

from __future__ import annotations

from imgproxy_py.url.chain import OptionChain


class WatermarkMethods(OptionChain):
    """Watermarks options of the URL builder."""
