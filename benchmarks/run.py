"""Benchmark harness (``make bench``): imgproxy_py against thumbor, ipx and raw pyvips.

The servers run on loopback and serve the same files from one local folder
(``benchmarks/work/sources``: ``--sources`` distinct 12 MP JPEGs and their PNG twins, plus
byte-distinct variants for face gravity, built on first use by ``bench_sources.py``), taken
round-robin.  imgproxy_py runs with its defaults (``IMGPROXY_PROCESSES``: one process per CPU)
and ``IMGPROXY_WORKERS=--workers`` for the whole server; thumbor (the PyPI package, installed
into ``benchmarks/.venv-thumbor`` when missing) and ipx (sharp, from npm, into
``benchmarks/.ipx``) run ``--processes`` processes.  thumbor uses its file loader and no storage
nor result storage (``benchmarks/thumbor/thumbor.conf``), so every request is processed.

Each workload runs for a fixed time at a fixed concurrency, after a warm-up, with ``wrk``
(installed with apt-get when missing and possible; otherwise a Python load generator is used,
and the results say so); each repeat starts with the next contender, so the machine's drift
does not always favour the same one.  imgproxy_py's URLs carry a unique ``cb:`` (cache buster)
per request: the server shares one computation between concurrent identical requests, which a
throughput benchmark must not count.  The in-process baseline is ``pyvips.Image.thumbnail_buffer``
plus the encoder saving as imgproxy does, run by ``--workers`` threads in a tight loop.

Outputs ``benchmarks/results/<name>.json``, ``<name>.md`` (a Markdown table) and ``<name>.png``
(a chart, drawn with matplotlib from thumbor's virtualenv).

Run: ``.venv/bin/python benchmarks/run.py [--quick] [--repeats 3] [--only w1,w2] [--imgproxy-env NAME=VALUE]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import itertools
import json
import os
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyvips

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import BENCH_DIR, RESULTS_DIR, WORK_DIR, machine_info, rel
from bench_ipx import ensure_ipx, ipx_command_line, ipx_versions, start_ipx
from bench_load import in_process_loop, median, python_load
from bench_servers import Server, free_port, imgproxy_command_line, start_imgproxy, wait_http
from bench_sources import (
    detection_cache_entries,
    ensure_byte_variants,
    ensure_sources,
    source_names,
    variant_names,
)

THUMBOR_VENV = BENCH_DIR / ".venv-thumbor"
THUMBOR_CONF = BENCH_DIR / "thumbor" / "thumbor.conf"
THUMBOR_SPEC = "thumbor[opencv]==7.8.0"
CHART_SPEC = "matplotlib>=3.8"
WRK_SCRIPT = BENCH_DIR / "wrk_report.lua"
# issue 17: the best peer's req/s on w1 and w4, 1.6x on smart crop, face gravity and PNG, 95% of raw pyvips.
TARGETS = {"vs_best_peer": 1.0, "vs_best_peer_hard": 1.6, "vs_raw": 0.95, "p99_over_p50": 2.0,
           "peak_rss_mb": 350.0, "etag_speedup": 20.0}


# --- workloads ----------------------------------------------------------------------------

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


# --- set-up: wrk, thumbor ---------------------------------------------------------------

def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ensure_wrk() -> str | None:
    """The wrk binary, installed with apt-get when missing and this user may; else None."""
    found = shutil.which("wrk")
    if found:
        return found
    if not shutil.which("apt-get"):
        return None
    prefix = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if prefix is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*prefix, "apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=180", "wrk"]
    log("wrk is missing: installing it with apt-get ...")
    for cmd in (install, [*prefix, "apt-get", "update", "-q"], install):
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if shutil.which("wrk"):
            return shutil.which("wrk")
    return None


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_thumbor_venv() -> tuple[Path | None, list[str]]:
    """benchmarks/.venv-thumbor with thumbor (+ OpenCV) and matplotlib; notes on what failed."""
    notes: list[str] = []
    py = venv_python(THUMBOR_VENV)
    if not (THUMBOR_VENV / ".bench-ok").exists():
        log(f"creating {rel(THUMBOR_VENV)} ({THUMBOR_SPEC}, {CHART_SPEC}) ...")
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(THUMBOR_VENV)], check=True)
        pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        ok = subprocess.run([*pip, THUMBOR_SPEC], check=False).returncode == 0
        if not ok:
            notes.append(f"installing {THUMBOR_SPEC} failed; tried plain thumbor (no OpenCV)")
            ok = subprocess.run([*pip, THUMBOR_SPEC.split("[")[0]], check=False).returncode == 0
        if not ok:
            notes.append("thumbor could not be installed: thumbor columns are empty")
            return None, notes
        if subprocess.run([*pip, CHART_SPEC], check=False).returncode != 0:
            notes.append("matplotlib could not be installed: no chart")
        (THUMBOR_VENV / ".bench-ok").write_text("ok\n")
    return py, notes


def venv_has(py: Path, module: str) -> bool:
    return subprocess.run([str(py), "-c", f"import {module}"], capture_output=True, check=False).returncode == 0


def thumbor_version(py: Path) -> str:
    out = subprocess.run([str(py), "-c", "import importlib.metadata as m; print(m.version('thumbor'))"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or "?"


def start_thumbor(py: Path, root: Path, processes: int, detectors: str, mode: str = "reuseport") -> Server:
    """thumbor on one loopback port, as ``processes`` single-process instances or one ``--processes N``.

    ``reuseport``: N instances, each handed its own listening socket bound to the same port with
    SO_REUSEPORT, so that the kernel spreads connections over them.  ``processes``: thumbor's own
    ``--processes N``, where the forks share one socket and the first to wake up may accept every
    connection of a short burst (with keep-alive, one process then does all the work).
    """
    port = free_port()
    log_path = WORK_DIR / f"thumbor-{detectors.replace(',', '+')}.log"
    env = {**os.environ, "THUMBOR_BENCH_ROOT": str(root), "THUMBOR_BENCH_DETECTORS": detectors}
    base = [str(py.parent / "thumbor"), "--conf", str(THUMBOR_CONF), "--log-level", "warning"]
    procs: list[subprocess.Popen[bytes]] = []
    with open(log_path, "wb") as out:
        if mode == "processes":
            cmd = [*base, "--ip", "127.0.0.1", "--port", str(port), "--processes", str(processes)]
            procs.append(subprocess.Popen(cmd, env=env, cwd=WORK_DIR, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True))
        else:
            for _ in range(processes):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind(("127.0.0.1", port))
                sock.listen(128)
                fd = sock.fileno()
                procs.append(subprocess.Popen([*base, "--fd", str(fd), "--processes", "1"], env=env, cwd=WORK_DIR,
                                              stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                              pass_fds=(fd,)))
                sock.close()
    server = Server("thumbor", f"http://127.0.0.1:{port}", procs[0], log_path, others=procs[1:])
    try:
        for proc in procs:
            wait_http(server.base_url + "/healthcheck", proc=proc)
    except Exception:
        server.stop()
        raise
    return server


# --- probing and loading ------------------------------------------------------------------

@dataclass
class Probe:
    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return self.body[:300].decode("utf-8", "replace").strip()


def probe(base_url: str, path: str, headers: dict[str, str] | None = None) -> Probe:
    req = urllib.request.Request(base_url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return Probe(resp.status, resp.read(), {k.lower(): v for k, v in resp.headers.items()})
    except urllib.error.HTTPError as exc:
        return Probe(exc.code, exc.read(), {k.lower(): v for k, v in exc.headers.items()})


def image_size(data: bytes) -> str:
    try:
        img = pyvips.Image.new_from_buffer(data, "")
        return f"{img.width}x{img.height}"
    except pyvips.Error:
        return "?"


@dataclass
class Measured:
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    errors: int
    statuses: dict[str, int]
    generator: str
    generator_cpu_pct: float
    server_cpu_pct: float
    peak_rss_mb: float
    cpu_ms_per_req: float = 0.0  # server CPU (all its processes and threads) per answered request
    cpu_split_pct: list[float] = field(default_factory=list)  # share of the CPU taken by each instance
    output_bytes: int = 0
    output_size: str = ""
    c1_p50_ms: float | None = None  # p50 at concurrency 1 (LATENCY_WORKLOADS only)
    c1_p99_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """What a load sends: a path template, the sources it goes round, an If-None-Match."""

    template: str
    sources: Sources
    kind: str
    if_none_match: str = ""

    def paths(self) -> list[str]:
        return [self.template.replace("{src}", name) for name in self.sources.names(self.kind)]


def run_wrk(wrk: str, base_url: str, target: Target, *, concurrency: int,
            seconds: float) -> tuple[dict[str, Any], float]:
    """One wrk run; returns its JSON report and its CPU seconds."""
    threads = max(1, min(concurrency, os.cpu_count() or 1))
    pattern, count = target.sources.wrk_pattern(target.kind)
    cmd = [wrk, f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "60s",
           "-s", str(WRK_SCRIPT), base_url, "--", target.template, target.if_none_match, pattern, str(count)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    for line in out.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line[len("WRK_JSON "):]), cpu
    raise RuntimeError(f"wrk gave no report (exit {out.returncode}): {out.stderr.strip() or out.stdout[-500:]}")


def _one_load(server: Server, target: Target, *, wrk: str | None, concurrency: int, seconds: float,
              expect: int) -> Measured:
    headers = {"If-None-Match": target.if_none_match} if target.if_none_match else {}
    t0 = time.perf_counter()
    if wrk:
        report, gen_cpu = run_wrk(wrk, server.base_url, target, concurrency=concurrency, seconds=seconds)
        wall = time.perf_counter() - t0
        duration = report["duration_us"] / 1e6
        statuses = {str(k): int(v) for k, v in report["statuses"].items()}
        good = statuses.get(str(expect), 0)
        lat = report["latency_us"]
        errors = sum(report["errors"].values()) + sum(v for k, v in statuses.items() if k != str(expect))
        return Measured(rps=good / duration, p50_ms=lat["p50"] / 1000, p90_ms=lat["p90"] / 1000,
                        p99_ms=lat["p99"] / 1000, requests=good, errors=errors, statuses=statuses,
                        generator="wrk", generator_cpu_pct=100 * gen_cpu / wall, server_cpu_pct=0.0,
                        peak_rss_mb=0.0)
    res = python_load(server.base_url, target.paths(), concurrency=concurrency, duration=seconds, warmup=0,
                      headers=headers, expect=(expect,))
    return Measured(rps=res.rps, p50_ms=res.percentile(50), p90_ms=res.percentile(90),
                    p99_ms=res.percentile(99), requests=res.requests, errors=res.errors,
                    statuses={str(k): v for k, v in res.status_counts.items()}, generator="python",
                    generator_cpu_pct=100 * res.client_cpu_s / seconds, server_cpu_pct=0.0, peak_rss_mb=0.0)


def load(server: Server, target: Target, *, wrk: str | None, concurrency: int, warmup: float, seconds: float,
         expect: int = 200, c1_seconds: float = 0.0) -> Measured:
    """A warm-up, the measured load at ``concurrency`` and, when ``c1_seconds``, one at concurrency 1."""
    if warmup > 0:
        _one_load(server, target, wrk=wrk, concurrency=concurrency, seconds=warmup, expect=expect)
    server.reset_peak()
    cpu0 = server.cpu_seconds()
    split0 = server.cpu_split()
    t0 = time.perf_counter()
    measured = _one_load(server, target, wrk=wrk, concurrency=concurrency, seconds=seconds, expect=expect)
    wall = time.perf_counter() - t0
    server_cpu = server.cpu_seconds() - cpu0
    measured.server_cpu_pct = 100 * server_cpu / wall
    measured.cpu_ms_per_req = 1000 * server_cpu / max(1, measured.requests + measured.errors)
    split = [b - a for a, b in zip(split0, server.cpu_split(), strict=True)]
    measured.cpu_split_pct = [round(100 * x / sum(split), 1) if sum(split) else 0.0 for x in split]
    measured.peak_rss_mb = server.peak_rss_mb()
    if c1_seconds > 0:
        single = _one_load(server, target, wrk=wrk, concurrency=1, seconds=c1_seconds, expect=expect)
        measured.c1_p50_ms, measured.c1_p99_ms = single.p50_ms, single.p99_ms
    return measured


def raw_loop(fn: Callable[[bytes], bytes], sources: list[bytes], *, threads: int, warmup: float,
             seconds: float) -> dict[str, float]:
    """``fn`` over the sources round-robin, in ``threads`` threads of this process."""
    turn = itertools.count()
    res = in_process_loop(lambda: fn(sources[next(turn) % len(sources)]), threads=threads, warmup=warmup,
                          seconds=seconds)
    return {"rps": res["rps"], "requests": res["requests"], "p50_ms": res["p50_ms"],
            "cpu_ms_per_req": res["cpu_ms_per_image"]}


# --- the run ------------------------------------------------------------------------------

PEERS = ("thumbor", "ipx")


@dataclass
class Row:
    workload: Workload
    ours: Measured | None = None
    peers: dict[str, Measured] = field(default_factory=dict)
    raw: dict[str, float] | None = None
    notes: list[str] = field(default_factory=list)
    first: Probe | None = None  # imgproxy_py's first response

    def ratio(self, peer: str) -> float | None:
        other = self.peers.get(peer)
        return self.ours.rps / other.rps if self.ours and other and other.rps else None

    def cpu_ratio(self, peer: str) -> float | None:
        """The peer's CPU per request over imgproxy_py's: insensitive to other load on the machine."""
        other = self.peers.get(peer)
        return other.cpu_ms_per_req / self.ours.cpu_ms_per_req if self.ours and other and self.ours.cpu_ms_per_req \
            else None

    def best_peer(self) -> str | None:
        ran = [p for p in PEERS if p in self.peers and self.peers[p].rps]
        return max(ran, key=lambda p: self.peers[p].rps) if ran else None

    def ratio_raw(self) -> float | None:
        if self.ours and self.raw and self.raw["rps"]:
            return self.ours.rps / self.raw["rps"]
        return None


def probe_ours(server: Server, w: Workload, rows: dict[str, Row], sources: Sources) -> tuple[str | None, str]:
    """Checks that imgproxy_py handles the workload; returns (path template to load, If-None-Match) or (None, why)."""
    first = probe(server.base_url, first_path(w.ours, sources, w.source))
    if first.status != 200:
        why = f"imgproxy_py answered {first.status} ({first.text})"
        if first.status in (400, 404) and ("Unknown" in first.text or "Invalid" in first.text):
            why = f"not supported yet: imgproxy_py answered {first.status} {first.text!r}"
        return None, why
    row = rows[w.key]
    row.first = first
    if w.key == "w3":
        # At 300x200 from 4:3 the window can only move 25 px, so outputs may match anyway: compare a
        # tall crop, where a detected face must move the window away from the smart-crop choice.
        tall = "/unsafe/rs:fill:300:600/g:{}/cb:probe/plain/local:///src000.jpg"
        face, smart = probe(server.base_url, tall.format("obj:face")), probe(server.base_url, tall.format("sm"))
        if face.status == 200 and face.body == smart.body:
            row.notes.append("g:obj:face gave the same bytes as g:sm on a tall crop: no face detector seems to "
                             "be active (the smart-crop fallback is what was measured)")
    if not w.etag:
        return w.ours, ""
    etag = first.headers.get("etag", "")
    if not etag:
        return None, "imgproxy_py sent no ETag (IMGPROXY_USE_ETAG not supported yet)"
    again = probe(server.base_url, first_path(w.ours, sources, w.source), {"If-None-Match": etag})
    if again.status != 304:
        return None, f"imgproxy_py answered {again.status}, not 304, to If-None-Match"
    return w.ours, etag


def median_measured(runs: list[Measured]) -> Measured | None:
    """Each number is the median over the runs (so the fields may come from different runs)."""
    if not runs:
        return None
    if len(runs) == 1:
        return runs[0]
    out = Measured(**{k: v for k, v in runs[0].__dict__.items()})
    for name, value in runs[0].__dict__.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            values = [getattr(r, name) for r in runs if getattr(r, name) is not None]
            setattr(out, name, median(values))
    out.extra = {"runs": [{k: v for k, v in r.__dict__.items() if k != "extra"} for r in runs]}
    return out


def run_peer(name: str, start: Callable[[], Server], template: str, sources: Sources, w: Workload, row: Row,
             *, wrk: str | None, concurrency: int, warmup: float, duration: float,
             c1_seconds: float, tag: str = "") -> Measured | None:
    """One peer server on one workload: probed first (a refusal is noted, not measured)."""
    server = start()
    try:
        path = first_path(template, sources, w.source)
        first = probe(server.base_url, path)
        if first.status != 200:
            row.notes.append(f"{name} answered {first.status}: {first.text}")
            return None
        inm = first.headers.get("etag", "") if w.etag else ""
        if w.etag:
            again = probe(server.base_url, path, {"If-None-Match": inm})
            if not inm or again.status != 304:
                row.notes.append(f"{name} gave no 304 (status {again.status})")
                return None
        m = load(server, Target(template, sources, w.source, inm), wrk=wrk, concurrency=concurrency,
                 warmup=warmup, seconds=duration, expect=304 if w.etag else 200, c1_seconds=c1_seconds)
        m.output_bytes, m.output_size = len(first.body), image_size(first.body)
        log(f"  {w.key}{tag} {name}: {m.rps:.1f} req/s, p50 {m.p50_ms:.0f} ms, p99 {m.p99_ms:.0f} ms, "
            f"{m.cpu_ms_per_req:.1f} CPU ms/req, peak RSS {m.peak_rss_mb:.0f} MiB"
            + (f", c=1 p50 {m.c1_p50_ms:.0f} ms" if m.c1_p50_ms is not None else ""))
        return m
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about 2 minutes in all)")
    parser.add_argument("--duration", type=float, help="seconds per server workload (default 20, quick 4)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds before each (default 3, quick 1)")
    parser.add_argument("--raw-duration", type=float, help="seconds per raw pyvips loop (default 10, quick 2)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections (default 8)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help=f"IMGPROXY_WORKERS and raw pyvips threads (default {DEFAULT_WORKERS}: imgproxy's "
                             "default, 2 per core)")
    parser.add_argument("--processes", type=int, default=CORES,
                        help=f"thumbor and ipx processes (default {CORES}: one per core)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs per cell, interleaved; medians are reported (default 1)")
    parser.add_argument("--only", default="", help="comma list of workloads to run (w1..w7); default all")
    parser.add_argument("--no-thumbor", action="store_true", help="skip thumbor")
    parser.add_argument("--no-ipx", action="store_true", help="skip ipx")
    parser.add_argument("--imgproxy-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an IMGPROXY_* setting for imgproxy_py (repeatable), e.g. "
                             "IMGPROXY_UNSHARP_MASKING_MODE=none")
    parser.add_argument("--sources", type=int, default=24, help="distinct 12 MP sources (default 24)")
    parser.add_argument("--c1-duration", type=float,
                        help="seconds of the concurrency-1 latency run on w1 (default 10, quick 3)")
    parser.add_argument("--thumbor-mode", choices=("reuseport", "processes"), default="reuseport",
                        help="N thumbor instances sharing the port with SO_REUSEPORT (default), "
                             "or one thumbor --processes N")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator, not wrk")
    parser.add_argument("--name", default="", help="results file name (default: today's date)")
    args = parser.parse_args(argv)
    duration = args.duration or (4.0 if args.quick else 20.0)
    warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)
    raw_duration = args.raw_duration or (2.0 if args.quick else 10.0)
    c1_duration = args.c1_duration or (3.0 if args.quick else 10.0)
    extra_env = dict(item.split("=", 1) for item in args.imgproxy_env)
    command = "python " + rel(__file__) + (" " + shlex.join(argv if argv is not None else sys.argv[1:])).rstrip()
    started = time.perf_counter()
    selected = [w for w in WORKLOADS if not args.only or w.key in args.only.split(",")]
    rows = {w.key: Row(w) for w in WORKLOADS}
    notes: list[str] = []

    pyvips.cache_set_max(0)
    pyvips.concurrency_set(1)  # as the server sets libvips up (one thread per operation)
    variants = detection_cache_entries() + 88  # more than imgproxy_py's detection cache holds
    root = ensure_sources(args.sources, png=any(w.source == "png" for w in selected))
    if any(w.source == "variants" for w in selected):
        ensure_byte_variants(variants, args.sources)
    sources = Sources(root, args.sources, variants)
    wrk = None if args.python_load else ensure_wrk()
    if wrk is None:
        notes.append("load generator: Python threads over keep-alive connections "
                     + ("(asked for)" if args.python_load else "(wrk could not be installed)"))
    thumbor_py: Path | None = None
    chart_py: Path | None = None
    if not args.no_thumbor:
        thumbor_py, venv_notes = ensure_thumbor_venv()
        notes += venv_notes
        if thumbor_py is not None and venv_has(thumbor_py, "matplotlib"):
            chart_py = thumbor_py
        if thumbor_py is not None and not venv_has(thumbor_py, "cv2"):
            notes.append("OpenCV is missing in thumbor's virtualenv: thumbor's smart crop and face "
                         "detection fall back to no detection")
    node: str | None = None
    if not args.no_ipx:
        node, ipx_notes = ensure_ipx()
        notes += ipx_notes
    info = machine_info()

    # Per workload, one after the other: imgproxy_py, thumbor, ipx, raw pyvips (each repeat
    # starting one further along), so that the numbers compared are taken minutes apart at most.
    # Every server is started afresh for each workload, so that its peak RSS is that workload's.
    log(f"{len(selected)} workloads x {duration:.0f}s at concurrency {args.concurrency}, {args.sources} sources")
    ours_peak_total = 0.0
    for w in selected:
        row = rows[w.key]
        c1 = c1_duration if w.key in LATENCY_WORKLOADS else 0.0
        ours_runs: list[Measured] = []
        peer_runs: dict[str, list[Measured]] = {peer: [] for peer in PEERS}
        raw_runs: list[dict[str, float]] = []
        raw_data = ([(root / f"{name}.{'png' if w.source == 'png' else 'jpg'}").read_bytes()
                     for name in sources.names(w.source)] if w.raw is not None else [])
        for rep in range(args.repeats):
            tag = f" [{rep + 1}/{args.repeats}]" if args.repeats > 1 else ""
            starters: dict[str, tuple[str, Callable[[], Server]]] = {}
            if thumbor_py is not None and w.thumbor is not None:
                starters["thumbor"] = (w.thumbor, functools.partial(
                    start_thumbor, thumbor_py, root, args.processes, w.thumbor_detectors, args.thumbor_mode))
            if node is not None and w.ipx is not None:
                starters["ipx"] = (w.ipx, functools.partial(start_ipx, node, root, args.processes))
            # Each repeat starts with the next contender, so that none is always measured first or
            # last: this machine drifts by 10-20% within minutes, and a fixed order hands the drift
            # to the same server every time.
            order = ["imgproxy_py", *starters, *(["raw"] if w.raw is not None else [])]
            turn = rep % len(order)
            for contender in order[turn:] + order[:turn]:
                if contender == "imgproxy_py":
                    ours = start_imgproxy(root, args.workers, env={"IMGPROXY_USE_ETAG": "true", **extra_env})
                    try:
                        template, etag_or_why = probe_ours(ours, w, rows, sources)
                        if template is None:
                            if rep == 0:
                                row.notes.append(etag_or_why)
                            log(f"  {w.key} imgproxy_py: skipped: {etag_or_why}")
                        else:
                            m = load(ours, Target(template, sources, w.source, etag_or_why), wrk=wrk,
                                     concurrency=args.concurrency, warmup=warmup, seconds=duration,
                                     expect=304 if w.etag else 200, c1_seconds=c1)
                            if row.first is not None:
                                m.output_bytes, m.output_size = len(row.first.body), image_size(row.first.body)
                            ours_runs.append(m)
                            log(f"  {w.key}{tag} imgproxy_py: {m.rps:.1f} req/s, p50 {m.p50_ms:.0f} ms, "
                                f"p99 {m.p99_ms:.0f} ms, {m.cpu_ms_per_req:.1f} CPU ms/req, "
                                f"peak RSS {m.peak_rss_mb:.0f} MiB"
                                + (f", c=1 p50 {m.c1_p50_ms:.0f} ms" if m.c1_p50_ms is not None else ""))
                        ours_peak_total = max(ours_peak_total, ours.peak_rss_mb())
                    finally:
                        ours.stop()
                elif contender == "raw":
                    assert w.raw is not None
                    raw = raw_loop(w.raw, raw_data, threads=args.workers, warmup=min(1.0, warmup),
                                   seconds=raw_duration)
                    raw_runs.append(raw)
                    log(f"  {w.key}{tag} raw pyvips: {raw['rps']:.1f} /s, {raw['cpu_ms_per_req']:.1f} CPU ms/image")
                else:
                    peer_template, start = starters[contender]
                    pm = run_peer(contender, start, peer_template, sources, w, row, wrk=wrk,
                                  concurrency=args.concurrency, warmup=warmup, duration=duration, c1_seconds=c1,
                                  tag=tag)
                    if pm is not None:
                        peer_runs[contender].append(pm)
        row.ours = median_measured(ours_runs)
        row.peers = {peer: m for peer, runs in peer_runs.items() if (m := median_measured(runs)) is not None}
        row.raw = {k: median([r[k] for r in raw_runs]) for k in raw_runs[0]} if raw_runs else None
        del raw_data

    w6, w1 = rows["w6"].ours, rows["w1"].ours
    etag_speedup = w6.rps / w1.rps if w6 and w1 and w1.rps else None
    etag_cpu_speedup = w1.cpu_ms_per_req / w6.cpu_ms_per_req if w6 and w1 and w6.cpu_ms_per_req else None
    result = build_result(args, command, info, sources, rows, selected, notes, wrk, thumbor_py, node,
                          ours_peak_total, etag_speedup, duration, warmup, raw_duration, c1_duration)
    result["etag_304_cpu_speedup_vs_w1"] = etag_cpu_speedup
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    name = args.name or dt.date.today().isoformat()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = (RESULTS_DIR / f"{name}.{ext}" for ext in ("json", "md", "png"))
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    markdown = render_markdown(result)
    chart_note = ""
    if chart_py is not None:
        chart = subprocess.run([str(chart_py), str(BENCH_DIR / "chart.py"), str(json_path), str(png_path)],
                               capture_output=True, text=True, check=False)
        if chart.returncode != 0:
            chart_note = f"chart failed: {chart.stderr.strip()[-300:]}"
    else:
        chart_note = "no chart: matplotlib is not available in thumbor's virtualenv"
    if chart_note:
        markdown += f"\n{chart_note}\n"
    else:
        markdown += f"\n![req/s, latency and peak RSS per workload]({png_path.name})\n"
    md_path.write_text(markdown)
    print(markdown)
    print(f"results: {rel(json_path)}, {rel(md_path)}" + ("" if chart_note else f", {rel(png_path)}"))
    return 0


def build_result(args: argparse.Namespace, command: str, info: dict[str, object], sources: Sources,
                 rows: dict[str, Row], selected: list[Workload], notes: list[str], wrk: str | None,
                 thumbor_py: Path | None, node: str | None, ours_peak_total: float, etag_speedup: float | None,
                 duration: float, warmup: float, raw_duration: float, c1_duration: float) -> dict[str, Any]:
    def measured(m: Measured | None) -> dict[str, Any] | None:
        if m is None:
            return None
        out = {k: v for k, v in m.__dict__.items() if k != "extra"}
        if m.extra.get("runs"):
            out["runs"] = m.extra["runs"]
        return out

    workloads = []
    for w in selected:
        row = rows[w.key]
        best = row.best_peer()
        workloads.append({
            "key": w.key, "title": w.title, "imgproxy_py_path": w.ours, "thumbor_path": w.thumbor,
            "ipx_path": w.ipx, "sources": w.source, "source_count": len(sources.names(w.source)),
            "thumbor_detectors": w.thumbor_detectors if w.thumbor else None, "raw_pyvips": w.raw_title or None,
            "imgproxy_py": measured(row.ours), "thumbor": measured(row.peers.get("thumbor")),
            "ipx": measured(row.peers.get("ipx")), "raw": row.raw,
            "ratio_vs_thumbor": row.ratio("thumbor"), "cpu_ratio_vs_thumbor": row.cpu_ratio("thumbor"),
            "ratio_vs_ipx": row.ratio("ipx"), "cpu_ratio_vs_ipx": row.cpu_ratio("ipx"),
            "best_peer": best, "ratio_vs_best_peer": row.ratio(best) if best else None,
            "ratio_vs_raw": row.ratio_raw(),
            "cpu_ratio_vs_raw": (row.raw["cpu_ms_per_req"] / row.ours.cpu_ms_per_req
                                 if row.raw and row.ours and row.ours.cpu_ms_per_req else None),
            "notes": row.notes,
        })
    gen_version = ""
    if wrk:
        gen_version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    files = sorted(sources.folder.glob("src*.*"))
    return {
        "benchmark": "imgproxy_py vs thumbor vs ipx vs raw pyvips",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": command,
        "settings": {
            "concurrency": args.concurrency, "workers": args.workers, "processes": args.processes,
            "duration_s": duration, "warmup_s": warmup,
            "repeats": args.repeats, "c1_duration_s": c1_duration, "latency_workloads": list(LATENCY_WORKLOADS),
            "raw_duration_s": raw_duration, "load_generator": gen_version or "python",
            "imgproxy_py": imgproxy_command_line(args.workers, rel(sources.folder)) + " (IMGPROXY_USE_ETAG=true"
                           + "".join(f", {item}" for item in args.imgproxy_env) + ")",
            "thumbor": (f"thumbor {thumbor_version(thumbor_py)}, "
                        + (f"{args.processes} instances x --processes 1 sharing the port (SO_REUSEPORT, --fd)"
                           if args.thumbor_mode == "reuseport" else f"--processes {args.processes}")
                        + f", --conf {rel(THUMBOR_CONF)}") if thumbor_py else None,
            "ipx": f"{ipx_versions(node)}: {ipx_command_line(args.processes)}" if node else None,
            "thumbor_mode": args.thumbor_mode,
            "sources": {"count": sources.count, "byte_variants": sources.variants,
                        "jpeg_mb_mean": round(sum(f.stat().st_size for f in files if f.suffix == ".jpg")
                                              / max(1, sum(f.suffix == ".jpg" for f in files)) / 1e6, 2)},
        },
        "machine": info,
        "notes": notes,
        "imgproxy_py_peak_rss_mb_all_workloads": ours_peak_total,
        "etag_304_speedup_vs_w1": etag_speedup,
        "targets": TARGETS,
        "workloads": workloads,
    }


def _f(value: float | None, fmt: str = "{:.1f}") -> str:
    return "–" if value is None else fmt.format(value)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def target_lines(result: dict[str, Any]) -> list[str]:
    """One line per target: met, missed, or not measured."""
    t = result["targets"]
    by_key = {w["key"]: w for w in result["workloads"]}
    lines = []
    for key, need in (("w1", t["vs_best_peer"]), ("w4", t["vs_best_peer"]), ("w2", t["vs_best_peer_hard"]),
                      ("w3", t["vs_best_peer_hard"]), ("w5", t["vs_best_peer_hard"])):
        w = by_key.get(key)
        if w and w["ratio_vs_best_peer"] is not None:
            ok = w["ratio_vs_best_peer"] >= need
            lines.append(f"- {key} req/s >= {need}x the best peer ({w['best_peer']}): {'met' if ok else 'MISSED'} "
                         f"({w['ratio_vs_best_peer']:.2f}x)")
    raws = [(w["key"], w["ratio_vs_raw"]) for w in result["workloads"] if w["ratio_vs_raw"] is not None]
    if raws:
        bad = [f"{k} {v:.0%}" for k, v in raws if v < t["vs_raw"]]
        lines.append(f"- >= {t['vs_raw']:.0%} of raw pyvips req/s: "
                     + (f"MISSED on {', '.join(bad)}" if bad else f"met (lowest {min(v for _, v in raws):.0%})"))
    w1 = by_key.get("w1")
    if w1 and w1["imgproxy_py"] and w1["imgproxy_py"].get("c1_p50_ms") and w1["thumbor"] \
            and w1["thumbor"].get("c1_p50_ms"):
        ours, theirs = w1["imgproxy_py"]["c1_p50_ms"], w1["thumbor"]["c1_p50_ms"]
        lines.append(f"- w1 latency at concurrency 1 below thumbor's: {'met' if ours < theirs else 'MISSED'} "
                     f"(p50 {ours:.0f} ms vs {theirs:.0f} ms)")
    c = result["settings"]["concurrency"]
    spread = [(w["key"], w["imgproxy_py"]["p99_ms"] / w["imgproxy_py"]["p50_ms"]) for w in result["workloads"]
              if w["imgproxy_py"] and w["imgproxy_py"]["p50_ms"]]
    if spread:
        bad = [f"{k} {v:.2f}" for k, v in spread if v > t["p99_over_p50"]]
        lines.append(f"- p99 <= {t['p99_over_p50']}x p50 at concurrency {c}: "
                     + (f"MISSED on {', '.join(bad)}" if bad else f"met (highest {max(v for _, v in spread):.2f})"))
    rss = [(w["key"], w["imgproxy_py"]["peak_rss_mb"]) for w in result["workloads"] if w["imgproxy_py"]]
    if rss:
        bad = [f"{k} {v:.0f} MiB" for k, v in rss if v > t["peak_rss_mb"]]
        lines.append(f"- peak RSS <= {t['peak_rss_mb']:.0f} MB at concurrency {c}: "
                     + (f"MISSED on {', '.join(bad)}" if bad else f"met (highest {max(v for _, v in rss):.0f} MiB)"))
    speed = result["etag_304_speedup_vs_w1"]
    if speed is not None:
        lines.append(f"- 304 path >= {t['etag_speedup']:.0f}x full processing (w6 vs w1 req/s): "
                     f"{'met' if speed >= t['etag_speedup'] else 'MISSED'} ({speed:.1f}x; by CPU per request "
                     f"{result.get('etag_304_cpu_speedup_vs_w1') or 0:.1f}x)")
    return lines


def _side(w: dict[str, Any], key: str, field_name: str, fmt: str = "{:.1f}") -> str:
    side = w.get(key)
    return _f(side.get(field_name) if side else None, fmt)


def render_markdown(result: dict[str, Any]) -> str:
    s = result["settings"]
    repeats = s.get("repeats", 1)
    runs = "One run per cell" if repeats == 1 else f"Medians of {repeats} interleaved runs per cell"
    procs = s.get("processes", s["workers"])
    thumbor_desc = (f"as {procs} single-process instances sharing the port (SO_REUSEPORT)"
                    if s.get("thumbor_mode", "reuseport") == "reuseport" else f"with --processes {procs}")
    src = s["sources"]
    lines = [
        f"# Benchmark {result['date']}",
        "",
        f"`{result['command']}`: {s['duration_s']:.0f} s per workload after {s['warmup_s']:.0f} s of warm-up, "
        f"concurrency {s['concurrency']}, load generator {s['load_generator'].split(' Copyright')[0]}; "
        f"{src['count']} distinct 12 MP JPEGs (mean {src['jpeg_mb_mean']} MB) taken round-robin, "
        f"{src['byte_variants']} byte-distinct ones for face gravity; "
        f"imgproxy_py with IMGPROXY_WORKERS={s['workers']}, thumbor {thumbor_desc}, "
        f"{s.get('ipx') or 'no ipx'}, raw pyvips with {s['workers']} threads for {s['raw_duration_s']:.0f} s. "
        f"{runs} on a "
        f"{result['machine'].get('cpu_count')}-core machine (load average "
        f"{result['machine']['loadavg_at_start'][0]:.1f} at start), imgproxy_py at "
        f"{result['machine'].get('git_commit', '?')}. When the machine is shared, req/s "
        "depends on the CPU share each server got; CPU ms per request (all processes and threads of the "
        "server) does not, so both are given.",
        "",
        "| # | workload | imgproxy_py req/s | thumbor req/s | ipx req/s | vs best peer | raw pyvips /s | vs raw "
        "| imgproxy_py CPU ms/req | thumbor CPU ms/req | ipx CPU ms/req | raw CPU ms/img |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for w in result["workloads"]:
        r = w["raw"]
        lines.append(
            f"| {w['key']} | {w['title']} | {_side(w, 'imgproxy_py', 'rps')} | {_side(w, 'thumbor', 'rps')} | "
            f"{_side(w, 'ipx', 'rps')} | {_f(w['ratio_vs_best_peer'], '{:.2f}x')} | {_f(r and r['rps'])} | "
            f"{_f(w['ratio_vs_raw'], '{:.0%}')} | {_side(w, 'imgproxy_py', 'cpu_ms_per_req')} | "
            f"{_side(w, 'thumbor', 'cpu_ms_per_req')} | {_side(w, 'ipx', 'cpu_ms_per_req')} | "
            f"{_f(r and r['cpu_ms_per_req'])} |")
    lines += [
        "",
        f"Latency (ms) at concurrency {s['concurrency']}, p50 / p99 (p99/p50), and peak RSS (MiB):",
        "",
        "| # | imgproxy_py | thumbor | ipx | imgproxy_py RSS | thumbor RSS | ipx RSS |",
        "|---|---|---|---|---|---|---|",
    ]

    def lat(w: dict[str, Any], key: str) -> str:
        side = w.get(key)
        if not side:
            return "–"
        spread = _ratio(side["p99_ms"], side["p50_ms"])
        return f"{side['p50_ms']:.0f} / {side['p99_ms']:.0f} ({_f(spread, '{:.2f}')})"

    for w in result["workloads"]:
        lines.append(f"| {w['key']} | {lat(w, 'imgproxy_py')} | {lat(w, 'thumbor')} | {lat(w, 'ipx')} | "
                     + " | ".join(_side(w, k, "peak_rss_mb", "{:.0f}") for k in ("imgproxy_py", *PEERS)) + " |")
    single = [w for w in result["workloads"] if w["key"] in s.get("latency_workloads", [])]
    if single:
        lines += ["", f"Single-request latency (concurrency 1, {s['c1_duration_s']:.0f} s, ms), p50 / p99:", "",
                  "| # | imgproxy_py | thumbor | ipx |", "|---|---|---|---|"]
        for w in single:
            cells = [f"{_side(w, k, 'c1_p50_ms', '{:.0f}')} / {_side(w, k, 'c1_p99_ms', '{:.0f}')}"
                     for k in ("imgproxy_py", "thumbor", "ipx")]
            lines.append(f"| {w['key']} | " + " | ".join(cells) + " |")
    lines += ["", "Targets:", *target_lines(result), ""]
    lines.append("Peak RSS: VmHWM of the server, started afresh for each workload, summed over its processes "
                 "(thumbor's instances, ipx's cluster primary and workers; pages they share count more than once).")
    gen = [w[k]["generator_cpu_pct"] for w in result["workloads"] for k in ("imgproxy_py", *PEERS) if w.get(k)]
    if gen:
        lines.append(f"Load generator CPU: {min(gen):.0f}-{max(gen):.0f}% of one core.")
    lines.append("")
    notes = list(result["notes"]) + [f"{w['key']}: {n}" for w in result["workloads"] for n in w["notes"]]
    if notes:
        lines.append("Notes:")
        lines += [f"- {n}" for n in notes]
        lines.append("")
    lines.append("Outputs (first response): " + "; ".join(
        f"{w['key']} " + ", ".join(f"{k} {w[k]['output_size']} {w[k]['output_bytes']} B"
                                   for k in ("imgproxy_py", *PEERS) if w.get(k))
        for w in result["workloads"] if w["imgproxy_py"]) + ".")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
