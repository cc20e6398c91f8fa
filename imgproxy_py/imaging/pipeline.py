"""The processing pipeline: ordered steps over one :class:`Context`, then encoding.

imgproxy's step order.  Each step is a plain function; the deadline is checked between
steps.  Chained pipelines run the same steps again on the previous pipeline's pixels,
without encoding in between; the output format, quality and metadata come from the
request as a whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pyvips

from imgproxy_py.errors import UnprocessableImageError, UnsupportedFormatError
from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging import load as loader
from imgproxy_py.imaging.canvas import extend, extend_aspect_ratio, fix_size, flatten, padding
from imgproxy_py.imaging.colour import colorspace_to_processing, has_alpha
from imgproxy_py.imaging.context import Context, Deadline, ProcessingSettings, guard
from imgproxy_py.imaging.crop import crop, crop_to_result
from imgproxy_py.imaging.effects import apply_filters
from imgproxy_py.imaging.geometry import calc_params, frame_height
from imgproxy_py.imaging.metadata import strip_metadata
from imgproxy_py.imaging.objects import crop_objects, detect_objects, detection_effects
from imgproxy_py.imaging.orientation import rotate_and_flip
from imgproxy_py.imaging.resize import scale, scale_on_load, trim
from imgproxy_py.imaging.save import EncoderSettings, can_save, encode
from imgproxy_py.imaging.sources import SpecialSources
from imgproxy_py.imaging.watermark import watermark
from imgproxy_py.optimize import palette_bits_of
from imgproxy_py.options.model import OutputOptions, PipelineOptions, RequestOptions, TrimOptions

log = logging.getLogger("imgproxy_py.processing")

Step = Callable[[Context], None]

MAIN_STEPS: tuple[Step, ...] = (
    trim,
    crop_objects,
    scale_on_load,
    detect_objects,
    colorspace_to_processing,
    crop,
    scale,
    rotate_and_flip,
    crop_to_result,
    apply_filters,
    detection_effects,
    extend,
    extend_aspect_ratio,
    padding,
    fix_size,
    flatten,
    watermark,
)


@dataclass(frozen=True)
class ProcessResult:
    data: bytes
    format: ImageFormat
    width: int
    height: int
    source_width: int
    source_height: int
    quality: int = 0


# Called as encoder(img, fmt, quality, output options, deadline, source palette bits) ->
# (bytes, quality used): imaging.encoding adds autoquality, max_bytes and PNG palettes.
Encoder = Callable[[pyvips.Image, ImageFormat, int, OutputOptions, Deadline, int | None], tuple[bytes, int]]


@dataclass
class Processor:
    settings: ProcessingSettings
    encoder_settings: EncoderSettings
    limits: loader.Limits
    quality: int = 80
    format_quality: dict[ImageFormat, int] = field(default_factory=dict)
    preferred_formats: tuple[ImageFormat, ...] = (ImageFormat.JPEG, ImageFormat.PNG, ImageFormat.GIF)
    always_rasterize_svg: bool = False
    sanitize_svg: bool = True
    services: dict[str, Any] = field(default_factory=dict)
    steps: tuple[Step, ...] = MAIN_STEPS
    encoder: Encoder | None = None

    def __post_init__(self) -> None:
        # A source at the resolution limit must still come out, padded or extended.
        floor = 2 * self.limits.max_resolution
        if self.settings.max_result_resolution and floor > self.settings.max_result_resolution:
            self.settings = replace(self.settings, max_result_resolution=floor)

    # --- entry point ------------------------------------------------------------------
    def process(self, data: bytes, options: RequestOptions, deadline: Deadline,
                source_id: str = "") -> ProcessResult:
        try:
            return self._process(data, options, deadline, source_id)
        except (pyvips.Error, UnprocessableImageError) as exc:
            deadline.check()  # libvips was stopped by the deadline guard: a 503, not a 422
            if isinstance(exc, UnprocessableImageError):
                raise
            raise UnprocessableImageError(f"libvips: {exc}") from exc

    def _process(self, data: bytes, options: RequestOptions, deadline: Deadline, source_id: str) -> ProcessResult:
        out = options.output
        special: SpecialSources | None = self.services.get("special_sources")
        decoded = special.decode(data, out, deadline) if special is not None else None
        if decoded is not None:
            # Detections are cached per source; a video has one picture per frame choice.
            picked = f"|{out.video_frame}:{out.video_second}:{out.video_best}:{out.representative_face}"
            return self._process_decoded(decoded, options, deadline, source_id + picked if source_id else "")
        src_format = loader.detect_format(data)
        if src_format is ImageFormat.SVG:
            data = loader.prepare_svg(data, self.sanitize_svg)
            if self._svg_passthrough(out):
                return ProcessResult(data, ImageFormat.SVG, 0, 0, 0, 0)
        img = loader.load(data, src_format, page=out.page, max_pixels=self.limits.max_resolution,
                          access="sequential")
        palette_bits = palette_bits_of(img)
        pages = loader.page_count(img)
        if out.page and out.page >= pages and src_format not in (ImageFormat.BMP, ImageFormat.ICO):
            raise UnprocessableImageError(f"page {out.page} does not exist")
        loader.check_dimensions(img, src_format, self.limits)
        src_w, src_h = img.width, frame_height(img)

        if src_format in out.skip_processing and out.format in (None, src_format):
            return ProcessResult(data, src_format, src_w, src_h, src_w, src_h)

        animated = (self.limits.max_frames > 1 and pages > 1 and not out.disable_animation
                    and src_format in (ImageFormat.GIF, ImageFormat.WEBP))
        out_format = self.output_format(img, src_format, options, animated)
        animated = animated and out_format.supports_animation
        if animated:
            frames = min(pages - out.page, self.limits.max_frames)
            img = loader.load(data, src_format, page=out.page, pages=frames)
            loader.check_dimensions(img, src_format, self.limits, frames)

        for index, po in enumerate(options.pipelines):
            first = index == 0
            if animated:
                img = self._run_animated(img, po, out, out_format, deadline)
            else:
                img = self._run(img, po, out, out_format, deadline, data if first else None,
                                src_format if first else None, source_id if first else "")
            deadline.check()

        return self._encode(img, out, out_format, deadline, palette_bits, src_w, src_h)

    def _encode(self, img: pyvips.Image, out: OutputOptions, out_format: ImageFormat, deadline: Deadline,
                palette_bits: int | None, src_w: int, src_h: int) -> ProcessResult:
        if out.strip_metadata:
            img = strip_metadata(img, out.keep_copyright)
        if out_format is ImageFormat.AVIF and (img.width < 16 or frame_height(img) < 16):
            out_format = ImageFormat.PNG if has_alpha(img) else ImageFormat.JPEG
        quality = out.quality_for(out_format, self.quality, self.format_quality)
        img = guard(img, deadline)
        if self.encoder is not None:
            encoded, quality = self.encoder(img, out_format, quality, out, deadline, palette_bits)
        else:
            encoded = encode(img, out_format, quality, self.encoder_settings)
        deadline.check()
        return ProcessResult(encoded, out_format, img.width, frame_height(img), src_w, src_h, quality)

    def _process_decoded(self, img: pyvips.Image, options: RequestOptions, deadline: Deadline,
                         source_id: str) -> ProcessResult:
        """A picture decoded outside libvips (video frame, RAW): no source bytes to re-decode."""
        loader.check_dimensions(img, ImageFormat.PNG, self.limits)
        src_w, src_h = img.width, img.height
        out = options.output
        out_format = self.output_format(img, None, options, False)
        for index, po in enumerate(options.pipelines):
            img = self._run(img, po, out, out_format, deadline, None, None, source_id if index == 0 else "")
            deadline.check()
        return self._encode(img, out, out_format, deadline, None, src_w, src_h)

    # --- pipelines --------------------------------------------------------------------
    def _run(self, img: pyvips.Image, po: PipelineOptions, out: OutputOptions, out_format: ImageFormat,
             deadline: Deadline, data: bytes | None, fmt: ImageFormat | None, source_id: str = "") -> pyvips.Image:
        ctx = Context(img=img, po=po, out=out, out_format=out_format, settings=self.settings,
                      deadline=deadline, source_data=data, source_format=fmt, page=out.page,
                      services=self.services, source_id=source_id)
        calc_params(ctx, is_vector=bool(fmt and fmt.is_vector))
        for step in self.steps:
            deadline.check()
            step(ctx)
        return ctx.img

    def _run_animated(self, img: pyvips.Image, po: PipelineOptions, out: OutputOptions,
                      out_format: ImageFormat, deadline: Deadline) -> pyvips.Image:
        if po.trim.enabled:
            log.warning("trim is not supported for animated images; ignored")
            po = replace(po, trim=TrimOptions())
        height = frame_height(img)
        count = img.height // height
        delay = list(img.get("delay")) if img.get_typeof("delay") else []
        loop = int(img.get("loop")) if img.get_typeof("loop") else 0
        frames = []
        for i in range(count):
            frame = img.crop(0, i * height, img.width, height)
            frame = frame.copy()
            for name in ("page-height", "n-pages"):
                if frame.get_typeof(name):
                    frame.remove(name)
            frames.append(self._run(frame, po, out, out_format, deadline, None, None))
        joined = pyvips.Image.arrayjoin(frames, across=1).copy()
        delay = (delay + [40] * count)[:count] if delay else [40] * count
        joined.set_type(pyvips.GValue.gint_type, "page-height", frames[0].height)
        joined.set_type(pyvips.GValue.gint_type, "n-pages", count)
        joined.set_type(pyvips.GValue.array_int_type, "delay", delay)
        joined.set_type(pyvips.GValue.gint_type, "loop", loop)
        return joined

    # --- format -----------------------------------------------------------------------
    def _svg_passthrough(self, out: OutputOptions) -> bool:
        if out.format is ImageFormat.SVG:
            return True
        if out.format is None and not self.always_rasterize_svg:
            return True
        return out.format is None and ImageFormat.SVG in out.skip_processing

    def output_format(self, img: pyvips.Image, src: ImageFormat | None, options: RequestOptions,
                      animated: bool) -> ImageFormat:
        out = options.output
        pipes = options.pipelines
        flattens = any(p.background is not None for p in pipes)
        expect_alpha = not flattens and (has_alpha(img) or any(
            p.padding_enabled or p.extend.enabled or p.extend_aspect_ratio.enabled for p in pipes))
        fmt = out.format
        if fmt is ImageFormat.SVG:
            raise UnsupportedFormatError("a raster source can't be saved as SVG")
        if fmt is None:
            if out.prefer_avif and not animated and can_save(ImageFormat.AVIF):
                fmt = ImageFormat.AVIF
            elif out.prefer_webp:
                fmt = ImageFormat.WEBP
            elif src is not None and can_save(src) and (not animated or src.supports_animation):
                fmt = src
            else:
                fmt = self._preferred(animated, expect_alpha)
        elif out.enforce_avif and not animated and can_save(ImageFormat.AVIF):
            fmt = ImageFormat.AVIF
        elif out.enforce_webp:
            fmt = ImageFormat.WEBP
        if not can_save(fmt):
            raise UnsupportedFormatError(f"saving {fmt.value} is not supported")
        return fmt

    def _preferred(self, animated: bool, expect_alpha: bool) -> ImageFormat:
        for fmt in self.preferred_formats:
            if animated and not fmt.supports_animation:
                continue
            if expect_alpha and not fmt.supports_alpha:
                continue
            return fmt
        return self.preferred_formats[0]
