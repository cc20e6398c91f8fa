"""Shared pieces of the benchmark scripts: test images, server processes, a Python load generator.

Everything here is benchmark tooling; the project itself never imports it.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / "work"  # git-ignored: generated images, logs
IMAGES_DIR = WORK_DIR / "images"
RESULTS_DIR = BENCH_DIR / "results"

# The 12 MP source: a 3x2 mosaic of real photos (scikit-image and scikit-learn samples),
# each upscaled with lanczos3 into its 1334x1500 cell, plus a little sensor-like grain so
# that the JPEG has the entropy (and the decode cost) of a camera photo, not of a smooth
# upscale.  The astronaut's face sits in the top-left cell, big enough for face detectors.
SOURCE_WIDTH, SOURCE_HEIGHT = 4000, 3000
IMAGE_VERSION = 1  # bump when the recipe changes, so cached files are rebuilt


def rel(path: Path | str) -> str:
    """A path as printed in results: relative to the repository when it is inside it."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO_ROOT))
    except ValueError:
        return p.name


def _sample_photos() -> list[np.ndarray]:
    from skimage import data
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    photos = [data.astronaut(), data.coffee(), china, data.chelsea(), flower, data.rocket()]
    return [np.ascontiguousarray(p[..., :3]).astype(np.uint8) for p in photos]


def _cover(img: object, width: int, height: int) -> object:
    import pyvips

    assert isinstance(img, pyvips.Image)
    scale = max(width / img.width, height / img.height)
    big = img.resize(scale, kernel="lanczos3")
    left = (big.width - width) // 2
    top = (big.height - height) // 2
    return big.crop(left, top, width, height)


def build_source(width: int = SOURCE_WIDTH, height: int = SOURCE_HEIGHT) -> object:
    """The 12 MP test photo as an in-memory pyvips image (sRGB, 3 bands, uchar)."""
    import pyvips

    cols, rows = 3, 2
    cells = []
    for i, photo in enumerate(_sample_photos()):
        c, r = i % cols, i // cols
        x0, x1 = c * width // cols, (c + 1) * width // cols
        y0, y1 = r * height // rows, (r + 1) * height // rows
        img = pyvips.Image.new_from_array(photo, interpretation="srgb")
        cells.append((x0, y0, _cover(img, x1 - x0, y1 - y0)))
    canvas = pyvips.Image.black(width, height, bands=3)
    for x0, y0, cell in cells:
        canvas = canvas.insert(cell, x0, y0)
    pixels = canvas.cast("float").numpy()
    rng = np.random.default_rng(12)
    pixels += rng.normal(0.0, 3.0, size=(height, width, 1)).astype(np.float32)  # luma grain
    pixels += rng.normal(0.0, 1.5, size=pixels.shape).astype(np.float32)  # chroma grain
    out = np.clip(pixels + 0.5, 0, 255).astype(np.uint8)
    return pyvips.Image.new_from_array(out, interpretation="srgb")


@dataclass(frozen=True)
class TestImages:
    jpeg: Path
    png: Path
    webp: Path

    @property
    def folder(self) -> Path:
        return self.jpeg.parent


def ensure_images(folder: Path = IMAGES_DIR) -> TestImages:
    """Write photo.jpg (q90), photo.png and photo.webp (q90) once; later calls reuse them."""
    import pyvips

    folder.mkdir(parents=True, exist_ok=True)
    images = TestImages(folder / "photo.jpg", folder / "photo.png", folder / "photo.webp")
    stamp = folder / f".version-{IMAGE_VERSION}"
    if stamp.exists() and all(p.exists() for p in (images.jpeg, images.png, images.webp)):
        return images
    print(f"building test images in {rel(folder)} ...", file=sys.stderr, flush=True)
    img = build_source()
    assert isinstance(img, pyvips.Image)
    img.jpegsave(str(images.jpeg), Q=90, optimize_coding=True, subsample_mode="on")
    img.pngsave(str(images.png), compression=6)
    img.webpsave(str(images.webp), Q=90)
    stamp.write_text("ok\n")
    return images


# --- processes ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except Exception as exc:  # connection refused while starting
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s: {last}")


def process_tree(pid: int) -> list[int]:
    """``pid`` and all of its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_peak_rss_mb(pid: int) -> float:
    """Sum of VmHWM (peak resident set) over the process tree, in MiB."""
    return sum(_status_kb(p, "VmHWM") for p in process_tree(pid)) / 1024


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the process tree (live processes only)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def tree_context_switches(pid: int) -> int:
    """Voluntary + involuntary context switches of every thread of the process tree so far."""
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{p}/task").iterdir():
                for line in (task / "status").read_text().splitlines():
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
    return total


def reset_peak_rss(pid: int) -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs); best effort."""
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            Path(f"/proc/{p}/clear_refs").write_text("5")


@dataclass
class Server:
    name: str
    base_url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    others: list[subprocess.Popen[bytes]] = field(default_factory=list)  # more instances on the same port

    @property
    def pids(self) -> list[int]:
        return [self.proc.pid, *(p.pid for p in self.others)]

    def cpu_split(self) -> list[float]:
        """CPU seconds of each instance (to see how evenly the load was spread)."""
        return [tree_cpu_seconds(p) for p in self.pids]

    def peak_rss_mb(self) -> float:
        return sum(tree_peak_rss_mb(p) for p in self.pids)

    def cpu_seconds(self) -> float:
        return sum(tree_cpu_seconds(p) for p in self.pids)

    def reset_peak(self) -> None:
        for p in self.pids:
            reset_peak_rss(p)

    def stop(self) -> None:
        for proc in (self.proc, *self.others):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in (self.proc, *self.others):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def start_imgproxy(root: Path, workers: int, *, env: dict[str, str] | None = None,
                   log_path: Path | None = None, python: str = sys.executable,
                   wrap: Sequence[str] = ()) -> Server:
    """One imgproxy_py server process on loopback; returns once /health answers."""
    port = free_port()
    log_path = log_path or WORK_DIR / "imgproxy_py.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "IMGPROXY_BIND": f"127.0.0.1:{port}", "IMGPROXY_LOCAL_FILESYSTEM_ROOT": str(root),
                "IMGPROXY_WORKERS": str(workers), "IMGPROXY_LOG_LEVEL": "warning", **(env or {})}
    cmd = [*wrap, python, "-m", "imgproxy_py", "serve"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=full_env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server("imgproxy_py", f"http://127.0.0.1:{port}", proc, log_path)
    try:
        wait_http(server.base_url + "/health", proc=proc)
    except Exception:
        server.stop()
        raise
    return server


def imgproxy_command_line(workers: int, root: str = "<images>") -> str:
    return (f"IMGPROXY_BIND=127.0.0.1:<port> IMGPROXY_LOCAL_FILESYSTEM_ROOT={root} "
            f"IMGPROXY_WORKERS={workers} IMGPROXY_LOG_LEVEL=warning .venv/bin/python -m imgproxy_py serve")


# --- Python load generator ----------------------------------------------------------------

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


def _git_commit() -> str:
    """The checked-out commit, with "+dirty" when the project's code differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "imgproxy_py", "pyproject.toml"],
                               cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("+dirty" if dirty else "")


def machine_info() -> dict[str, object]:
    import pyvips

    info: dict[str, object] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "libvips": f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}",
        "pyvips": getattr(pyvips, "__version__", "?"),
        "loadavg_at_start": os.getloadavg(),
        "git_commit": _git_commit(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    return info


@contextlib.contextmanager
def servers_stopped(servers: list[Server]) -> Iterator[list[Server]]:
    try:
        yield servers
    finally:
        for s in servers:
            s.stop()
