"""The URL builder's methods for encoding options:
dpi, color_profile, jpeg_options, webp_options, avif_options, style.

A mixin of :class:`imgproxy_py.url.options.Options`; each method returns a new object.
"""

from __future__ import annotations

import urllib.parse
from typing import Self

from imgproxy_py.url.arguments import b64, choice, int_arg, non_negative, opt_bool
from imgproxy_py.url.chain import OptionChain

_WEBP_COMPRESSIONS = frozenset({"lossy", "near_lossless", "lossless"})
_WEBP_PRESETS = frozenset({"default", "photo", "picture", "drawing", "icon", "text"})
_AVIF_SUBSAMPLES = frozenset({"auto", "on", "off"})


class EncodingMethods(OptionChain):
    """Encoding options of the URL builder."""

    def dpi(self, dpi: float) -> Self:
        """``dpi:%dpi``: the result's resolution metadata; 0 keeps the image's.

        >>> str(EncodingMethods().dpi(300))
        'dpi:300'
        """
        if dpi > 65535:
            raise ValueError(f"dpi must be <= 65535, got {dpi!r}")
        return self._push("dpi", "dpi", non_negative(dpi, "dpi"))

    def color_profile(self, profile: str) -> Self:
        """``cp:%profile``: ``srgb``, ``cmyk`` or a file in the server's profiles folder
        (percent-encoded here).

        >>> str(EncodingMethods().color_profile("Display P3.icc"))
        'cp:Display%20P3.icc'
        """
        if not profile or "/" in profile or "\\" in profile or profile.strip(".") == "":
            raise ValueError(f"invalid color profile name {profile!r}")
        return self._push("cp", "color_profile", urllib.parse.quote(profile, safe=""))

    def jpeg_options(self, progressive: bool | None = None, no_subsample: bool | None = None,
                     trellis_quant: bool | None = None, overshoot_deringing: bool | None = None,
                     optimize_scans: bool | None = None, quant_table: int | None = None) -> Self:
        """``jpgo:%progressive:%no_subsample:%trellis_quant:%overshoot_deringing:%optimize_scans:%quant_table``;
        ``None`` keeps the server's setting.

        >>> str(EncodingMethods().jpeg_options(progressive=True, quant_table=3))
        'jpgo:1:::::3'
        """
        table = "" if quant_table is None else int_arg(quant_table, "quant table", 0, 8)
        return self._push("jpgo", "jpeg_options", opt_bool(progressive), opt_bool(no_subsample),
                          opt_bool(trellis_quant), opt_bool(overshoot_deringing), opt_bool(optimize_scans), table)

    def webp_options(self, compression: str | None = None, smart_subsample: bool | None = None,
                     preset: str | None = None) -> Self:
        """``webpo:%compression:%smart_subsample:%preset``; ``None`` keeps the server's setting.

        >>> str(EncodingMethods().webp_options("lossless"))
        'webpo:lossless'
        """
        method = "" if compression is None else choice(compression, _WEBP_COMPRESSIONS, "webp compression")
        hint = "" if preset is None else choice(preset, _WEBP_PRESETS, "webp preset")
        return self._push("webpo", "webp_options", method, opt_bool(smart_subsample), hint)

    def avif_options(self, subsample: str | None = None) -> Self:
        """``avifo:%subsample``: ``auto``, ``on`` or ``off``; ``None`` keeps the server's setting."""
        mode = "" if subsample is None else choice(subsample, _AVIF_SUBSAMPLES, "avif subsample")
        return self._push("avifo", "avif_options", mode)

    def style(self, css: str) -> Self:
        """``st:%base64_css``: CSS put into an SVG source before it is rendered.

        >>> str(EncodingMethods().style("rect { fill: blue }"))
        'st:cmVjdCB7IGZpbGw6IGJsdWUgfQ'
        """
        if not css:
            raise ValueError("style needs some CSS")
        return self._push("st", "style", b64(css))
