"""The encoders' settings: imgproxy's advanced JPEG, WebP and AVIF compression settings
(``IMGPROXY_JPEG_*``, ``IMGPROXY_WEBP_*``, ``IMGPROXY_AVIF_*``), where colour profiles live and the
resolution a stripped result gets.

Read once at start-up (``EncoderSettings.from_env``); a request's ``jpeg_options``,
``webp_options`` and ``avif_options`` are laid over them with :meth:`EncoderSettings.for_request`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from imgproxy_py.envreader import EnvReader
from imgproxy_py.formats import ImageFormat
from imgproxy_py.options.model import OutputOptions
from imgproxy_py.options.values_encoding import AVIF_SUBSAMPLES, WEBP_COMPRESSIONS, WEBP_PRESETS, given

DEFAULT_COLOR_PROFILES_DIR = "/usr/share/color/icc"


@dataclass(frozen=True)
class EncoderSettings:
    jpeg_progressive: bool = False
    png_interlaced: bool = False
    avif_speed: int = 8
    jpeg_no_subsample: bool = False
    jpeg_trellis_quant: bool = False
    jpeg_overshoot_deringing: bool = False
    jpeg_optimize_scans: bool = False
    jpeg_quant_table: int = 0
    webp_compression: str = "lossy"
    webp_smart_subsample: bool = False
    webp_effort: int = 4
    webp_preset: str = "default"
    avif_subsample: str = "auto"
    color_profiles_dir: str = DEFAULT_COLOR_PROFILES_DIR
    strip_metadata_dpi: float = 72.0
    jxl_effort: int = 4  # IMGPROXY_JXL_EFFORT, read with the other JPEG XL settings (formats_config)

    @staticmethod
    def from_env(r: EnvReader) -> EncoderSettings:
        return EncoderSettings(
            jpeg_progressive=r.boolean("IMGPROXY_JPEG_PROGRESSIVE", False),
            png_interlaced=r.boolean("IMGPROXY_PNG_INTERLACED", False),
            avif_speed=r.integer("IMGPROXY_AVIF_SPEED", 8, minimum=0, maximum=9),
            jpeg_no_subsample=r.boolean("IMGPROXY_JPEG_NO_SUBSAMPLE", False),
            jpeg_trellis_quant=r.boolean("IMGPROXY_JPEG_TRELLIS_QUANT", False),
            jpeg_overshoot_deringing=r.boolean("IMGPROXY_JPEG_OVERSHOOT_DERINGING", False),
            jpeg_optimize_scans=r.boolean("IMGPROXY_JPEG_OPTIMIZE_SCANS", False),
            jpeg_quant_table=r.integer("IMGPROXY_JPEG_QUANT_TABLE", 0, minimum=0, maximum=8),
            webp_compression=r.choice("IMGPROXY_WEBP_COMPRESSION", "lossy", WEBP_COMPRESSIONS),
            webp_smart_subsample=r.boolean("IMGPROXY_WEBP_SMART_SUBSAMPLE", False),
            webp_effort=r.integer("IMGPROXY_WEBP_EFFORT", 4, minimum=1, maximum=6),
            webp_preset=r.choice("IMGPROXY_WEBP_PRESET", "default", WEBP_PRESETS),
            avif_subsample=r.choice("IMGPROXY_AVIF_SUBSAMPLE", "auto", AVIF_SUBSAMPLES),
            color_profiles_dir=r.string("IMGPROXY_COLOR_PROFILES_DIR", DEFAULT_COLOR_PROFILES_DIR),
            strip_metadata_dpi=r.number("IMGPROXY_STRIP_METADATA_DPI", 72.0, minimum=0),
        )

    def for_request(self, out: OutputOptions) -> EncoderSettings:
        """These settings with what the request's jpgo/webpo/avifo set laid over them."""
        changes: dict[str, Any] = {}
        for prefix, args in (("jpeg", out.jpeg_options), ("webp", out.webp_options), ("avif", out.avif_options)):
            if args is not None:
                changes.update({f"{prefix}_{name}": value for name, value in given(args).items()})
        return replace(self, **changes) if changes else self

    def save_options(self, fmt: ImageFormat, quality: int) -> dict[str, Any]:
        """libvips saver arguments for ``fmt`` at ``quality``: what a format's record can't say."""
        if fmt is ImageFormat.JPEG:
            return {"Q": quality, "optimize_coding": True, "interlace": self.jpeg_progressive,
                    "subsample_mode": "off" if self.jpeg_no_subsample else "auto",
                    "trellis_quant": self.jpeg_trellis_quant,
                    "overshoot_deringing": self.jpeg_overshoot_deringing,
                    # libjpeg needs progressive scans to split (imgproxy: "requires progressive").
                    "optimize_scans": self.jpeg_optimize_scans and self.jpeg_progressive,
                    "quant_table": self.jpeg_quant_table}
        if fmt is ImageFormat.PNG:
            return {"compression": 6, "interlace": self.png_interlaced}
        if fmt is ImageFormat.WEBP:
            return {"Q": quality, "effort": self.webp_effort, "preset": self.webp_preset,
                    "smart_subsample": self.webp_smart_subsample,
                    # libvips' near-lossless is lossless with its preprocessing, at level Q.
                    "lossless": self.webp_compression != "lossy",
                    "near_lossless": self.webp_compression == "near_lossless"}
        if fmt is ImageFormat.AVIF:
            return {"Q": quality, "compression": "av1", "effort": max(0, 9 - self.avif_speed), "bitdepth": 8,
                    "subsample_mode": self.avif_subsample}
        if fmt is ImageFormat.HEIC:
            return {"Q": quality, "compression": "hevc", "bitdepth": 8}
        if fmt is ImageFormat.GIF:
            # Quantizing every frame at libvips' default effort (7) costs ~6x the time of effort 1
            # for ~5% smaller files: an on-the-fly server takes the fast end.
            return {"effort": 1, "reuse": True}
        if fmt is ImageFormat.TIFF:
            return {"compression": "deflate", "predictor": "horizontal"}
        return {}
