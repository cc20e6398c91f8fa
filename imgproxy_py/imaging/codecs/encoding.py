"""Encoding with quality control: autoquality, max_bytes and PNG palettes, and the request's
saver options.

Wraps ``codecs.save.encode`` (which applies our savers' settings) with the
output-optimization subsystem (``imgproxy_py.optimize``).
"""

from __future__ import annotations

import pyvips

from imgproxy_py.deadline import Deadline
from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.codecs.load import wheel_decoder
from imgproxy_py.imaging.codecs.save import EncoderSettings, encode
from imgproxy_py.imaging.vips import memory_copy
from imgproxy_py.optimize import OptimizeConfig, encode_with_quality_control, png_save_options
from imgproxy_py.optimize.png import counts_colours
from imgproxy_py.options.model import OutputOptions


class QualityControlledEncoder:
    def __init__(self, config: OptimizeConfig, settings: EncoderSettings) -> None:
        self.config = config
        self.settings = settings
        self.encodes = 0  # saver calls, for tests and benchmarks

    def __call__(self, img: pyvips.Image, fmt: ImageFormat, quality: int, out: OutputOptions,
                 deadline: Deadline, source_palette_bits: int | None) -> tuple[bytes, int]:
        extra: dict[str, object] = {}
        if fmt is ImageFormat.PNG:
            spec = self.config.png
            if out.png_options is not None:  # parsed with the URL; laid over the settings here
                spec = spec.with_args(out.png_options)
            if counts_colours(spec, img, source_palette_bits):
                img = memory_copy(img)  # counted for the palette, then saved; else saved as it streams
            extra = png_save_options(img, spec, source_palette_bits=source_palette_bits,
                                     check_deadline=deadline.check)
        autoquality = self.config.autoquality_defaults(fmt.value)
        if out.autoquality is not None:  # parsed with the URL; the format's defaults are known now
            autoquality = autoquality.with_args(out.autoquality)

        settings = self.settings.for_request(out)  # jpgo/webpo/avifo over IMGPROXY_JPEG/WEBP/AVIF_*

        def save(image: pyvips.Image, q: int) -> bytes:
            self.encodes += 1
            return encode(image, fmt, q, settings, extra)

        result = encode_with_quality_control(
            img, fmt.value, save, quality=quality, autoquality=autoquality, max_bytes=out.max_bytes,
            max_resolution=self.config.autoquality_max_resolution, check_deadline=deadline.check,
            ml_model_path=self.config.ml_model_path, decode=wheel_decoder(fmt))
        return result.data, result.quality
