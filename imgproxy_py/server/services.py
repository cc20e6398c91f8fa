"""Everything a request needs, built once from the config at start-up."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyvips

from imgproxy_py.config import Config
from imgproxy_py.errors import ConfigError
from imgproxy_py.imaging.context import ProcessingSettings
from imgproxy_py.imaging.load import Limits
from imgproxy_py.imaging.pipeline import Processor
from imgproxy_py.imaging.save import EncoderSettings
from imgproxy_py.imaging.watermark import WatermarkSource
from imgproxy_py.options.parser import OptionsParser
from imgproxy_py.server.workers import WorkerPool
from imgproxy_py.sources import SourceFetcher

log = logging.getLogger("imgproxy_py")


def configure_libvips() -> None:
    # Loaders that parse untrusted input badly (ImageMagick, PDF, ...) are off; the
    # operation cache is off because every request works on different pixels.
    pyvips.block_untrusted_set(True)
    # librsvg counts as untrusted in libvips, but SVG is a core input: sources are sanitized
    # first (imaging.svg) and rendered with librsvg's size limits on.
    pyvips.operation_block_set("VipsForeignLoadSvg", False)
    pyvips.cache_set_max(0)
    pyvips.cache_set_max_mem(0)
    pyvips.cache_set_max_files(0)


@dataclass
class Services:
    config: Config
    options: OptionsParser
    fetcher: SourceFetcher
    processor: Processor
    workers: WorkerPool
    extras: dict[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        await self.fetcher.close()
        self.workers.shutdown()


def build_services(config: Config) -> Services:
    """Build every subsystem; raise one ConfigError listing all problems."""
    configure_libvips()
    problems: list[str] = []
    options = OptionsParser(config, errors=problems)
    proc = config.processing
    sec = config.security
    processor = Processor(
        settings=ProcessingSettings(
            use_linear_colorspace=proc.use_linear_colorspace,
            disable_shrink_on_load=proc.disable_shrink_on_load,
            max_result_dimension=sec.max_result_dimension,
            watermark_opacity=proc.watermark_opacity,
        ),
        encoder_settings=EncoderSettings(proc.jpeg_progressive, proc.png_interlaced, proc.avif_speed),
        limits=Limits(sec.max_src_resolution, sec.max_animation_frames, sec.max_animation_frame_resolution),
        quality=proc.quality,
        format_quality=dict(proc.format_quality),
        preferred_formats=proc.preferred_formats,
        always_rasterize_svg=proc.always_rasterize_svg,
        sanitize_svg=proc.sanitize_svg,
    )
    watermark = _static_watermark(config, problems)
    if watermark is not None:
        processor.services["watermark"] = watermark
    if problems:
        raise ConfigError(problems)
    fetcher = SourceFetcher(config.fetch, config.security)
    workers = WorkerPool(config.server.workers, config.server.requests_queue_size)
    return Services(config, options, fetcher, processor, workers)


def _static_watermark(config: Config, problems: list[str]) -> WatermarkSource | None:
    proc = config.processing
    data: bytes | None = None
    if proc.watermark_data:
        try:
            data = base64.b64decode(proc.watermark_data, validate=False)
        except ValueError:
            problems.append("IMGPROXY_WATERMARK_DATA: not base64")
    elif proc.watermark_path:
        try:
            data = Path(proc.watermark_path).read_bytes()
        except OSError as exc:
            problems.append(f"IMGPROXY_WATERMARK_PATH: {exc.strerror}: {proc.watermark_path}")
    if data is None:
        return None
    try:
        return WatermarkSource(data)
    except Exception as exc:  # any decode failure is a config problem, reported with the rest
        problems.append(f"watermark image can't be decoded: {exc}")
        return None


async def load_url_watermark(services: Services) -> None:
    """IMGPROXY_WATERMARK_URL is fetched once at start-up, through the checked fetcher."""
    url = services.config.processing.watermark_url
    if not url or "watermark" in services.processor.services:
        return
    source = await services.fetcher.fetch(url)
    services.processor.services["watermark"] = WatermarkSource(source.data)
