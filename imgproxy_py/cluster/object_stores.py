"""The internal cache in object stores (``IMGPROXY_CACHE_USE`` = ``s3``, ``gcs``, ``abs``)."""

from __future__ import annotations

from imgproxy_py.cluster.config import CacheConfig
from imgproxy_py.cluster.stores import CacheStore


def object_store(config: CacheConfig, problems: list[str]) -> CacheStore | None:
    problems.append(f"IMGPROXY_CACHE_USE: {config.use} is not available yet; use fs")
    return None
