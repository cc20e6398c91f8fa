"""Figures for the wheel formats and ``best``:

1. decode time of a 12 MP HEIC (pillow-heif's libheif + libde265) against the same photo as
   JPEG (libvips' libjpeg-turbo), both fully decoded, single request, median of runs;
2. bytes of ``@best`` against ``@jpg``, ``@webp``, ``@avif`` and ``@jxl`` on the demo photos
   (resized to 600 px, as a page would show them) and on a palette graphic (pil123p.png),
   through the real app with WebP, AVIF and JPEG XL detection on and an Accept listing them.

    PYTHONPATH=. python benchmarks/formats.py [--runs 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import pyvips
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import REPO_ROOT, build_source

from imgproxy_py.config import load_config
from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.server.app import create_app

DEMO = REPO_ROOT / "imgproxy_py" / "demo"
GRAPHIC = REPO_ROOT / "tests" / "assets" / "core" / "pil123p.png"
ACCEPT = {"Accept": "image/jxl,image/avif,image/webp,*/*"}


def decode_times(runs: int) -> None:
    import pillow_heif

    source = build_source()
    assert isinstance(source, pyvips.Image)
    jpeg = bytes(source.jpegsave_buffer(Q=85))
    heif = pillow_heif.from_bytes("RGB", (source.width, source.height), source.write_to_memory())
    out = io.BytesIO()
    heif.save(out, quality=80)
    heic = out.getvalue()

    def full_jpeg() -> None:
        loader.load(jpeg, ImageFormat.JPEG).copy_memory()

    def full_heic() -> None:
        loader.load(heic, ImageFormat.HEIC).copy_memory()

    def thumb_jpeg() -> None:  # shrink-on-load: what a thumbnail request costs
        loader.load(jpeg, ImageFormat.JPEG, shrink=8).copy_memory()

    print(f"12 MP ({source.width}x{source.height}): JPEG Q85 {len(jpeg) / 1e6:.2f} MB, "
          f"HEIC q80 {len(heic) / 1e6:.2f} MB")
    for name, fn in (("JPEG full decode", full_jpeg), ("HEIC full decode", full_heic),
                     ("JPEG shrink-on-load 1/8", thumb_jpeg)):
        fn()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        print(f"  {name:26} median {statistics.median(times) * 1000:7.0f} ms  (min {min(times) * 1000:.0f})")


def best_bytes() -> None:
    app = create_app(load_config({
        "IMGPROXY_LOCAL_FILESYSTEM_ROOT": str(REPO_ROOT), "IMGPROXY_AUTO_WEBP": "true",
        "IMGPROXY_AUTO_AVIF": "true", "IMGPROXY_AUTO_JXL": "true", "IMGPROXY_WORKERS": "1"}))
    sources = [(p, "rs:fit:600:600") for p in sorted(DEMO.glob("*.jpg"))] + [(GRAPHIC, "")]
    exts = ("jpg", "webp", "avif", "jxl", "png", "best")
    print(f"\n{'source':16}" + "".join(f"{e:>8}" for e in exts) + "  best is   vs jpg")
    with TestClient(app) as client:
        for path, options in sources:
            rel = path.relative_to(REPO_ROOT)
            sizes, kinds = {}, {}
            for ext in exts:
                response = client.get(f"/unsafe/{options or 'q:0'}/plain/local:///{rel}@{ext}", headers=ACCEPT)
                assert response.status_code == 200, (ext, response.text)
                sizes[ext], kinds[ext] = len(response.content), response.headers["content-type"]
            change = sizes["best"] / sizes["jpg"] - 1  # negative: smaller than the JPEG
            print(f"{path.name:16}" + "".join(f"{sizes[e]:8d}" for e in exts)
                  + f"  {kinds['best'].split('/')[1]:8} {change * 100:+.0f}%")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    decode_times(args.runs)
    best_bytes()


if __name__ == "__main__":
    main()
