"""Measuring a server under load: wrk (installed with apt-get when missing), a probe request,
one measured load with its CPU, peak RSS and concurrency-1 latency, and the raw pyvips loop."""

from __future__ import annotations

import itertools
import json
import os
import resource
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyvips
from bench_common import BENCH_DIR, log
from bench_load import in_process_loop, python_load
from bench_servers import Server
from bench_workloads import Sources

WRK_SCRIPT = BENCH_DIR / "wrk_report.lua"


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
        settle(server)
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
    settle(server)
    if c1_seconds > 0:
        single = _one_load(server, target, wrk=wrk, concurrency=1, seconds=c1_seconds, expect=expect)
        measured.c1_p50_ms, measured.c1_p99_ms = single.p50_ms, single.p99_ms
    return measured


def settle(server: Server, *, limit: float = 10.0, step: float = 0.2, busy_cpu: float = 0.1) -> float:
    """Wait until ``server`` has finished the requests the load generator left in flight when its
    run ended (until it uses less than ``busy_cpu`` of a core); returns the seconds waited.

    wrk closes its connections at the end of a run.  A server that keeps rendering what they
    asked for (a peer without cancellation on disconnect) would otherwise spend the first part
    of the next measured window, its own or the next contender's, on requests nobody counts.
    """
    started = time.perf_counter()
    before = server.cpu_seconds()
    while time.perf_counter() - started < limit:
        time.sleep(step)
        now = server.cpu_seconds()
        if now - before < busy_cpu * step:
            break
        before = now
    return time.perf_counter() - started


def raw_loop(fn: Callable[[bytes], bytes], sources: list[bytes], *, threads: int, warmup: float,
             seconds: float) -> dict[str, float]:
    """``fn`` over the sources round-robin, in ``threads`` threads of this process."""
    turn = itertools.count()
    res = in_process_loop(lambda: fn(sources[next(turn) % len(sources)]), threads=threads, warmup=warmup,
                          seconds=seconds)
    return {"rps": res["rps"], "requests": res["requests"], "p50_ms": res["p50_ms"],
            "cpu_ms_per_req": res["cpu_ms_per_image"]}

