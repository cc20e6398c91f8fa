"""The values of imgproxy Pro's watermark options (``wmu``, ``wmt``, ``wms``, ``wmr``,
``wmsh``): which image the ``watermark`` option places, and how it is shaped first."""

from __future__ import annotations

import json
from dataclasses import astuple, dataclass

# The longest watermark text (Pango markup, once decoded) a URL may carry: markup is laid
# out and rendered per request, so its length bounds that work.
MAX_WATERMARK_TEXT = 1024


@dataclass(frozen=True)
class WatermarkStyle:
    """The custom watermark of one pipeline and how it is shaped.

    ``text`` wins over ``url``; with neither, the configured watermark is used.  ``width`` and
    ``height`` (0: from the other and the aspect ratio) apply when ``wm``'s scale is 0.
    """

    url: str = ""
    text: str = ""
    width: int = 0
    height: int = 0
    rotate: int = 0  # degrees, clockwise
    shadow: float = 0.0  # the blur sigma of the shadow; 0: none

    @property
    def custom(self) -> bool:
        return bool(self.text or self.url)

    def canonical(self) -> str:
        # JSON, not ":"-joined: a URL or a text may hold ":" and must not run into the next value.
        return json.dumps(astuple(self), separators=(",", ":"))
