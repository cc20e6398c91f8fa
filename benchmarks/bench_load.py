"""The Python load generator of the benchmark scripts, an in-process loop, and their statistics.

``python_load`` drives a server over keep-alive connections from threads of this process (the
fallback when ``wrk`` is missing, and the client of the smaller scripts); ``in_process_loop``
calls a function from threads in a tight loop (the raw pyvips baselines).  Both count only what
ran inside the measured window, after a warm-up.

Everything here is benchmark tooling; the project itself never imports it.
"""

from __future__ import annotations

import http.client
import resource
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    status_counts: dict[int, int]
    client_cpu_s: float
    bytes_received: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def python_load(base_url: str, paths: Sequence[str], *, concurrency: int, duration: float,
                warmup: float = 1.0, headers: dict[str, str] | None = None,
                expect: tuple[int, ...] = (200,)) -> LoadResult:
    """``concurrency`` threads, each with one keep-alive connection, GET ``paths`` round-robin.

    ``{n}`` in a path is replaced by a number unique to the request (for a cache buster: the
    server shares one computation between concurrent identical requests, which is not what a
    throughput benchmark wants to measure).
    Requests that start in the warm-up period are not counted.  Client CPU is this
    process's CPU time during the measured period (the caller runs nothing else meanwhile).
    """
    host_port = base_url.split("://", 1)[1]
    host, _, port = host_port.partition(":")
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + duration
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counters = {"errors": 0, "bytes": 0}
    cpu_mark: list[float] = []

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        i = 0
        local_lat: list[float] = []
        local_status: dict[int, int] = {}
        errors = received = 0
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                break
            path = paths[(index + i) % len(paths)]
            if "{n}" in path:
                path = path.replace("{n}", str(i * concurrency + index))
            i += 1
            try:
                conn.request("GET", path, headers=headers or {})
                resp = conn.getresponse()
                body = resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                status = 0
                body = b""
            t1 = time.perf_counter()
            if t0 >= measure_from and t1 <= stop_at:
                local_status[status] = local_status.get(status, 0) + 1
                if status in expect:
                    local_lat.append((t1 - t0) * 1000)
                    received += len(body)
                else:
                    errors += 1
        conn.close()
        with lock:
            latencies.extend(local_lat)
            for k, v in local_status.items():
                statuses[k] = statuses.get(k, 0) + v
            counters["errors"] += errors
            counters["bytes"] += received

    def cpu_sampler() -> None:
        time.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu_mark.append(_self_cpu())
        time.sleep(max(0.0, stop_at - time.perf_counter()))
        cpu_mark.append(_self_cpu())

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(concurrency)]
    sampler = threading.Thread(target=cpu_sampler, daemon=True)
    sampler.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sampler.join()
    client_cpu = cpu_mark[1] - cpu_mark[0] if len(cpu_mark) == 2 else float("nan")
    return LoadResult(len(latencies), counters["errors"], duration, latencies, statuses, client_cpu,
                      counters["bytes"])


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def in_process_loop(fn: Callable[[], object], *, threads: int, warmup: float,
                    seconds: float) -> dict[str, float]:
    """Call ``fn`` from ``threads`` threads for ``warmup + seconds``; count what ran inside the window.

    Returns requests, rps, p50_ms and cpu_ms_per_image (this process's CPU over the window).
    """
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    counts = [0] * threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    cpu: list[float] = []

    def worker(i: int) -> None:
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                return
            fn()
            t1 = time.perf_counter()
            if t0 >= measure_from and t1 <= stop_at:
                counts[i] += 1
                latencies[i].append((t1 - t0) * 1000)

    def sampler() -> None:
        time.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu.append(_self_cpu())
        time.sleep(max(0.0, stop_at - time.perf_counter()))
        cpu.append(_self_cpu())

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    pool.append(threading.Thread(target=sampler))
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    flat = sorted(x for lat in latencies for x in lat)
    done = sum(counts)
    return {"requests": done, "rps": done / seconds, "p50_ms": flat[len(flat) // 2] if flat else float("nan"),
            "cpu_ms_per_image": 1000 * (cpu[1] - cpu[0]) / max(1, done)}
