"""``/info/%signature/%options/%source``: what the source is, and what is in it.

The same URL grammar, signature and source forms as image URLs, with info options, presets and
allowed options of its own (:mod:`imgproxy_py.options.info`).  The answer is built by
:mod:`imgproxy_py.info.describe` in a worker slot, one JSON field per asked option.
"""

from __future__ import annotations

import json
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response

from imgproxy_py.deadline import Deadline
from imgproxy_py.errors import FeatureUnavailableError, ForbiddenError
from imgproxy_py.imaging.codecs.load import Limits
from imgproxy_py.info.describe import InfoTools, describe
from imgproxy_py.info.hashes import check_hashsum
from imgproxy_py.info.picture import PIXELS_SIDE
from imgproxy_py.media.video_sniff import is_video
from imgproxy_py.options.info import declarations as opt
from imgproxy_py.options.info.model import InfoRequestOptions
from imgproxy_py.options.model import GravityType
from imgproxy_py.server.checks import check_secret, parse_and_verify, parse_off_the_loop_when_long, raw_path
from imgproxy_py.server.composition import Services
from imgproxy_py.server.delivery import CACHE_TAG_HEADERS
from imgproxy_py.server.disconnect import stopped_when_client_leaves
from imgproxy_py.sources.base import SourceImage
from imgproxy_py.sources.store import identify
from imgproxy_py.url.tokenizer import ParsedPath, URLGrammar

_OBJECT_GRAVITIES = (GravityType.OBJECTS, GravityType.OBJECTS_WEIGHTED)


def _require(options: InfoRequestOptions, services: Services) -> None:
    """What this installation lacks is a 501 naming it, never an answer without the field."""
    crop_gravity = options.get(opt.CROP).gravity
    wants_objects = options.get(opt.DETECT_OBJECTS) or (crop_gravity is not None
                                                        and crop_gravity.type in _OBJECT_GRAVITIES)
    if wants_objects and services.config.detection.unavailable:
        raise FeatureUnavailableError(services.config.detection.unavailable)
    if options.get(opt.CLASSIFY)[0] and services.classifier is None:
        raise FeatureUnavailableError("classify needs a classification model (IMGPROXY_CLASSIFICATION_NET)")


def _tools(services: Services, options: InfoRequestOptions, deadline: Deadline) -> InfoTools:
    processor = services.processor
    limits = processor.limits
    max_resolution = options.get(opt.MAX_SRC_RESOLUTION)
    if max_resolution is not None:
        pixels = int(max_resolution * 1_000_000)
        limits = Limits(pixels, limits.max_frames, limits.max_frame_resolution and pixels)
    detection = services.config.detection
    special = processor.deps.special_sources
    return InfoTools(
        limits=limits, sanitize_svg=processor.sanitize_svg, svg_check_bytes=processor.svg_check_bytes,
        auto_rotate=services.config.processing.auto_rotate,
        objects=processor.deps.objects, class_weights=dict(detection.class_weights),
        gravity_mode=detection.gravity_mode, object_fallback=processor.deps.object_fallback,
        smart_crop=processor.settings.smart_crop_advanced,
        classifier=services.classifier, video=services.config.video, deadline=deadline.expires_at,
        pixels_side=max(PIXELS_SIDE, detection.face_net_size, detection.object_net_size)
        if processor.deps.objects is not None else PIXELS_SIDE,
        unlimited_formats=processor.settings.unlimited_formats,
        refuse_source=special.refuse_raw_when_off if special is not None else None,
    )


async def _source(services: Services, url: str, options: InfoRequestOptions) -> SourceImage:
    max_size = options.get(opt.MAX_SRC_FILE_SIZE)
    if options.get(opt.BYPASS_CACHE):
        if not services.config.security.allow_bypass_cache:
            raise ForbiddenError("Bypassing the cache is not allowed",
                                 public_message="Bypassing the cache is not allowed (IMGPROXY_ALLOW_BYPASS_CACHE)")
        return await services.fetcher.fetch(url, max_size=max_size)
    if max_size is not None:  # a limit of this URL's own: fetched past the shared cache
        return await services.fetcher.fetch(url, max_size=max_size)
    return await services.sources.get(url)


def _headers(services: Services, options: InfoRequestOptions) -> dict[str, str]:
    headers = {"Cache-Control": f"max-age={services.config.server.ttl}, public"}
    given: tuple[str, ...] = options.get(opt.CACHE_TAGS)
    if given:  # the same headers as image URLs' cache_tags
        headers.update(dict.fromkeys(CACHE_TAG_HEADERS[services.config.delivery.cache_tags_format], ",".join(given)))
    return headers


async def handle_info(request: Request, services: Services) -> Response:
    deadline = Deadline.after(services.config.server.timeout)
    async with stopped_when_client_leaves(request.receive, deadline):
        return await _handle_info(request, services, deadline)


def _read_path(services: Services, path: str, grammar: URLGrammar) -> tuple[ParsedPath, InfoRequestOptions]:
    parsed = parse_and_verify(services, path, grammar)
    return parsed, services.options.info.parse(parsed.options)


async def _handle_info(request: Request, services: Services, deadline: Deadline) -> Response:
    config = services.config
    check_secret(request, config.server.secret)
    path = raw_path(request).removeprefix("/info")
    grammar = replace(config.url, only_presets=config.info.only_presets)
    parsed, options = await parse_off_the_loop_when_long(services.workers, deadline, path,
                                                         _read_path, services, path, grammar)
    _require(options, services)
    source = await _source(services, parsed.source.url, options)
    content_type = source.headers.get("content-type", "") if source.headers else ""
    body = await services.workers.run(deadline, _described, source.data, content_type, options,
                                      _tools(services, options, deadline), await identify(source))
    return Response(body, media_type="application/json", headers=_headers(services, options))


def _described(data: bytes, content_type: str, options: InfoRequestOptions, tools: InfoTools,
               source_id: str) -> bytes:
    """The answer's JSON, made in a worker: the digest is of the whole source, and a source's
    metadata can make megabytes of JSON (9 MB of XMP held the event loop for 50 ms)."""
    if not is_video(data):  # as imgproxy: a video's digest is not checked (nor calculated)
        check_hashsum(data, *options.get(opt.HASHSUM))
    info = describe(data, content_type, options, tools, source_id)
    return json.dumps(info, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
