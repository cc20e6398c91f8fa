"""The ``/info`` answer: each asked option's fields, read at the least cost that gives them.

Header options (size, format, dimensions, exif, iptc, xmp, colorspace, bands, sample_format,
pages_number, alpha without the transparency check) never touch a pixel; hashsums read the file;
the pixel options share one bounded decode (:class:`imgproxy_py.info.picture.Picture`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyvips

from imgproxy_py.detection import Detection
from imgproxy_py.detection.classify import Classifier
from imgproxy_py.detection.focus import GravityMode
from imgproxy_py.errors import UnprocessableImageError
from imgproxy_py.formats import SVG_CHECK_BYTES, ImageFormat
from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.objects import ObjectDetection
from imgproxy_py.imaging.smart_crop import SmartCropMode
from imgproxy_py.info import colors, hashes, metadata
from imgproxy_py.info.crop import crop_box
from imgproxy_py.info.picture import PIXELS_SIDE, Picture
from imgproxy_py.media.video import VideoConfig
from imgproxy_py.media.video_frame import extract_frame
from imgproxy_py.media.video_sniff import is_video
from imgproxy_py.options.info import declarations as opt
from imgproxy_py.options.info.model import InfoRequestOptions
from imgproxy_py.options.model import GravityType


@dataclass(frozen=True)
class InfoTools:
    """What the answer may use besides the source: limits, detection, classification, video."""

    limits: loader.Limits
    sanitize_svg: bool = True
    svg_check_bytes: int = SVG_CHECK_BYTES
    auto_rotate: bool = True
    objects: ObjectDetection | None = None
    class_weights: dict[str, float] | None = None
    gravity_mode: GravityMode = GravityMode.MAX_SCORE_AREA
    object_fallback: GravityType = GravityType.SMART
    smart_crop: SmartCropMode | None = None  # IMGPROXY_SMART_CROP_ADVANCED(_MODE); None: libvips' attention
    classifier: Classifier | None = None
    video: VideoConfig | None = None
    deadline: float | None = None  # time.monotonic() value, for video decoding
    # The shared pixels' bound: larger when the detector's input is (it must not see less detail).
    pixels_side: int = PIXELS_SIDE
    unlimited_formats: frozenset[ImageFormat] = frozenset()  # IMGPROXY_PNG|SVG|TIFF_UNLIMITED
    # Refuses a source that processing refuses before libvips sees it (camera RAW turned off),
    # so that /info never describes what the image URL would not serve.
    refuse_source: Callable[[bytes], None] | None = None


def describe(data: bytes, content_type: str, options: InfoRequestOptions, tools: InfoTools,
             identity: str) -> dict[str, Any]:
    info: dict[str, Any] = {}
    get = options.get
    video = is_video(data) and tools.video is not None
    if get(opt.SIZE):
        info["size"] = len(data)
    if video:
        picture, fmt_name, mime = _video(data, content_type, options, tools, info)
    else:
        picture, fmt_name, mime, pages = _image(data, options, tools)
        if get(opt.PAGES_NUMBER):
            info["pages_number"] = pages
    if get(opt.FORMAT):
        info.update(format=fmt_name, mime_type=mime)
    if get(opt.DIMENSIONS):
        info.update(width=picture.width, height=picture.height, orientation=picture.orientation)
    header = picture.header
    if not video:
        _metadata(data, header, options, info)
    if get(opt.COLORSPACE):
        info["colorspace"] = str(header.interpretation)
    if get(opt.BANDS):
        info["bands"] = int(header.bands)
    if get(opt.SAMPLE_FORMAT):
        info["sample_format"] = str(header.format)
    try:
        alpha, check_transparency = get(opt.ALPHA)
        if alpha:
            info["alpha"] = bool(header.hasalpha())
            if check_transparency:
                info["transparency"] = bool(header.hasalpha()) and bool((picture.rgba[..., 3] < 255).any())
        _pixels(picture, options, tools, identity, info)
    except pyvips.Error as exc:  # a file whose header reads but whose pixels don't: a 422, never a 500
        raise UnprocessableImageError(f"libvips: {exc}") from exc
    kinds = get(opt.CALC_HASHSUMS)
    if kinds and not video:  # a video's digest is skipped, as imgproxy does
        info["hashsums"] = hashes.hashsums(data, kinds)
    return info


def _image(data: bytes, options: InfoRequestOptions, tools: InfoTools) -> tuple[Picture, str, str, int]:
    if tools.refuse_source is not None:
        tools.refuse_source(data)
    fmt = loader.detect_format(data, tools.svg_check_bytes)
    if fmt.is_vector:
        data = loader.prepare_svg(data, tools.sanitize_svg)
    try:
        page = loader.source_page(data, fmt, options.get(opt.PAGE), unlimited=tools.unlimited_formats)
        header = loader.load(data, fmt, page=page, max_pixels=tools.limits.max_resolution,
                             unlimited=tools.unlimited_formats, lazy_vector=True)
        loader.check_dimensions(header, fmt, tools.limits)
        pages = header.get("n-pages") if "n-pages" in header.get_fields() else 1

        def reload(shrink: float) -> pyvips.Image:
            return loader.load(data, fmt, shrink=shrink, page=page, max_pixels=tools.limits.max_resolution,
                               whole=True, unlimited=tools.unlimited_formats)

        picture = Picture(header, reload, auto_rotate=tools.auto_rotate, side=tools.pixels_side,
                          header_has_pixels=not fmt.is_vector)
        return picture, fmt.value, fmt.mime, int(pages)
    except pyvips.Error as exc:
        raise UnprocessableImageError(f"libvips: {exc}") from exc


def _video(data: bytes, content_type: str, options: InfoRequestOptions, tools: InfoTools,
           info: dict[str, Any]) -> tuple[Picture, str, str]:
    from imgproxy_py.info.video import probe  # lazily: PyAV only for videos

    assert tools.video is not None
    names, meta, streams = probe(data)
    if options.get(opt.VIDEO_META):
        info.update(video_meta=meta, video_streams=streams)
    frame = extract_frame(data, second=options.get(opt.VIDEO_THUMBNAIL_SECOND),
                          keyframes=bool(options.get(opt.VIDEO_THUMBNAIL_KEYFRAMES)), config=tools.video,
                          deadline=tools.deadline)
    upright = frame.image
    picture = Picture(upright, lambda shrink: upright, auto_rotate=False, side=tools.pixels_side)
    mime = content_type if content_type.startswith("video/") else _video_mime(names)
    return picture, names, mime


def _video_mime(names: str) -> str:
    for name, mime in (("mp4", "video/mp4"), ("webm", "video/webm"), ("matroska", "video/x-matroska"),
                       ("avi", "video/x-msvideo")):
        if name in names.split(","):
            return mime
    return "application/octet-stream"


def _metadata(data: bytes, header: pyvips.Image, options: InfoRequestOptions, info: dict[str, Any]) -> None:
    exif_on, canonical = options.get(opt.EXIF)
    if exif_on:
        info["exif"] = metadata.exif(header, canonical)
    if options.get(opt.IPTC):
        info["iptc"] = metadata.iptc(data, header)
        resources = metadata.photoshop(header)
        if resources:
            info["photoshop"] = resources
    if options.get(opt.XMP):
        info["xmp"] = metadata.xmp(header)


def _pixels(picture: Picture, options: InfoRequestOptions, tools: InfoTools, identity: str,
            info: dict[str, Any]) -> None:
    get = options.get
    found: list[tuple[Detection, ...]] = []

    def detect() -> tuple[Detection, ...]:
        if not found:  # once per request, and shared with g:obj through the service's cache
            assert tools.objects is not None
            key = (identity, get(opt.PAGE), picture.angle, picture.flip)
            found.append(tools.objects.relative(picture.pixels.extract_band(0, n=3), key))
        return found[0]

    detector: Callable[[], tuple[Detection, ...]] | None = detect if tools.objects is not None else None
    if get(opt.DETECT_OBJECTS):
        info["objects"] = [_object(d) for d in (detect() if detector else ())]
    top_k, only = get(opt.CLASSIFY)
    if top_k and tools.classifier is not None:
        info["classes"] = [{"class_id": c.class_id, "name": c.name, "confidence": round(c.confidence, 6)}
                           for c in tools.classifier.classify(picture.pixels, top_k, only)]
    box = crop_box(picture, get(opt.CROP), get(opt.OBJECTS_POSITION_OPTION), detector, tools.class_weights or {},
                   tools.gravity_mode, tools.object_fallback, tools.smart_crop)
    if box is not None:
        info["crop"] = box
    if get(opt.PALETTE):
        info["palette"] = colors.palette(picture.small(colors.QUANTIZE_SIDE), get(opt.PALETTE))
    average, ignore_transparent = get(opt.AVERAGE)
    if average:
        info["average"] = colors.average(picture.rgba, ignore_transparent)
    dominant, build_missed = get(opt.DOMINANT_COLORS)
    if dominant:
        info["dominant_colors"] = colors.dominant_colors(picture.small(colors.QUANTIZE_SIDE), build_missed)
    x_components, y_components = get(opt.BLURHASH)
    if x_components and y_components:
        info["blurhash"] = hashes.blurhash(picture.small(hashes.BLURHASH_SIDE), x_components, y_components)
    if get(opt.THUMB_HASH):
        info["thumb_hash"] = hashes.thumb_hash(picture.small(hashes.THUMBHASH_SIDE))
    if get(opt.PERCEPTUAL_HASH):
        info["perceptual_hash"] = hashes.perceptual_hash(picture.rgba)


def _object(d: Detection) -> dict[str, Any]:
    return {"class_id": d.class_id, "class_name": d.class_name, "confidence": round(d.confidence, 6),
            "left": d.left, "top": d.top, "width": d.width, "height": d.height}
