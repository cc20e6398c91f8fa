"""``/info/%signature/%options/%source``: what the source is, and what is in it.

The same URL grammar and signature as image URLs, with info options of its own
(:mod:`imgproxy_py.options.info`).  Answers JSON with the source's width, height and format,
and with ``detect_objects:1`` its detections (relative coordinates, as imgproxy Pro does).
"""

from __future__ import annotations

from typing import Any

import pyvips
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from imgproxy_py.deadline import Deadline
from imgproxy_py.errors import FeatureUnavailableError, UnprocessableImageError
from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.geometry import angle_flip
from imgproxy_py.imaging.object_geometry import orient
from imgproxy_py.imaging.vips import page_height
from imgproxy_py.options.info.declarations import DETECT_OBJECTS
from imgproxy_py.server.checks import check_secret, parse_and_verify, raw_path
from imgproxy_py.server.composition import Services
from imgproxy_py.sources.store import source_identity


def describe(services: Services, data: bytes, detect: bool, identity: str) -> dict[str, Any]:
    fmt = loader.detect_format(data)
    info: dict[str, Any] = {"format": fmt.value}
    if fmt.is_vector:
        data = loader.prepare_svg(data, services.processor.sanitize_svg)
    try:
        img = loader.load(data, fmt, max_pixels=services.processor.limits.max_resolution, header_only=not detect)
        loader.check_dimensions(img, fmt, services.processor.limits)
        angle, flip = angle_flip(img, auto_rotate=True)
        width, height = img.width, page_height(img)
        if angle % 180:
            width, height = height, width
        info.update(width=width, height=height)
        if detect:
            info["detections"] = _detections(services, img, angle, flip, identity)
    except pyvips.Error as exc:
        raise UnprocessableImageError(f"libvips: {exc}") from exc
    return info


def _detections(services: Services, img: pyvips.Image, angle: int, flip: bool,
                identity: str) -> list[dict[str, Any]]:
    service = services.processor.deps.objects
    if service is None:
        return []
    if page_height(img) != img.height:
        img = img.crop(0, 0, img.width, page_height(img))
    upright = orient(img, angle, flip)
    found = service.relative(upright, (identity, 0, angle, flip))  # shares the per-source cache with g:obj
    return [{
        "class_id": d.class_id, "class_name": d.class_name, "confidence": round(d.confidence, 4),
        "left": round(d.left, 5), "top": round(d.top, 5), "width": round(d.width, 5), "height": round(d.height, 5),
    } for d in found]


async def handle_info(request: Request, services: Services) -> Response:
    config = services.config
    deadline = Deadline.after(config.server.timeout)
    check_secret(request, config.server.secret)
    path = raw_path(request, config.server.path_prefix).removeprefix("/info")
    parsed = parse_and_verify(services, path)
    options = services.options.info.parse(parsed.options)
    detect = options.get(DETECT_OBJECTS)
    if detect and config.detection.unavailable:
        raise FeatureUnavailableError(config.detection.unavailable)
    source = await services.sources.get(parsed.source.url)
    info = await services.workers.run(deadline, describe, services, source.data, detect,
                                      source_identity(source))
    return JSONResponse(info, headers={"Cache-Control": f"max-age={config.server.ttl}, public"})
