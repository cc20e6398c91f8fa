"""The URL builder's methods for watermarks options:
watermark_url, watermark_text, watermark_size, watermark_rotate, watermark_shadow.

A mixin of :class:`imgproxy_py.url.options.Options`; each method returns a new object.
"""

from __future__ import annotations

from typing import Self

from imgproxy_py.url.arguments import b64, int_arg, non_negative
from imgproxy_py.url.chain import OptionChain


class WatermarkMethods(OptionChain):
    """Watermarks options of the URL builder."""

    def watermark_url(self, url: str) -> Self:
        """``wmu:%base64_url``: the image at this URL is the watermark ``watermark`` places.

        >>> str(WatermarkMethods().watermark_url("https://example.com/logo.png"))
        'wmu:aHR0cHM6Ly9leGFtcGxlLmNvbS9sb2dvLnBuZw'
        """
        return self._push("wmu", "watermark_url", b64(url))

    def watermark_text(self, text: str) -> Self:
        """``wmt:%base64_text``: this Pango markup, rendered, is the watermark.

        >>> str(WatermarkMethods().watermark_text("<b>imgproxy</b>"))
        'wmt:PGI-aW1ncHJveHk8L2I-'
        """
        return self._push("wmt", "watermark_text", b64(text))

    def watermark_size(self, width: int, height: int = 0) -> Self:
        """``wms:%width:%height``: fit the watermark in this box (0: from the aspect ratio)."""
        return self._push("wms", "watermark_size", int_arg(width, "watermark width"),
                          int_arg(height, "watermark height"))

    def watermark_rotate(self, angle: int) -> Self:
        """``wmr:%angle``: rotate the watermark clockwise by this many degrees."""
        return self._push("wmr", "watermark_rotate", int_arg(angle, "watermark angle", minimum=None))

    def watermark_shadow(self, sigma: float) -> Self:
        """``wmsh:%sigma``: a shadow under the watermark, blurred with this sigma."""
        return self._push("wmsh", "watermark_shadow", non_negative(sigma, "watermark shadow sigma"))
