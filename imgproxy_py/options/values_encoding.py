"""What the encoding options of a URL give: ``jpeg_options``, ``webp_options`` and
``avif_options`` as typed records, and the choices they (and the settings) take.

Imported by ``options.model``, so nothing here imports the rest of ``options``.

The records hold ``None`` where the URL left an argument empty or out: the server's settings
(``IMGPROXY_JPEG_*``, ``IMGPROXY_WEBP_*``, ``IMGPROXY_AVIF_*``) fill those in when encoding
(``imgproxy_py.imaging.codecs.settings``).  The same choices check those settings at start-up.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

WEBP_COMPRESSIONS = ("lossy", "near_lossless", "lossless")
# imgproxy's preset names are libvips' (ForeignWebpPreset).
WEBP_PRESETS = ("default", "photo", "picture", "drawing", "icon", "text")
AVIF_SUBSAMPLES = ("auto", "on", "off")
JPEG_QUANT_TABLES = range(0, 9)  # 0: JPEG Annex K ... 8: the 1993 improved detection model
BUILTIN_PROFILES = ("srgb", "cmyk")  # libvips' own profiles, as imgproxy documents them


@dataclass(frozen=True)
class JpegArgs:
    """What a ``jpeg_options`` option gave; ``None`` keeps the server's value."""

    progressive: bool | None = None
    no_subsample: bool | None = None
    trellis_quant: bool | None = None
    overshoot_deringing: bool | None = None
    optimize_scans: bool | None = None
    quant_table: int | None = None

    def canonical(self) -> str:
        return _canonical(self)


@dataclass(frozen=True)
class WebpArgs:
    """What a ``webp_options`` option gave; ``None`` keeps the server's value."""

    compression: str | None = None
    smart_subsample: bool | None = None
    preset: str | None = None

    def canonical(self) -> str:
        return _canonical(self)


@dataclass(frozen=True)
class AvifArgs:
    """What an ``avif_options`` option gave; ``None`` keeps the server's value."""

    subsample: str | None = None

    def canonical(self) -> str:
        return _canonical(self)


def given(args: JpegArgs | WebpArgs | AvifArgs) -> dict[str, object]:
    """The arguments a URL set, by field name."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(args) if getattr(args, f.name) is not None}


def _canonical(args: JpegArgs | WebpArgs | AvifArgs) -> str:
    values = (getattr(args, f.name) for f in dataclasses.fields(args))
    return ":".join("" if v is None else str(int(v)) if isinstance(v, bool) else str(v) for v in values)
