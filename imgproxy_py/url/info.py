"""``InfoOptions``: the options of an ``/info`` URL, a typed method per option."""

from __future__ import annotations

from imgproxy_py.url.arguments import fmt_bool, int_arg, opt_bool
from imgproxy_py.url.chain import OptionChain


class InfoOptions(OptionChain):
    """Options of the ``/info`` endpoint, immutable like :class:`Options`.

    >>> str(InfoOptions().detect_objects().dimensions(False))
    'do:1/d:0'
    """

    def size(self, enabled: bool = True) -> InfoOptions:
        """``s:%bool``: the source file size."""
        return self._push("s", "size", fmt_bool(enabled))

    def format(self, enabled: bool = True) -> InfoOptions:
        """``f:%bool``: the format and MIME type."""
        return self._push("f", "format", fmt_bool(enabled))

    def dimensions(self, enabled: bool = True) -> InfoOptions:
        """``d:%bool``: width, height and orientation."""
        return self._push("d", "dimensions", fmt_bool(enabled))

    def exif(self, enabled: bool = True) -> InfoOptions:
        """``exif:%bool``."""
        return self._push("exif", "exif", fmt_bool(enabled))

    def iptc(self, enabled: bool = True) -> InfoOptions:
        """``iptc:%bool``."""
        return self._push("iptc", "iptc", fmt_bool(enabled))

    def xmp(self, enabled: bool = True) -> InfoOptions:
        """``xmp:%bool``."""
        return self._push("xmp", "xmp", fmt_bool(enabled))

    def video_meta(self, enabled: bool = True) -> InfoOptions:
        """``vm:%bool``: video stream metadata."""
        return self._push("vm", "video_meta", fmt_bool(enabled))

    def detect_objects(self, enabled: bool = True) -> InfoOptions:
        """``do:%bool``: run object detection and return the boxes."""
        return self._push("do", "detect_objects", fmt_bool(enabled))

    def palette(self, colors: int) -> InfoOptions:
        """``p:%colors``: a palette of this many colours (0: none)."""
        return self._push("p", "palette", int_arg(colors, "palette colors"))

    def average(self, enabled: bool = True, ignore_transparent: bool | None = None) -> InfoOptions:
        """``avg:%bool:%ignore_transparent``: the average colour."""
        return self._push("avg", "average", fmt_bool(enabled), opt_bool(ignore_transparent))

    def dominant_colors(self, enabled: bool = True, build_missed: bool | None = None) -> InfoOptions:
        """``dc:%bool:%build_missed``."""
        return self._push("dc", "dominant_colors", fmt_bool(enabled), opt_bool(build_missed))

    def blurhash(self, x_components: int, y_components: int) -> InfoOptions:
        """``bh:%x_components:%y_components`` (0 disables)."""
        return self._push("bh", "blurhash", int_arg(x_components, "blurhash x components", 0, 9),
                          int_arg(y_components, "blurhash y components", 0, 9))
