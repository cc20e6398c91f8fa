"""One request's processing as plain functions: decode, choose the output format, run the
chain of pipelines (``steps.MAIN_STEPS`` each), encode.

Chained pipelines run the same steps again on the previous pipeline's pixels, without encoding
in between; the output format, quality and metadata come from the request as a whole.  The
``Processor`` holds what is fixed at start-up: settings, limits and the dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pyvips

from imgproxy_py.deadline import Deadline
from imgproxy_py.errors import ResolutionTooBigError, ResultTooBigError, UnprocessableImageError
from imgproxy_py.formats import SVG_CHECK_BYTES, ImageFormat
from imgproxy_py.formats_config import BestFormatConfig
from imgproxy_py.imaging import best_format
from imgproxy_py.imaging.animation import for_each_frame
from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.codecs.save import EncoderSettings
from imgproxy_py.imaging.codecs.save import encode as save
from imgproxy_py.imaging.codecs.svg_style import inject_style
from imgproxy_py.imaging.context import Context, ProcessingSettings
from imgproxy_py.imaging.dependencies import PipelineDeps
from imgproxy_py.imaging.geometry import calc_params
from imgproxy_py.imaging.metadata import strip_metadata
from imgproxy_py.imaging.output_format import choose_format, fallback_for_small, svg_passthrough
from imgproxy_py.imaging.request_limits import request_limits
from imgproxy_py.imaging.result_metadata import apply_result_metadata
from imgproxy_py.imaging.steps import MAIN_STEPS, Step
from imgproxy_py.imaging.vips import guarded, has_alpha, materialized_every, page_count, page_height
from imgproxy_py.optimize import palette_bits_of
from imgproxy_py.options.model import OutputOptions, PipelineOptions, RequestOptions


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
# (bytes, quality used): codecs.encoding adds autoquality, max_bytes and PNG palettes.
Encoder = Callable[[pyvips.Image, ImageFormat, int, OutputOptions, Deadline, int | None], tuple[bytes, int]]


@dataclass(frozen=True)
class Processor:
    """Everything processing needs besides the request, fixed when the server starts."""

    # The settings' defaults are the config's (``server.composition`` builds the Processor).
    settings: ProcessingSettings
    encoder_settings: EncoderSettings
    limits: loader.Limits
    quality: int
    format_quality: Mapping[ImageFormat, int]
    preferred_formats: tuple[ImageFormat, ...]
    always_rasterize_svg: bool
    sanitize_svg: bool
    svg_check_bytes: int = SVG_CHECK_BYTES  # IMGPROXY_MAX_SVG_CHECK_BYTES
    best_format: BestFormatConfig = field(default_factory=BestFormatConfig)
    deps: PipelineDeps = field(default_factory=PipelineDeps)
    # None: the plain savers (``codecs.save``), without quality control.
    encoder: Encoder | None = None
    steps: tuple[Step, ...] = MAIN_STEPS


def process_image(p: Processor, data: bytes, options: RequestOptions, deadline: Deadline,
                  source_id: str = "") -> ProcessResult:
    """The result for ``data`` (the source's bytes); ``source_id`` names the source for the
    detection cache ("" when it has no stable identity)."""
    try:
        return _process(p, data, options, deadline, source_id)
    except (pyvips.Error, UnprocessableImageError) as exc:
        deadline.check()  # libvips was stopped by the deadline guard: a 503 (499), not a 422
        if isinstance(exc, UnprocessableImageError):
            raise
        raise UnprocessableImageError(f"libvips: {exc}") from exc
    except MemoryError as exc:  # numpy arrays of an image too big to hold: refused, not a 500
        raise ResultTooBigError(f"out of memory: {exc}") from exc


def _process(p: Processor, data: bytes, options: RequestOptions, deadline: Deadline,
             source_id: str) -> ProcessResult:
    out = options.output
    limits, settings = request_limits(p.limits, p.settings, out.security)
    if limits is not p.limits:
        p = replace(p, limits=limits, settings=settings)
    special = p.deps.special_sources
    decoded = special.decode(data, out, deadline, p.limits) if special is not None else None
    if decoded is not None:
        # Detections are cached per source; a video has one picture per frame choice.
        picked = (f"|{out.video_frame}:{out.video_second}:{out.video_best}:{out.representative_face}"
                  f":{out.video_tile}:{out.video_animation}")
        return _process_decoded(p, decoded, options, deadline, source_id + picked if source_id else "")
    src_format = loader.detect_format(data, p.svg_check_bytes)
    if src_format is ImageFormat.SVG:
        data = loader.prepare_svg(data, p.sanitize_svg)
        if out.style:
            data = inject_style(data, out.style)
        if svg_passthrough(out, p.always_rasterize_svg) and (not out.best_format or p.best_format.allow_skips):
            return ProcessResult(data, ImageFormat.SVG, 0, 0, 0, 0)
    page = loader.source_page(data, src_format, out.page, unlimited=p.settings.unlimited_formats)
    if page != out.page:  # a source with a single picture: the number is ignored
        out = replace(out, page=page)
        options = replace(options, output=out)
    img, pages = decode(p, data, src_format, out.page, thumbnail=out.enforce_thumbnail,
                        stacked=loader.stacked_pages(src_format, out.pages))
    palette_bits = palette_bits_of(img)
    src_w, src_h = img.width, page_height(img)

    if (src_format in out.skip_processing and out.format in (None, src_format)
            and (not out.best_format or p.best_format.allow_skips)):
        return ProcessResult(data, src_format, src_w, src_h, src_w, src_h)

    animated = (p.limits.max_frames > 1 and pages > 1 and not out.disable_animation
                and src_format.supports_animation)
    out_format = choose_format(img, src_format, options, animated, p.preferred_formats)
    animated = animated and out_format.supports_animation
    if animated:
        frames = min(pages - out.page, p.limits.max_frames)
        img = loader.load(data, src_format, page=out.page, pages=frames, unlimited=p.settings.unlimited_formats)
        loader.check_dimensions(img, src_format, p.limits, frames)
        img = run_chain(p, img, options, out_format, deadline, animated=True)
    elif out.pages > 1 and pages - out.page > 1 and src_format.spec.multi_page:
        img = stack_pages(p, data, src_format, out.page, min(out.pages, pages - out.page))
        img = run_chain(p, img, options, out_format, deadline, source_id=source_id)
    else:
        img = run_chain(p, img, options, out_format, deadline, data=data, fmt=src_format, source_id=source_id)
    return encode(p, img, out, out_format, deadline, palette_bits, src_w, src_h)


def stack_pages(p: Processor, data: bytes, fmt: ImageFormat, page: int, count: int) -> pyvips.Image:
    """``pages``: ``count`` pages from ``page`` as one still image, top to bottom (libvips
    stacks them so, left-aligned), checked as a whole against the source resolution limit."""
    img = loader.load(data, fmt, page=page, pages=count, unlimited=p.settings.unlimited_formats)
    if p.limits.max_resolution and img.width * img.height > p.limits.max_resolution:
        raise ResolutionTooBigError(f"{count} pages of {img.width}x{page_height(img)} exceed the limit")
    # One picture from here on: no step may treat it as frames.
    still = img.copy()
    still.remove("page-height")
    return still


def decode(p: Processor, data: bytes, fmt: ImageFormat, page: int, *,
           thumbnail: bool = False, stacked: int = 1) -> tuple[pyvips.Image, int]:
    """The source's first frame (or page ``page``, one ``loader.source_page`` gave), read lazily,
    and its page count; refused (422) past the resolution limits.  ``thumbnail``: a HEIF
    source's embedded thumbnail instead, when it has one (``enforce_thumbnail``)."""
    img = loader.load(data, fmt, page=page, max_pixels=p.limits.max_resolution, access="sequential",
                      thumbnail=thumbnail, pages=stacked, no_background=p.settings.pdf_no_background,
                      unlimited=p.settings.unlimited_formats, lazy_vector=True)
    pages = page_count(img)
    loader.check_dimensions(img, fmt, p.limits)
    return img, pages


def _process_decoded(p: Processor, img: pyvips.Image, options: RequestOptions, deadline: Deadline,
                     source_id: str) -> ProcessResult:
    """A picture decoded outside libvips (video frame, sprite or animation, RAW): no source
    bytes to re-decode."""
    frames = img.height // page_height(img)
    loader.check_dimensions(img, ImageFormat.PNG, p.limits, frames)
    src_w, src_h = img.width, page_height(img)
    out = options.output
    out_format = choose_format(img, None, options, frames > 1, p.preferred_formats)
    if frames > 1 and out_format.supports_animation:
        img = run_chain(p, img, options, out_format, deadline, animated=True)
    else:
        if frames > 1:  # an animation saved as a still image: its first frame, as for any source
            img = img.crop(0, 0, src_w, src_h)
        img = run_chain(p, img, options, out_format, deadline, source_id=source_id)
    return encode(p, img, out, out_format, deadline, None, src_w, src_h)


# Chained pipelines make one lazy image: 8,000 `fl:1:0/-/` (a 72 KB URL) overflowed a thread's
# stack and killed the whole process in 10 s.  No graph is deeper than this many pipelines' steps.
PIPELINES_PER_GRAPH = 8


def run_chain(p: Processor, img: pyvips.Image, options: RequestOptions, out_format: ImageFormat, deadline: Deadline,
              *, animated: bool = False, data: bytes | None = None, fmt: ImageFormat | None = None,
              source_id: str = "") -> pyvips.Image:
    """Every pipeline of the request in turn, on the previous one's pixels; the source's bytes
    and identity serve the first only.  An animation runs frame by frame."""
    out = options.output
    for index, po in enumerate(options.pipelines):
        first = index == 0
        if animated:
            img = for_each_frame(img, po, lambda frame, frame_po: run_steps(
                p, frame, frame_po, out, out_format, deadline))
        else:
            img = run_steps(p, img, po, out, out_format, deadline, data if first else None,
                            fmt if first else None, source_id if first else "")
        deadline.check()
        img = materialized_every(img, index + 1, len(options.pipelines), PIPELINES_PER_GRAPH, deadline)
    return img


def run_steps(p: Processor, img: pyvips.Image, po: PipelineOptions, out: OutputOptions, out_format: ImageFormat,
              deadline: Deadline, data: bytes | None = None, fmt: ImageFormat | None = None,
              source_id: str = "") -> pyvips.Image:
    """One pipeline: the context sized by ``calc_params``, then every step, the deadline checked
    between them.  ``data`` and ``fmt`` are the source's while ``img`` is a plain decode of it."""
    ctx = Context(img=img, po=po, out=out, out_format=out_format, settings=p.settings, deadline=deadline,
                  deps=p.deps, source_data=data, source_format=fmt, page=out.page, source_id=source_id)
    vector = bool(data is not None and fmt and fmt.is_vector)
    # A vector source may yet be rendered smaller (``vector_guard_scale``), which sizes and checks it.
    calc_params(ctx, is_vector=vector, check=not vector)
    for step in p.steps:
        deadline.check()
        step(ctx)
    return ctx.img


def encode(p: Processor, img: pyvips.Image, out: OutputOptions, out_format: ImageFormat, deadline: Deadline,
           palette_bits: int | None, src_w: int, src_h: int) -> ProcessResult:
    if out.strip_metadata:
        img = strip_metadata(img, out.keep_copyright, keep_colour_profile=not out.strip_color_profile)
    out_format = fallback_for_small(out_format, img, page_height(img))
    img = apply_result_metadata(img, out, out_format, p.encoder_settings)
    quality = out.quality_for(out_format, p.quality, dict(p.format_quality))
    with guarded(img, deadline) as img:
        encoded, out_format, quality = _encoded(p, img, out, out_format, quality, deadline, palette_bits)
    deadline.check()
    return ProcessResult(encoded, out_format, img.width, page_height(img), src_w, src_h, quality)


def _encoded(p: Processor, img: pyvips.Image, out: OutputOptions, out_format: ImageFormat, quality: int,
             deadline: Deadline, palette_bits: int | None) -> tuple[bytes, ImageFormat, int]:
    formats = best_format.candidates(out, p.preferred_formats, animated=page_count(img) > 1,
                                     alpha=has_alpha(img)) if out.best_format and out.format is None else ()
    if formats:
        def trial(image: pyvips.Image, fmt: ImageFormat, q: int, extra: dict[str, Any]) -> bytes:
            # Lossless trials take saver options of their own; the rest go through the encoder
            # every result goes through (PNG palettes, autoquality, max_bytes).
            if extra or p.encoder is None:
                return save(image, fmt, q, p.encoder_settings, extra)
            return p.encoder(image, fmt, q, out, deadline, palette_bits)[0]

        choice = best_format.pick(img, formats, p.best_format, trial,
                                  lambda fmt: out.quality_for(fmt, p.quality, dict(p.format_quality)), deadline.check)
        encoded, out_format, quality = choice.data, choice.format, choice.quality
    elif p.encoder is not None:
        encoded, quality = p.encoder(img, out_format, quality, out, deadline, palette_bits)
    else:
        encoded = save(img, out_format, quality, p.encoder_settings.for_request(out))
    return encoded, out_format, quality
