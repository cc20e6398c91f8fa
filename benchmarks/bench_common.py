"""Shared pieces of the benchmark scripts: where things live, the 12 MP test photo, the machine.

The paths of the benchmark folders, ``rel`` (a path as results print it), the test photo (a
mosaic of real photos, built once into ``work/images``) and ``machine_info`` (what a result file
records about the machine and the checked-out commit).  Server processes are in
``bench_servers``, the Python load generator in ``bench_load``.

Everything here is benchmark tooling; the project itself never imports it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
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


def log(msg: str) -> None:
    """Progress, on stderr: stdout carries the results."""
    print(msg, file=sys.stderr, flush=True)


def table_head(*columns: str) -> str:
    """A Markdown table's header line and its rule."""
    return "| " + " | ".join(columns) + " |\n" + "|---" * len(columns) + "|"


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


# --- the machine --------------------------------------------------------------------------

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


def add_load_arguments(parser: argparse.ArgumentParser, *, duration: float, warmup: float, smoke: str,
                       results: str) -> None:
    """The options every load script shares: sources, duration, warm-up, load generator,
    ``--smoke`` and the results file's name."""
    parser.add_argument("--sources", type=int, default=24, help="distinct 12 MP sources (default 24)")
    parser.add_argument("--duration", type=float, default=duration)
    parser.add_argument("--warmup", type=float, default=warmup)
    parser.add_argument("--python-load", action="store_true", help="the Python load generator, not wrk")
    parser.add_argument("--smoke", action="store_true", help=f"{smoke}: checks the script works")
    parser.add_argument("--name", default="", help=f"results file name (default {results}-<date>)")


def write_rows(name: str, rows: list[dict[str, object]]) -> Path:
    """``results/<name>.json``: the rows with the machine and commit they were measured on."""
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"{name}.json"
    out.write_text(json.dumps({"machine": machine_info(), "cpus": os.cpu_count(), "rows": rows}, indent=2))
    print(f"wrote {out}")
    return out


def save_results(benchmark: str, command: str, results: list[dict[str, object]], **params: object) -> Path:
    """``results/<benchmark>-<date>.json`` (``_`` written ``-``): the command that measured them,
    its parameters, the machine and the results."""
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"{benchmark.replace('_', '-')}-{dt.date.today().isoformat()}.json"
    out.write_text(json.dumps({"benchmark": benchmark, "command": command, **params, "machine": machine_info(),
                               "results": results}, indent=2) + "\n")
    return out
