"""What imgproxy Pro's default unsharp masking (``IMGPROXY_UNSHARP_MASKING_MODE=auto``, weight 1,
divider 24) costs at w1's and w4's result sizes, in CPU time: libvips' float convolution (the
general path), its integer one (same pixels as ours, but this mask is off its vector path) and
imgproxy_py's 16-bit numpy path (what whole-number settings take), one libvips thread.  With
``--server``: what it adds to a whole request, as the single-request latency of w1 (fit 512, q80)
over the 24 distinct sources, one request at a time, from a server with the default and one with
``IMGPROXY_UNSHARP_MASKING_MODE=none``, alternated.

    .venv/bin/python benchmarks/unsharp_cost.py
    .venv/bin/python benchmarks/unsharp_cost.py --server
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from pathlib import Path

import pyvips

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import median, python_load
from bench_servers import start_imgproxy
from bench_sources import ensure_sources

from imgproxy_py.imaging.steps.unsharp_masking import sharpened, unsharp_mask


def median_ms(fn: object, runs: int = 30) -> float:
    assert callable(fn)
    fn()
    times = []
    for _ in range(runs):
        started = time.process_time()
        fn()
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def _float_path(img: pyvips.Image, mask: pyvips.Image) -> pyvips.Image:
    return img.conv(mask, precision="float").rint().clamp(min=0, max=255).cast("uchar").copy_memory()


def _integer_path(img: pyvips.Image, mask: pyvips.Image) -> pyvips.Image:
    return img.conv(mask, precision="integer").copy_memory()


def _ours(img: pyvips.Image) -> pyvips.Image:
    return sharpened(img, 1.0, 24.0).copy_memory()


def server_latency_ms(env: dict[str, str], sources: int = 24, seconds: float = 5.0) -> float:
    """Median latency of w1 requests one at a time (a cache buster each) over ``sources``."""
    server = start_imgproxy(ensure_sources(sources), 4, env=env)
    try:
        paths = [f"/unsafe/rs:fit:512:512/q:80/cb:{{n}}/plain/local:///src{i:03d}.jpg" for i in range(sources)]
        result = python_load(server.base_url, paths, concurrency=1, duration=seconds, warmup=2.0)
        assert result.errors == 0 and result.latencies_ms, result.status_counts
        return median(result.latencies_ms)
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", action="store_true", help="the whole request's latency instead")
    parser.add_argument("--repeats", type=int, default=2, help="alternations with --server (default 2)")
    args = parser.parse_args()
    if args.server:
        for _ in range(args.repeats):
            sharpened_ms = server_latency_ms({})
            plain_ms = server_latency_ms({"IMGPROXY_UNSHARP_MASKING_MODE": "none"})
            print(f"w1 at concurrency 1, p50: {sharpened_ms:.1f} ms sharpened (default), {plain_ms:.1f} ms "
                  f"with IMGPROXY_UNSHARP_MASKING_MODE=none")
        return 0
    pyvips.cache_set_max(0)
    pyvips.concurrency_set(1)
    data = (ensure_sources(4) / "src003.jpg").read_bytes()
    mask = unsharp_mask(1.0, 24.0)
    for width, height in ((512, 384), (800, 600)):
        img = pyvips.Image.thumbnail_buffer(data, width, height=height).copy_memory()
        float_path = median_ms(functools.partial(_float_path, img, mask))
        integer_path = median_ms(functools.partial(_integer_path, img, mask))
        ours = median_ms(functools.partial(_ours, img))
        print(f"{width}x{height}: libvips float convolution {float_path:.1f} ms, libvips integer "
              f"{integer_path:.1f} ms, imgproxy_py's 16-bit path {ours:.1f} ms (CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
