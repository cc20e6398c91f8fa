"""Settings of the formats added beside libvips' own: JPEG XL negotiation and effort, the
``best`` format, HDR preservation, PDF backgrounds.  Read once at start-up (``config.read_config``)."""

from __future__ import annotations

from dataclasses import dataclass

from imgproxy_py.envreader import EnvReader


@dataclass(frozen=True)
class BestFormatConfig:
    """imgproxy Pro's ``best`` format (``IMGPROXY_BEST_FORMAT_*``)."""

    # Below this complexity (``imaging.best_format.complexity``) lossless encodings compete.
    complexity_threshold: float = 5.5
    # Megapixels; above it one format is picked by rule instead of by trying them all. 0: no limit.
    max_resolution: float = 0.0
    by_default: bool = False
    allow_skips: bool = False


@dataclass(frozen=True)
class FormatsConfig:
    auto_jxl: bool = False
    enforce_jxl: bool = False
    jxl_effort: int = 4
    preserve_hdr: bool = False
    pdf_no_background: bool = False
    best: BestFormatConfig = BestFormatConfig()

    @staticmethod
    def from_env(r: EnvReader) -> FormatsConfig:
        return FormatsConfig(
            auto_jxl=r.boolean("IMGPROXY_AUTO_JXL", False),
            enforce_jxl=r.boolean("IMGPROXY_ENFORCE_JXL", False),
            jxl_effort=r.integer("IMGPROXY_JXL_EFFORT", 4, minimum=1, maximum=9),
            preserve_hdr=r.boolean("IMGPROXY_PRESERVE_HDR", False),
            pdf_no_background=r.boolean("IMGPROXY_PDF_NO_BACKGROUND", False),
            best=BestFormatConfig(
                complexity_threshold=r.number("IMGPROXY_BEST_FORMAT_COMPLEXITY_THRESHOLD", 5.5, minimum=0),
                max_resolution=r.number("IMGPROXY_BEST_FORMAT_MAX_RESOLUTION", 0.0, minimum=0),
                by_default=r.boolean("IMGPROXY_BEST_FORMAT_BY_DEFAULT", False),
                allow_skips=r.boolean("IMGPROXY_BEST_FORMAT_ALLOW_SKIPS", False),
            ),
        )
