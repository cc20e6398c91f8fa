"""The benchmark's workloads (w1-w7): each one's URL for imgproxy_py, thumbor and ipx, its
sources and its raw pyvips loop, and the 12 MP sources they go round."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyvips
from bench_sources import source_names, variant_names


# The raw loops save as imgproxy (and imgproxy_py) do: JPEG with optimized Huffman tables, PNG
# with libpng's adaptive filter (for 512x384: 38.7 instead of 21.7 ms, a 29% smaller file); the
# same output, so the ratio is the server's overhead and nothing else.
def _raw_fit_jpeg(data: bytes) -> bytes:
    return bytes(pyvips.Image.thumbnail_buffer(data, 512, height=512).jpegsave_buffer(Q=80, optimize_coding=True))


def _raw_smart(data: bytes) -> bytes:
    img = pyvips.Image.thumbnail_buffer(data, 300, height=200, crop="attention")
    return bytes(img.jpegsave_buffer(Q=80, optimize_coding=True))


def _raw_webp(data: bytes) -> bytes:
    return bytes(pyvips.Image.thumbnail_buffer(data, 800, height=600).webpsave_buffer(Q=79, effort=4))


def _raw_png(data: bytes) -> bytes:
    return bytes(pyvips.Image.thumbnail_buffer(data, 512, height=512).pngsave_buffer(compression=6, filter="all"))


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    # Path templates: {n} is replaced by a unique number per request (imgproxy_py's cache buster),
    # {src} by the next source's name (round-robin over the workload's sources).
    ours: str
    thumbor: str | None = None
    ipx: str | None = None
    thumbor_detectors: str = "feature"
    # "jpeg": the distinct JPEGs; "png": their PNG twins; "variants": more distinct JPEGs (by
    # bytes) than imgproxy_py's detection cache holds; "one": src000.jpg only (w6 revalidates one URL)
    source: str = "jpeg"
    raw: Callable[[bytes], bytes] | None = None
    raw_title: str = ""
    etag: bool = False  # send If-None-Match with the ETag of a first response; expect 304


WORKLOADS: tuple[Workload, ...] = (
    Workload("w1", "12 MP JPEG, fit 512x512, q80",
             "/unsafe/rs:fit:512:512/q:80/cb:{n}/plain/local:///{src}.jpg",
             "/unsafe/fit-in/512x512/filters:quality(80)/{src}.jpg", "/s_512x512,fit_inside,q_80/{src}.jpg",
             raw=_raw_fit_jpeg,
             raw_title="thumbnail_buffer(512, height=512) + jpegsave_buffer(Q=80, optimize_coding=True)"),
    Workload("w2", "fill 300x200, smart crop",
             "/unsafe/rs:fill:300:200/g:sm/q:80/cb:{n}/plain/local:///{src}.jpg",
             "/unsafe/300x200/smart/filters:quality(80)/{src}.jpg",
             "/s_300x200,fit_cover,position_attention,q_80/{src}.jpg", thumbor_detectors="feature",
             raw=_raw_smart, raw_title='thumbnail_buffer(300, height=200, crop="attention") + '
                                     'jpegsave_buffer(Q=80, optimize_coding=True)'),
    Workload("w3", "fill 300x200, face gravity",
             "/unsafe/rs:fill:300:200/g:obj:face/q:80/cb:{n}/plain/local:///{src}.jpg",
             "/unsafe/300x200/smart/filters:quality(80)/{src}.jpg", thumbor_detectors="face,feature",
             source="variants"),
    Workload("w4", "fit 800x600 to WebP",
             "/unsafe/rs:fit:800:600/cb:{n}/plain/local:///{src}.jpg@webp",
             "/unsafe/fit-in/800x600/filters:format(webp)/{src}.jpg", "/s_800x600,fit_inside,f_webp/{src}.jpg",
             raw=_raw_webp, raw_title="thumbnail_buffer(800, height=600) + webpsave_buffer(Q=79, effort=4)"),
    Workload("w5", "12 MP PNG to PNG, fit 512x512",
             "/unsafe/rs:fit:512:512/cb:{n}/plain/local:///{src}.png",
             "/unsafe/fit-in/512x512/{src}.png", "/s_512x512,fit_inside/{src}.png", source="png",
             raw=_raw_png, raw_title='thumbnail_buffer(512, height=512) + pngsave_buffer(compression=6, filter="all")'),
    Workload("w6", "revalidation: If-None-Match (w1's URL)",
             "/unsafe/rs:fit:512:512/q:80/plain/local:///{src}.jpg",
             "/unsafe/fit-in/512x512/filters:quality(80)/{src}.jpg", "/s_512x512,fit_inside,q_80/{src}.jpg",
             source="one", etag=True),
    Workload("w7", "aq:dssim JPEG, fit 512x512",
             "/unsafe/rs:fit:512:512/aq:dssim/cb:{n}/plain/local:///{src}.jpg"),
)
LATENCY_WORKLOADS = ("w1",)  # also measured at concurrency 1 (single-request latency)
CORES = os.cpu_count() or 1
# imgproxy's (and imgproxy_py's) default IMGPROXY_WORKERS: two per core, so that a core whose
# request waits (reading the source, answering) has another to work on.  thumbor and ipx run
# one process per core: a thumbor process works on one image at a time, an ipx (Node) process
# on up to four (libuv's thread pool) with one libvips thread each.
DEFAULT_WORKERS = 2 * CORES


@dataclass(frozen=True)
class Sources:
    """The source names of each kind (file stems in ``folder``) and the printf form wrk uses."""

    folder: Path
    count: int
    variants: int

    def names(self, kind: str) -> list[str]:
        if kind == "one":
            return source_names(1)
        return variant_names(self.variants) if kind == "variants" else source_names(self.count)

    def wrk_pattern(self, kind: str) -> tuple[str, int]:
        if kind == "one":
            return "src%03d", 1
        return ("var%04d", self.variants) if kind == "variants" else ("src%03d", self.count)


def first_path(template: str, sources: Sources, kind: str, n: str = "probe") -> str:
    return template.replace("{src}", sources.names(kind)[0]).replace("{n}", n)

