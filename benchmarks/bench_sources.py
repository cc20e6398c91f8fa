"""Many distinct 12 MP sources for the benchmarks, so that no per-source cache answers for them.

``ensure_sources(24)`` writes ``work/sources/src000.jpg`` ... ``src023.jpg``: each a different 3x2
mosaic of the real photos of ``bench_common`` (another arrangement of the six photos, each cell
flipped or not and cropped from a different window of its upscale) with its own sensor-like
grain, saved as a camera would (JPEG q88-q91, 4:2:0).  So every source decodes like a camera
photo and has different pixels.  ``png=True`` adds the PNG twins (``src000.png`` ...).

``ensure_byte_variants(count)`` gives ``count`` JPEGs with distinct bytes (``var0000.jpg`` ...):
the 24 sources in turn, each with a JPEG comment segment naming its number.  Same pixels and
decode cost, but a different digest: imgproxy_py keys its per-source detection cache by the
source's digest, so a face-gravity load over more variants than that cache holds runs the
detector on every request, as a site with many photos would.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path

from bench_common import SOURCE_HEIGHT, SOURCE_WIDTH, WORK_DIR, _sample_photos, rel

SOURCES_DIR = WORK_DIR / "sources"
SOURCES_VERSION = 1  # bump when the recipe changes, so that cached files are rebuilt


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _mosaic(n: int, photos: list[object]) -> object:
    """Source ``n``: its own arrangement, flips, crop windows and grain of the six photos."""
    import numpy as np
    import pyvips

    rng = np.random.default_rng(1000 + n)
    cols, rows = 3, 2
    order = rng.permutation(len(photos))
    canvas = pyvips.Image.black(SOURCE_WIDTH, SOURCE_HEIGHT, bands=3)
    for slot, index in enumerate(order):
        c, r = slot % cols, slot // cols
        x0, x1 = c * SOURCE_WIDTH // cols, (c + 1) * SOURCE_WIDTH // cols
        y0, y1 = r * SOURCE_HEIGHT // rows, (r + 1) * SOURCE_HEIGHT // rows
        width, height = x1 - x0, y1 - y0
        img = photos[index]
        assert isinstance(img, pyvips.Image)
        if rng.random() < 0.5:
            img = img.fliphor()
        # Cover the cell, zoomed 0-25% more than needed, and take a random window of that.
        scale = max(width / img.width, height / img.height) * (1.0 + 0.25 * rng.random())
        big = img.resize(scale, kernel="lanczos3")
        left = int(rng.integers(0, big.width - width + 1))
        top = int(rng.integers(0, big.height - height + 1))
        canvas = canvas.insert(big.crop(left, top, width, height), x0, y0)
    # Luma grain (the same on the three bands) and a little chroma grain, as a sensor gives.
    luma = pyvips.Image.gaussnoise(SOURCE_WIDTH, SOURCE_HEIGHT, sigma=3.0, mean=0.0, seed=2 * n + 1)
    chroma = pyvips.Image.gaussnoise(SOURCE_WIDTH, SOURCE_HEIGHT, sigma=1.5, mean=0.0, seed=2 * n + 2)
    noisy = canvas.cast("float") + luma.bandjoin([luma, luma]) + chroma.bandjoin([chroma, chroma])
    return (noisy + 0.5).cast("uchar").copy(interpretation="srgb")


@lru_cache(maxsize=1)
def _photos() -> list[object]:
    import pyvips

    return [pyvips.Image.new_from_array(p, interpretation="srgb") for p in _sample_photos()]


def _build(folder: Path, name: str, png: bool) -> None:
    """Source ``name``'s JPEG (and PNG twin when ``png``), each written whole or not at all."""
    import pyvips

    n = int(name[3:])
    img = _mosaic(n, _photos())
    assert isinstance(img, pyvips.Image)
    img = img.copy_memory()  # computed once for both files
    jpg, png_path = folder / f"{name}.jpg", folder / f"{name}.png"
    if not jpg.exists():
        img.jpegsave(str(jpg) + ".tmp.jpg", Q=88 + n % 4, optimize_coding=True, subsample_mode="on")
        Path(str(jpg) + ".tmp.jpg").rename(jpg)
    if png and not png_path.exists():
        img.pngsave(str(png_path) + ".tmp.png", compression=6)
        Path(str(png_path) + ".tmp.png").rename(png_path)


def source_names(count: int) -> list[str]:
    return [f"src{n:03d}" for n in range(count)]


def ensure_sources(count: int = 24, *, png: bool = False, folder: Path = SOURCES_DIR) -> Path:
    """``count`` distinct 12 MP JPEGs (and their PNG twins when ``png``) in ``folder``; built once."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / f".version-{SOURCES_VERSION}"
    if not stamp.exists():
        for old in folder.glob("src*.*"):
            old.unlink()
        stamp.write_text("ok\n")
    wanted = [(name, ext) for name in source_names(count) for ext in (("jpg", "png") if png else ("jpg",))]
    missing = [(name, ext) for name, ext in wanted if not (folder / f"{name}.{ext}").exists()]
    if not missing:
        return folder
    _log(f"building {len(missing)} source files in {rel(folder)} ...")
    jobs = [(folder, name, png) for name in sorted({name for name, _ in missing})]
    if len(jobs) == 1:
        _build(*jobs[0])
        return folder
    # One process per CPU (a 12 MP mosaic is seconds of work); spawned, since a forked child of a
    # process that has started libvips' threads can hang.
    workers = min(len(jobs), os.cpu_count() or 1)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_build, *zip(*jobs, strict=True)))
    return folder


def with_comment(jpeg: bytes, text: str) -> bytes:
    """The same JPEG with a COM segment after SOI: other bytes, the same pixels."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    payload = text.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def variant_names(count: int) -> list[str]:
    return [f"var{k:04d}" for k in range(count)]


def ensure_byte_variants(count: int, base_count: int = 24, folder: Path = SOURCES_DIR) -> Path:
    """``count`` JPEGs with distinct bytes (``var0000.jpg`` ...) made from the ``base_count`` sources."""
    ensure_sources(base_count, folder=folder)
    bases = [(folder / f"{name}.jpg").read_bytes() for name in source_names(base_count)]
    for k, name in enumerate(variant_names(count)):
        path = folder / f"{name}.jpg"
        if not path.exists():
            path.write_bytes(with_comment(bases[k % base_count], f"benchmark variant {k}"))
    return folder


def detection_cache_entries() -> int:
    """How many sources imgproxy_py's per-source detection cache holds (its constructor's default)."""
    import inspect

    from imgproxy_py.imaging.objects import ObjectDetection

    default = inspect.signature(ObjectDetection.__init__).parameters["cache_entries"].default
    return int(default)


def face_variant_count() -> int:
    """Byte-distinct variants for a face-gravity load: more than the detection cache holds, so that
    every request runs the detector."""
    return detection_cache_entries() + 88
