"""The internal cache's settings (imgproxy Pro's ``IMGPROXY_CACHE_*``), Redis (ours) and the
number of server processes per host (``IMGPROXY_PROCESSES``, ours)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from imgproxy_py.envreader import EnvReader
from imgproxy_py.sources.abs import ABSConfig
from imgproxy_py.sources.gcs import GCSConfig
from imgproxy_py.sources.s3 import S3Config
from imgproxy_py.sources.swift import SwiftConfig

CACHE_ADAPTERS = ("fs", "s3", "gcs", "abs", "swift")


@dataclass(frozen=True)
class CacheConfig:
    use: str = ""  # "": no internal cache
    bucket: str = ""
    path_prefix: str = ""
    fs_root: str = ""
    key_headers: tuple[str, ...] = ()
    key_cookies: tuple[str, ...] = ()
    report_errors: bool = False
    # The stores' endpoints and credentials (IMGPROXY_CACHE_S3_*, _GCS_*, _ABS_*, _SWIFT_*), in the records
    # the sources of the same stores use, so the cache's clients are built as theirs are.
    s3: S3Config = field(default_factory=lambda: S3Config(enabled=True))
    gcs: GCSConfig = field(default_factory=lambda: GCSConfig(enabled=True))
    abs: ABSConfig = field(default_factory=lambda: ABSConfig(enabled=True))
    swift: SwiftConfig = field(default_factory=lambda: SwiftConfig(enabled=True))
    # Ours: Redis as a hot tier for small results and the cluster-wide single flight.
    redis_url: str = ""
    redis_max_bytes: int = 1024 * 1024
    # How long a request waits for another node's rendering of the same key before it
    # renders itself (seconds; the request's own deadline bounds it too).
    redis_wait: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.use or self.redis_url)

    @staticmethod
    def from_env(r: EnvReader) -> CacheConfig:
        use = r.string("IMGPROXY_CACHE_USE").lower()
        if use and use not in CACHE_ADAPTERS:
            r.errors.append(f"IMGPROXY_CACHE_USE: {use!r} is not one of {', '.join(CACHE_ADAPTERS)}")
            use = ""
        config = CacheConfig(
            use=use,
            bucket=r.string("IMGPROXY_CACHE_BUCKET").strip("/"),
            path_prefix=r.string("IMGPROXY_CACHE_PATH_PREFIX").strip("/"),
            fs_root=r.string("IMGPROXY_CACHE_FS_ROOT"),
            # Header names are matched case-insensitively, as HTTP says.
            key_headers=tuple(h.lower() for h in r.string_list("IMGPROXY_CACHE_KEY_HEADERS")),
            key_cookies=r.string_list("IMGPROXY_CACHE_KEY_COOKIES"),
            report_errors=r.boolean("IMGPROXY_CACHE_REPORT_ERRORS", False),
            s3=S3Config(
                enabled=True,
                region=r.string("IMGPROXY_CACHE_S3_REGION", r.string("AWS_REGION")),
                endpoint=r.string("IMGPROXY_CACHE_S3_ENDPOINT"),
                endpoint_use_path_style=r.boolean("IMGPROXY_CACHE_S3_ENDPOINT_USE_PATH_STYLE", True),
                assume_role_arn=r.string("IMGPROXY_CACHE_S3_ASSUME_ROLE_ARN"),
                assume_role_external_id=r.string("IMGPROXY_CACHE_S3_ASSUME_ROLE_EXTERNAL_ID"),
                decryption=r.boolean("IMGPROXY_CACHE_S3_USE_DECRYPTION_CLIENT", False)),
            gcs=GCSConfig(enabled=True, key=r.string("IMGPROXY_CACHE_GCS_KEY"),
                          endpoint=r.string("IMGPROXY_CACHE_GCS_ENDPOINT")),
            abs=ABSConfig(enabled=True, name=r.string("IMGPROXY_CACHE_ABS_NAME"),
                          key=r.string("IMGPROXY_CACHE_ABS_KEY"), endpoint=r.string("IMGPROXY_CACHE_ABS_ENDPOINT")),
            swift=SwiftConfig.from_env(r, "IMGPROXY_CACHE_SWIFT_", enabled=use == "swift"),
            redis_url=r.string("IMGPROXY_CACHE_REDIS_URL"),
            redis_max_bytes=r.integer("IMGPROXY_CACHE_REDIS_MAX_BYTES", 1024 * 1024, minimum=0),
            redis_wait=r.number("IMGPROXY_CACHE_REDIS_WAIT", 10.0, minimum=0),
        )
        if use == "fs" and not config.fs_root:
            r.errors.append("IMGPROXY_CACHE_FS_ROOT: required when IMGPROXY_CACHE_USE is fs")
        if use in ("s3", "gcs", "abs", "swift") and not config.bucket:
            r.errors.append(f"IMGPROXY_CACHE_BUCKET: required when IMGPROXY_CACHE_USE is {use}")
        if use == "abs" and not config.abs.name:
            r.errors.append("IMGPROXY_CACHE_ABS_NAME: the storage account name is required with abs")
        return config


def usable_cpus(cgroup_cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The CPUs this server may use: its affinity mask, capped by a cgroup v2 CPU quota (a
    container's ``--cpus``, a Kubernetes CPU limit), which ``os.cpu_count()`` does not see."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    try:
        quota, period = cgroup_cpu_max.read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)


def read_processes(r: EnvReader) -> int:
    """``IMGPROXY_PROCESSES``: server processes sharing one port; default one per usable CPU.

    Measured on two cores at concurrency 8 (``benchmarks/processes.py --layouts 1x4,2x2
    --repeats 3``, ``--workload smart`` and ``fit``), with the connections balanced between the
    processes (``server.listen``): two processes of two workers made 1.24x the smart crops and
    1.19x the fits of one process of four, for 13-14% less CPU an image (medians): one process holds every
    worker's Python work (about 5 ms an image) under one GIL and keeps its cores 95% busy at
    most, two keep them 97-98% busy.  Each process costs its own memory (about 210 MiB peak with
    two workers on 12 MP sources)."""
    return r.integer("IMGPROXY_PROCESSES", usable_cpus(), minimum=1, maximum=256)
