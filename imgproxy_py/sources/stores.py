"""The cloud stores' settings (one frozen config per store) and their backends.

A store that is off leaves its scheme unserved (404 naming the setting that turns it on, as
imgproxy says); a store that is on but whose client library is missing answers 501 naming
the ``cloud`` extra.  The libraries are imported only when a store is on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from imgproxy_py.envreader import EnvReader
from imgproxy_py.sources.abs import ABSBackend, ABSConfig
from imgproxy_py.sources.base import SourceBackend
from imgproxy_py.sources.buckets import MissingExtraBackend
from imgproxy_py.sources.config import FetchConfig
from imgproxy_py.sources.gcs import GCSBackend, GCSConfig
from imgproxy_py.sources.s3 import S3Backend, S3Config
from imgproxy_py.sources.swift import SwiftBackend, SwiftConfig

# The setting that turns each scheme on, for the message a URL of a store that is off gets
# (imgproxy's "unknown scheme: s3 (set IMGPROXY_USE_S3 to enable)").
ENABLING_SETTING = {scheme: "IMGPROXY_" + suffix for scheme, suffix in (
    ("s3", "USE_S3"), ("gs", "USE_GCS"), ("abs", "USE_ABS"), ("swift", "USE_SWIFT"),
    ("local", "LOCAL_FILESYSTEM_ROOT"))}


@dataclass(frozen=True)
class StoresConfig:
    s3: S3Config = field(default_factory=S3Config)
    gcs: GCSConfig = field(default_factory=GCSConfig)
    abs: ABSConfig = field(default_factory=ABSConfig)
    swift: SwiftConfig = field(default_factory=SwiftConfig)

    @staticmethod
    def from_env(r: EnvReader) -> StoresConfig:
        return StoresConfig(s3=S3Config.from_env(r), gcs=GCSConfig.from_env(r), abs=ABSConfig.from_env(r),
                            swift=SwiftConfig.from_env(r))


def _backend(scheme: str, build: Callable[[], SourceBackend]) -> SourceBackend:
    try:
        return build()
    except ImportError as exc:
        return MissingExtraBackend(scheme, ENABLING_SETTING[scheme], exc.name or str(exc))


def store_backends(stores: StoresConfig, fetch: FetchConfig) -> tuple[SourceBackend, ...]:
    backends: list[SourceBackend] = []
    if stores.s3.enabled:
        backends.append(_backend("s3", lambda: S3Backend(stores.s3, fetch)))
    if stores.gcs.enabled:
        backends.append(_backend("gs", lambda: GCSBackend(stores.gcs, fetch)))
    if stores.abs.enabled:
        backends.append(_backend("abs", lambda: ABSBackend(stores.abs, fetch)))
    if stores.swift.enabled:
        backends.append(_backend("swift", lambda: SwiftBackend(stores.swift, fetch)))
    return tuple(backends)
