"""Latency of ``/info`` with default options on a 12 MP JPEG, through the real server.

The JPEG (4000x3000) is made from scikit-image's chelsea photo with high-quality resampling and
served from a local directory (``local://``), so the figure is the server's own work: parse,
read the file, load the header, EXIF/IPTC/XMP, JSON.  For comparison it also times ``/health``
(what any request costs on this machine), ``avg:1`` (one decode, shrunk on load) and,
in-process, a full decode of every pixel.

Usage (from the repository root)::

    python benchmarks/info_latency.py [--requests 50] [--options avg:1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyvips

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.servers import AppServer  # noqa: E402


def twelve_megapixels() -> bytes:
    from skimage import data

    photo = data.chelsea()
    img = pyvips.Image.new_from_memory(photo.tobytes(), photo.shape[1], photo.shape[0], 3, "uchar")
    img = img.resize(4000 / img.width, vscale=3000 / img.height, kernel="lanczos3")
    return bytes(img.jpegsave_buffer(Q=85))


def timed(client: httpx.Client, url: str, count: int) -> list[float]:
    client.get(url).raise_for_status()  # warm: lazy imports, the file cache
    times = []
    for _ in range(count):
        started = time.perf_counter()
        client.get(url).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


def report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[max(0, round(len(ordered) * 0.95) - 1)]
    print(f"{label:<28} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms   ({len(times)} requests)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--options", default="avg:1", help="pixel options to compare with (default avg:1)")
    args = parser.parse_args()
    jpeg = twelve_megapixels()
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "big.jpg").write_bytes(jpeg)
        server = AppServer({"IMGPROXY_LOCAL_FILESYSTEM_ROOT": root, "IMGPROXY_WORKERS": "2"})
        try:
            with httpx.Client(timeout=60) as client:
                print(f"12 MP JPEG, {len(jpeg)} bytes")
                report("/health (the HTTP floor)", timed(client, f"{server.base}/health", args.requests))
                report("/info (default options)", timed(client, f"{server.base}/info/unsafe/plain/local:///big.jpg",
                                                        args.requests))
                report(f"/info ({args.options})", timed(
                    client, f"{server.base}/info/unsafe/{args.options}/plain/local:///big.jpg", args.requests))
        finally:
            server.close()
    decodes = []
    for _ in range(5):
        started = time.perf_counter()
        pyvips.Image.new_from_buffer(jpeg, "").avg()
        decodes.append((time.perf_counter() - started) * 1000)
    report("full decode, in-process", decodes)


if __name__ == "__main__":
    main()
