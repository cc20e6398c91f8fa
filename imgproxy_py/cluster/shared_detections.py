"""Per-source detections shared by every node through Redis (``IMGPROXY_CACHE_REDIS_URL``):
a face or object found once in the cluster is not inferred again on another node.

Called from the worker threads that run the pipeline, so the client is Redis' blocking one.
Like the result tier, it is an accelerator: failures are logged once and read as misses.
"""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

from imgproxy_py.detection import Detection

log = logging.getLogger("imgproxy_py.cache")
TTL = 7 * 24 * 3600  # detections of a source identity never change; this only bounds memory
RETRY_AFTER = 5.0
EPSILON = 1e-6


def encode(detections: tuple[Detection, ...]) -> bytes:
    return json.dumps([[d.class_id, d.class_name, d.confidence, d.left, d.top, d.width, d.height,
                        [list(p) for p in d.landmarks]] for d in detections]).encode()


def decode(blob: bytes) -> tuple[Detection, ...]:
    """Raises ``ValueError`` on what ``encode`` could not have written: a blob damaged in Redis
    or written by something else must not steer a crop (nor raise in the pipeline)."""
    rows = json.loads(blob)
    if not isinstance(rows, list):
        raise ValueError("shared detections are not a list")
    try:
        found = tuple(Detection(int(c), _text(n), _number(conf), _number(x), _number(y), _number(w), _number(h),
                                tuple((_number(px), _number(py)) for px, py in marks))
                      for c, n, conf, x, y, w, h, marks in rows)
    except (TypeError, OverflowError) as exc:  # ValueError (JSON's too) passes as it is
        raise ValueError(f"shared detections unreadable: {exc}") from exc
    for d in found:
        # Boxes are stored relative to the picture, clipped to it (ImageObjects.relative); EPSILON
        # for the rounding of the division.  A confidence is only finite: a custom model's scores
        # need not lie in 0..1.
        if d.class_id < 0 or d.width < 0 or d.height < 0 or not all(
                -EPSILON <= v <= 1 + EPSILON for v in (d.left, d.top, d.box.right, d.box.bottom)):
            raise ValueError(f"shared detection out of range: {d}")
    return found


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"shared detection value {value!r} is not a finite number")
    return float(value)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"shared detection class {value!r} is not a name")
    return value


class RedisDetections:
    def __init__(self, url: str, namespace: str = "imgproxy") -> None:
        import redis

        self._client: Any = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError, ValueError, TypeError)
        self.namespace = namespace
        self._down_until = 0.0
        self._warned = False

    def _failed(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + RETRY_AFTER
        if not self._warned:
            self._warned = True
            log.warning("Redis is unavailable for shared detections, detecting locally: %s", exc)

    def get(self, key: str) -> tuple[Detection, ...] | None:
        if time.monotonic() < self._down_until:
            return None
        try:
            blob = self._client.get(f"{self.namespace}:detections:{key}")
        except self._errors as exc:
            self._failed(exc)
            return None
        try:
            return None if blob is None else decode(blob)
        except ValueError as exc:  # Redis works; this one entry is detected again and replaced
            log.warning("shared detections %s unreadable, detecting again: %s", key, exc)
            return None

    def put(self, key: str, detections: tuple[Detection, ...]) -> None:
        if time.monotonic() < self._down_until:
            return
        try:
            self._client.set(f"{self.namespace}:detections:{key}", encode(detections), ex=TTL)
        except self._errors as exc:
            self._failed(exc)

    def close(self) -> None:
        try:
            self._client.close()
        except self._errors:
            pass
