"""What single library operations cost, to tell our code's share of a request from the codecs':
CPU ms per call (median), one libvips thread, no operation cache, over the harness's 12 MP sources.

* PNG decode of a 12 MP PNG: the pyvips wheel's libvips (libspng) against the other PNG decoders
  available as wheels (imagecodecs' libpng and libspng, Pillow).  PNG is one zlib stream: no
  decoder can shrink on load or split the work, so this is w5's floor.
* JPEG decode at 1/4 and 1/8 (DCT scaling, as w1/w4 and w2 decode): libvips against simplejpeg
  (both libjpeg-turbo, same pixels; simplejpeg is what ``codecs/jpeg.py`` decodes thumbnails
  with; the two alternated call by call) and Pillow's ``draft``; and w1's chain (decode at 1/4,
  resize, JPEG encode) with each, alternated call by call.
* WebP encode of an 800x600 result at quality 79, effort 4 (w4's encode): libvips against Pillow
  (both libwebp; the bytes are identical).
* libvips' smart crop (``attention``) of a 300x225 image to 300x200, against a centre crop (w2),
  alternated call by call with imgproxy_py's computation of the same window (``imaging/attention.py``,
  what ``g:sm`` runs) and with its advanced smart crop (``IMGPROXY_SMART_CROP_ADVANCED``)
  (``--smart-crop`` measures only these).
* The same operations through sharp (ipx's library, its own libvips build) when ipx is installed
  (``benchmarks/.ipx``, which ``run.py`` installs).

    .venv/bin/python benchmarks/codec_costs.py [--sources 6] [--smart-crop]
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyvips

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import BENCH_DIR
from bench_sources import ensure_sources


def cpu_ms(fn: Callable[[int], object], runs: int) -> float:
    fn(0)
    times = []
    for i in range(runs):
        started = time.process_time()
        fn(i)
        times.append((time.process_time() - started) * 1000)
    return round(statistics.median(times), 1)


def paired_cpu_ms(first: Callable[[int], object], second: Callable[[int], object], runs: int) -> tuple[float, float]:
    """Two ways of doing the same call, alternated call by call (in both orders), so that the
    machine's speed changes hit both alike: each one's median CPU ms."""
    first(0), second(0)
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(runs):
        for which in ((0, 1) if i % 2 else (1, 0)):
            started = time.process_time()
            (first, second)[which](i)
            times[which].append((time.process_time() - started) * 1000)
    return round(statistics.median(times[0]), 1), round(statistics.median(times[1]), 1)


def python_side(folder: Path, count: int) -> dict[str, float]:
    import imagecodecs
    import simplejpeg
    from PIL import Image

    from imgproxy_py.formats import ImageFormat
    from imgproxy_py.imaging.codecs import load as loader

    jpegs = [(folder / f"src{n:03d}.jpg").read_bytes() for n in range(count)]
    pngs = [(folder / f"src{n:03d}.png").read_bytes() for n in range(min(count, 3))]
    fit800 = [pyvips.Image.thumbnail_buffer(d, 800, height=600).copy_memory() for d in jpegs]
    fit800_arrays = [img.numpy() for img in fit800]
    runs, png_runs = 3 * count, 2 * len(pngs)

    def pil_draft(data: bytes) -> None:
        im = Image.open(io.BytesIO(data))
        im.draft("RGB", (im.width // 4, im.height // 4))
        im.load()

    def simplejpeg_scaled(data: bytes, shrink: int) -> object:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
        return simplejpeg.decode_jpeg(data, min_factor=shrink, min_width=width // shrink, min_height=height // shrink)

    def fit512(data: bytes, whole: bool) -> bytes:
        img = loader.load(data, ImageFormat.JPEG, shrink=4, access="sequential", whole=whole)
        return bytes(img.resize(512 / img.width).jpegsave_buffer(Q=80))

    def pil_webp(i: int) -> bytes:
        out = io.BytesIO()
        Image.fromarray(fit800_arrays[i % count]).save(out, "WEBP", quality=79, method=4)
        return out.getvalue()

    return {
        "png_decode_libvips": cpu_ms(
            lambda i: pyvips.Image.pngload_buffer(pngs[i % len(pngs)]).copy_memory(), png_runs),
        "png_decode_imagecodecs_libpng": cpu_ms(lambda i: imagecodecs.png_decode(pngs[i % len(pngs)]), png_runs),
        "png_decode_imagecodecs_libspng": cpu_ms(lambda i: imagecodecs.spng_decode(pngs[i % len(pngs)]), png_runs),
        "png_decode_pillow": cpu_ms(lambda i: Image.open(io.BytesIO(pngs[i % len(pngs)])).load(), png_runs),
        **dict(zip(("jpeg_decode_quarter_libvips", "jpeg_decode_quarter_simplejpeg"), paired_cpu_ms(
            lambda i: pyvips.Image.jpegload_buffer(jpegs[i % count], shrink=4).copy_memory(),
            lambda i: simplejpeg_scaled(jpegs[i % count], 4), 2 * runs), strict=True)),
        "jpeg_decode_quarter_pillow": cpu_ms(lambda i: pil_draft(jpegs[i % count]), runs),
        **dict(zip(("jpeg_decode_eighth_libvips", "jpeg_decode_eighth_simplejpeg"), paired_cpu_ms(
            lambda i: pyvips.Image.jpegload_buffer(jpegs[i % count], shrink=8).copy_memory(),
            lambda i: simplejpeg_scaled(jpegs[i % count], 8), 2 * runs), strict=True)),
        **dict(zip(("fit512_jpeg_libvips", "fit512_jpeg_simplejpeg"), paired_cpu_ms(
            lambda i: fit512(jpegs[i % count], whole=False), lambda i: fit512(jpegs[i % count], whole=True),
            4 * runs), strict=True)),
        "webp_encode_800x600_libvips": cpu_ms(
            lambda i: fit800[i % count].webpsave_buffer(Q=79, effort=4, keep="none"), runs),
        "webp_encode_800x600_pillow": cpu_ms(pil_webp, runs),
        **smart_crops(folder, count),
    }


def smart_crops(folder: Path, count: int) -> dict[str, float]:
    from imgproxy_py.imaging.attention import attention_window
    from imgproxy_py.imaging.smart_crop import SmartCropMode, smart_window

    jpegs = [(folder / f"src{n:03d}.jpg").read_bytes() for n in range(count)]
    fill = [pyvips.Image.thumbnail_buffer(d, 300, height=225).copy_memory() for d in jpegs]

    def advanced(i: int, mode: SmartCropMode) -> object:
        img = fill[i % count]
        left, top = smart_window(img, 300, 200, mode)
        return img.crop(left, top, 300, 200).copy_memory()

    def attention(i: int) -> object:
        img = fill[i % count]
        return img.crop(*attention_window(img, 300, 200), 300, 200).copy_memory()

    def libvips_attention(i: int) -> object:
        return fill[i % count].smartcrop(300, 200, interesting="attention").copy_memory()

    runs = 6 * count
    return {
        **dict(zip(("smartcrop_300x225_libvips", "smartcrop_300x225_ours_attention"), paired_cpu_ms(
            libvips_attention, attention, runs), strict=True)),
        **dict(zip(("smartcrop_300x225_libvips_again", "smartcrop_300x225_advanced"), paired_cpu_ms(
            libvips_attention, lambda i: advanced(i, SmartCropMode.MAX_SCORE_AREA), runs), strict=True)),
        "smartcrop_300x225_advanced_center_of_mass": cpu_ms(lambda i: advanced(i, SmartCropMode.CENTER_OF_MASS), runs),
        "centre_crop_300x225_libvips": cpu_ms(
            lambda i: fill[i % count].smartcrop(300, 200, interesting="centre").copy_memory(), runs),
    }


def sharp_side(folder: Path, count: int) -> dict[str, object] | None:
    ipx_dir, node = BENCH_DIR / ".ipx", shutil.which("node")
    if node is None or not (ipx_dir / "node_modules" / "sharp").exists():
        return None
    done = subprocess.run([node, str(BENCH_DIR / "ipx" / "codec_costs.mjs"), str(ipx_dir), str(folder), str(count)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"sharp: {done.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=6, help="distinct 12 MP sources to go round (default 6)")
    parser.add_argument("--smart-crop", action="store_true", help="only the smart crops")
    args = parser.parse_args()
    pyvips.cache_set_max(0)
    pyvips.concurrency_set(1)
    folder = ensure_sources(max(args.sources, 3), png=not args.smart_crop)
    ours = smart_crops(folder, args.sources) if args.smart_crop else python_side(folder, args.sources)
    print(f"pyvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)} (the wheel's libvips), CPU ms per call:")
    for name, value in ours.items():
        print(f"  {name:42s} {value:7.1f}")
    peer = None if args.smart_crop else sharp_side(folder, args.sources)
    if peer is None:
        print("sharp: not installed (benchmarks/.ipx; run.py installs it)")
        return 0
    versions = peer.pop("versions")
    print(f"sharp {versions}, CPU ms per call:")
    for name, value in peer.items():
        print(f"  {name:42s} {value:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
