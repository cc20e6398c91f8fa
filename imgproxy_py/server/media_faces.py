"""``GET /thumbnail/<hash>/faces.json``: the face traces of a media video, and
``GET /thumbnail/<hash>/faces/<trace>.jpg``: a trace's best face as a 320x320 JPEG.

Both are authorised like the other media routes and answer with ``IMGPROXY_MEDIA_TTL``.  The
traces of the last few videos are kept (keyed by file, size and modification time), so that the
face images a ``faces.json`` lists do not track the video again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from imgproxy_py.deadline import Deadline
from imgproxy_py.errors import BadRequestError, FeatureUnavailableError, ObjectNotFoundError, UnprocessableImageError
from imgproxy_py.imaging.sources import SpecialSources
from imgproxy_py.media.index import HASH_RE
from imgproxy_py.media.traces import FaceTrace, TracedFace, face_traces
from imgproxy_py.server.composition import Services
from imgproxy_py.server.media import media_cache_headers

_CACHED_VIDEOS = 4
FACE_QUALITY = 90


class TraceCache:
    """The traces of the last ``size`` videos, by (path, size, mtime)."""

    def __init__(self, size: int = _CACHED_VIDEOS) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int, int], list[FaceTrace]] = OrderedDict()
        self._lock = threading.Lock()

    def traces(self, path: Path, special: SpecialSources, deadline: Deadline) -> list[FaceTrace]:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        traces = _trace(special, path.read_bytes(), deadline)
        with self._lock:
            self._items[key] = traces
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return traces


def _trace(special: SpecialSources, data: bytes, deadline: Deadline) -> list[FaceTrace]:
    if not special.video.enabled:
        raise UnprocessableImageError("video sources are disabled (IMGPROXY_ENABLE_VIDEO_THUMBNAILS)")
    if special.face_detector is None:
        if special.detection_unavailable:
            raise FeatureUnavailableError(special.detection_unavailable)
        raise UnprocessableImageError("face traces need face detection")
    return face_traces(data, config=special.video, face_detector=special.face_detector,
                       deadline=time.monotonic() + max(0.0, deadline.remaining))


def face_json(face: TracedFace) -> dict[str, Any]:
    return {
        "frame": face.frame, "timestamp": round(face.timestamp, 3),
        "box": {"left": round(face.left), "top": round(face.top), "width": round(face.width),
                "height": round(face.height)},
        "confidence": round(face.confidence, 4), "quality": round(face.quality, 4), "blur": round(face.blur, 4),
    }


def trace_json(number: int, trace: FaceTrace, key: str) -> dict[str, Any]:
    return {
        "trace": number, "face_count": len(trace.faces),
        "first_frame": trace.first_frame, "last_frame": trace.last_frame,
        "first_timestamp": round(trace.faces[0].timestamp, 3), "last_timestamp": round(trace.faces[-1].timestamp, 3),
        "best_face": {**face_json(trace.best), "url": f"/thumbnail/{key}/faces/{number}.jpg"},
    }


def face_routes(services: Services) -> list[Route]:
    cache = TraceCache()

    async def traces_of(request: Request) -> tuple[str, list[FaceTrace]]:
        media = services.media
        if media is None:
            raise ObjectNotFoundError("media routes are off")
        key = request.path_params["key"]
        if not HASH_RE.fullmatch(key):
            raise BadRequestError("bad media hash")
        media.authorize(request.headers.get("authorization"), key)
        special = services.special_sources
        assert special is not None
        deadline = Deadline.after(services.config.server.timeout)
        traces = await services.workers.run(deadline, cache.traces, media.file(key), special, deadline)
        return key, traces

    async def faces_json(request: Request) -> Response:
        key, traces = await traces_of(request)
        body = {"traces": [trace_json(number, trace, key) for number, trace in enumerate(traces)]}
        return JSONResponse(body, headers=media_cache_headers(services.media.ttl if services.media else 0))

    async def face_jpeg(request: Request) -> Response:
        number_text = request.path_params["trace"]
        if not number_text.isdigit():
            raise BadRequestError("the trace must be a non-negative integer")
        _, traces = await traces_of(request)
        number = int(number_text)
        if number >= len(traces):
            raise ObjectNotFoundError(f"no face trace {number}", public_message=f"No face trace {number}")
        jpeg = traces[number].image.jpegsave_buffer(Q=FACE_QUALITY, strip=True)
        return Response(bytes(jpeg), media_type="image/jpeg",
                        headers=media_cache_headers(services.media.ttl if services.media else 0))

    return [
        Route("/thumbnail/{key}/faces.json", faces_json, methods=["GET", "HEAD"]),
        Route("/thumbnail/{key}/faces/{trace}.jpg", face_jpeg, methods=["GET", "HEAD"]),
    ]
