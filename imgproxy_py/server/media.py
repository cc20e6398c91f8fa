"""The media routes' HTTP side: ``/media/...`` (routes declared in ``presets/routes.conf``),
``/thumbnail/<hash>`` (one video frame as JPEG) and ``/thumbnail/<hash>/best.json`` (the top
frames with their scores).

Every image these routes answer with goes through :func:`server.processing.handle_image`, with
the route's preset as its options; what is special here is the bearer-token check and the
routes' own cache lifetime (``IMGPROXY_MEDIA_TTL``).  Route matching and the media index are in
``media.routes``.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from imgproxy_py.deadline import Deadline
from imgproxy_py.errors import BadRequestError, UnprocessableImageError
from imgproxy_py.imaging.sources import SpecialSources
from imgproxy_py.media.bestframe import FrameScore, best_frames
from imgproxy_py.media.index import HASH_RE
from imgproxy_py.media.routes import MediaRoutes, thumbnail_options
from imgproxy_py.server.composition import Services
from imgproxy_py.server.processing import handle_image


async def handle_media(request: Request, services: Services) -> Response | None:
    """Answer a media route, or None when no route matches ``request``'s path."""
    media = services.media
    found = media.find(request.url.path) if media is not None else None
    if media is None or found is None:
        return None
    route, params = found
    media.authorize(request.headers.get("authorization"), params["hash"])
    response = await handle_image(request, services, media.parsed_path(route, params))
    return media_cached(response, media.ttl)


def media_cache_headers(ttl: int, now: float | None = None) -> dict[str, str]:
    """``Cache-Control`` and an ``Expires`` that agrees with it (now + max-age)."""
    now = time.time() if now is None else now
    return {"Cache-Control": f"public, max-age={ttl}", "Expires": formatdate(now + ttl, usegmt=True)}


# A whole result, a part of one (Range), a revalidation: a 304 carries what the 200 would
# (RFC 9111, 4.3.4).  Errors and fallback images keep the engine's headers.
_MEDIA_CACHED = frozenset({200, 206, 304})


def media_cached(response: Response, ttl: int) -> Response:
    """``response`` with the media routes' lifetime (IMGPROXY_MEDIA_TTL) in place of the
    engine's (IMGPROXY_TTL): both headers, so that caches that read either agree."""
    if response.status_code in _MEDIA_CACHED:
        response.headers.update(media_cache_headers(ttl))
    return response


def _authorized_key(request: Request, media: MediaRoutes) -> str:
    key = request.path_params["key"]
    if not HASH_RE.fullmatch(key):
        raise BadRequestError("bad media hash")
    media.authorize(request.headers.get("authorization"), key)
    return str(key)


async def handle_thumbnail(request: Request, services: Services) -> Response:
    """``/thumbnail/<hash>``: the ``video_thumbnail`` preset plus the frame and crop from the
    query, through the same engine as every image URL."""
    media = services.media
    if media is None:
        return Response("Not found", status_code=404)
    key = _authorized_key(request, media)
    options = thumbnail_options(dict(request.query_params), "video_thumbnail" in services.options.presets)
    response = await handle_image(request, services, media.request_for(key, options))
    return media_cached(response, media.ttl)


def best_frames_job(special: SpecialSources, data: bytes, k: int, deadline: Deadline) -> list[Any]:
    if not special.video.enabled:
        raise UnprocessableImageError("video sources are disabled (IMGPROXY_ENABLE_VIDEO_THUMBNAILS)")
    return best_frames(data, config=special.video, face_detector=special.face_detector, top_k=k,
                       deadline=time.monotonic() + max(0.0, deadline.remaining), expressions=special.expressions)


def frame_json(frame: FrameScore, url: str) -> dict[str, Any]:
    """One ranked frame as ``best.json`` and ``POST /thumbnail/best`` report it."""
    return {
        "frame": frame.index, "timestamp": round(frame.timestamp, 3), "score": round(frame.score, 4),
        "sharpness": round(frame.sharpness, 4), "faces": round(frame.faces, 4),
        "expression": round(frame.expression, 4), "exposure": round(frame.exposure, 4),
        "face_count": frame.face_count, "dominant_expression": frame.dominant_expression,
        "expression_probability": round(frame.expression_probability, 4), "url": url,
    }


def parse_k(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 50:
        raise BadRequestError("k must be an integer in 1-50")
    return int(text)


async def handle_best_frames(request: Request, services: Services) -> Response:
    media = services.media
    special = services.special_sources
    if media is None:
        return Response("Not found", status_code=404)
    key = _authorized_key(request, media)
    k = parse_k(request.query_params.get("k", "5"))
    deadline = Deadline.after(services.config.server.timeout)
    data = media.file(key).read_bytes()
    frames = await services.workers.run(deadline, best_frames_job, special, data, k, deadline)
    body = [frame_json(f, f"/thumbnail/{key}?frame={f.index}") for f in frames]
    return JSONResponse(body, headers=media_cache_headers(media.ttl))
