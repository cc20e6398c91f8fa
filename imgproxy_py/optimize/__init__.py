"""Output optimisation: autoquality (dssim, size, ml), max_bytes, and PNG palette/quantisation."""

from __future__ import annotations

from imgproxy_py.optimize.autoquality import EncodeResult, encode_with_quality_control
from imgproxy_py.optimize.config import (
    AutoQualitySpec,
    OptimizeConfig,
    PngSpec,
    parse_autoquality_args,
    parse_png_options_args,
)
from imgproxy_py.optimize.dssim import luma_plane
from imgproxy_py.optimize.png import palette_bits_of, png_save_options

__all__ = [
    "AutoQualitySpec",
    "EncodeResult",
    "OptimizeConfig",
    "PngSpec",
    "encode_with_quality_control",
    "luma_plane",
    "palette_bits_of",
    "parse_autoquality_args",
    "parse_png_options_args",
    "png_save_options",
]
