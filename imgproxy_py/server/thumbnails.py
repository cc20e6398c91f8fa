"""Video-app routes: ``/thumbnail/<hash>`` (one frame as JPEG) and
``/thumbnail/<hash>/best.json`` (the top frames with their scores).

``/thumbnail`` is the ``video_thumbnail`` preset plus the frame and crop from the query, so
it goes through the same engine as every image URL.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from imgproxy_py.errors import UnprocessableImageError
from imgproxy_py.imaging.context import Deadline
from imgproxy_py.imaging.sources import SpecialSources
from imgproxy_py.media.bestframe import best_frames
from imgproxy_py.media.index import HASH_RE
from imgproxy_py.server.routes import BadRequestError, Render, media_cache_headers, media_cached, thumbnail_options
from imgproxy_py.server.services import Services


def _key(request: Request) -> str:
    key = request.path_params["key"]
    if not HASH_RE.fullmatch(key):
        raise BadRequestError("bad media hash")
    return str(key)


async def handle_thumbnail(request: Request, services: Services, render: Render) -> Response:
    media = services.media
    if media is None:
        return Response("Not found", status_code=404)
    key = _key(request)
    media.authorize(request, {"hash": key})
    options = thumbnail_options(dict(request.query_params), "video_thumbnail" in services.options.presets)
    return media_cached(await render(request, media.request_for(key, options)), media.ttl)


def _best(special: SpecialSources, data: bytes, k: int, deadline: Deadline) -> list[Any]:
    if not special.video.enabled:
        raise UnprocessableImageError("video sources are disabled (IMGPROXY_ENABLE_VIDEO_THUMBNAILS)")
    return best_frames(data, config=special.video, face_detector=special.face_detector, top_k=k,
                       deadline=time.monotonic() + max(0.0, deadline.remaining))


async def handle_best_frames(request: Request, services: Services) -> Response:
    media = services.media
    special: SpecialSources | None = services.processor.services.get("special_sources")
    if media is None or special is None:
        return Response("Not found", status_code=404)
    key = _key(request)
    media.authorize(request, {"hash": key})
    k_text = request.query_params.get("k", "5")
    if not k_text.isdigit() or not 1 <= int(k_text) <= 50:
        raise BadRequestError("k must be an integer in 1-50")
    deadline = Deadline.after(services.config.server.timeout)
    data = media.file(key).read_bytes()
    frames = await services.workers.run(deadline, _best, special, data, int(k_text), deadline)
    body = [{
        "frame": f.index, "timestamp": round(f.timestamp, 3), "score": round(f.score, 4),
        "sharpness": round(f.sharpness, 4), "faces": round(f.faces, 4), "exposure": round(f.exposure, 4),
        "face_count": f.face_count, "url": f"/thumbnail/{key}?frame={f.index}",
    } for f in frames]
    return JSONResponse(body, headers=media_cache_headers(media.ttl))
