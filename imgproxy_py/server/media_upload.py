"""``POST /thumbnail/best``: the best frames of an uploaded video, and
``GET /thumbnail/uploads/<id>.jpg``: their thumbnails, kept for ``IMGPROXY_MEDIA_TTL``.

The upload is authorised like the media routes (an unscoped bearer token), read into memory as it
streams in (``media.upload``), ranked like ``best.json`` and forgotten; only the chosen frames'
JPEG thumbnails stay, in a bounded store, under ids too long to guess.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pyvips
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from imgproxy_py.deadline import Deadline
from imgproxy_py.errors import DeadlineExceededError, UnprocessableImageError
from imgproxy_py.imaging.sources import SpecialSources
from imgproxy_py.media.bestframe import FrameScore
from imgproxy_py.media.upload import FrameStore, read_upload
from imgproxy_py.server.composition import Services
from imgproxy_py.server.media import best_frames_job, frame_json, media_cache_headers, parse_k

# Thumbnails fit in this square; JPEG at this quality.
THUMBNAIL_SIDE = 640
THUMBNAIL_QUALITY = 85
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _rank_and_encode(special: SpecialSources, data: bytes, k: int,
                     deadline: Deadline) -> list[tuple[FrameScore, bytes]]:
    frames = best_frames_job(special, data, k, deadline)
    if not frames:
        raise UnprocessableImageError("no frame could be decoded", public_message="No frame could be decoded")
    encoded = []
    for frame in frames:
        image: pyvips.Image = frame.image
        scale = min(1.0, THUMBNAIL_SIDE / max(image.width, image.height))
        if scale < 1.0:
            image = image.resize(scale)
        encoded.append((frame, bytes(image.jpegsave_buffer(Q=THUMBNAIL_QUALITY, strip=True))))
    return encoded


def upload_routes(services: Services) -> list[Route]:
    """The two routes, sharing one thumbnail store."""
    media = services.media
    store = FrameStore(ttl=media.ttl if media is not None else 0)

    async def upload(request: Request) -> Response:
        if media is None:
            return Response("Not found", status_code=404)
        media.authorize(request.headers.get("authorization"), "")
        k = parse_k(request.query_params.get("k", "5"))
        special = services.special_sources
        assert special is not None
        deadline = Deadline.after(services.config.server.timeout)
        try:
            async with asyncio.timeout(max(0.0, deadline.remaining)):
                received = await read_upload(request.headers.get("content-type"),
                                             request.headers.get("content-length"), request.stream(),
                                             special.video.max_file_size)
        except TimeoutError:
            raise DeadlineExceededError("the upload did not arrive in time") from None
        except ClientDisconnect:
            return Response(status_code=499)  # nobody is listening; the bytes are dropped with `received`
        ranked = await services.workers.run(deadline, _rank_and_encode, special, received.data, k, deadline)
        body: list[dict[str, Any]] = []
        for frame, jpeg in ranked:
            body.append(frame_json(frame, f"/thumbnail/uploads/{store.put(jpeg)}.jpg"))
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def thumbnail(request: Request) -> Response:
        key = request.path_params["id"]
        found = store.get(key) if set(key) <= _ID_CHARS else None
        if media is None or found is None:
            return Response("Not found", status_code=404, headers={"Cache-Control": "no-cache"})
        jpeg, left = found
        headers = media_cache_headers(max(0, int(left)), time.time())
        return Response(jpeg, media_type="image/jpeg", headers=headers)

    return [
        Route("/thumbnail/best", upload, methods=["POST"]),
        Route("/thumbnail/uploads/{id}.jpg", thumbnail, methods=["GET", "HEAD"]),
    ]
