"""Autoquality on photos the ml model never saw: saves per image, landing share, bytes.

The photos are crops and downscales (``autoquality_dataset.variants``) of the sources the training
script holds out: scikit-learn's china and flower, scikit-image's chelsea and rocket, and with
``--media-dir`` also frames of bikes.mp4 and hopper.png from the test media.  For each format
and method the image is saved through ``encode_with_quality_control`` with a plain libvips saver
(imgproxy's default settings) and compared with a fixed quality of 80.

"Landed" means the result's DSSIM is within target +- allowed error.  With the wide quality range
(10-95, the default here) every photo can land; with imgproxy's default range (70-80,
``--range 70:80``) many photos cannot, and the result is then the nearest end of the range.
"Missed" counts results that neither landed nor sit at an end of the range.  Timings include the
DSSIM measurements and, for ml, the sample saves; they depend on the machine's load.

Usage (from the repository root)::

    python benchmarks/autoquality.py [--media-dir DIR] [--formats jpeg,webp] [--range 10:95]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pyvips
from bench_common import table_head

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from imgproxy_py.optimize import AutoQualitySpec, encode_with_quality_control  # noqa: E402
from imgproxy_py.optimize.dssim import DssimMeter  # noqa: E402
from imgproxy_py.optimize.features import reference_saver  # noqa: E402
from imgproxy_py.optimize.ml import find_model_path  # noqa: E402

FIXED_QUALITY = 80


def load_training_dataset() -> ModuleType:
    path = REPO / "models" / "tools" / "autoquality_dataset.py"
    spec = importlib.util.spec_from_file_location("autoquality_dataset", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def held_out_photos(training: ModuleType, media_dir: Path | None) -> list[tuple[str, pyvips.Image]]:
    import skimage.data
    from sklearn.datasets import load_sample_images

    sources: dict[str, pyvips.Image] = {}
    china, flower = load_sample_images().images
    sources["sklearn:china.jpg"] = training.as_rgb_image(china)
    sources["sklearn:flower.jpg"] = training.as_rgb_image(flower)
    sources["skimage:chelsea"] = training.as_rgb_image(skimage.data.chelsea())
    sources["skimage:rocket"] = training.as_rgb_image(skimage.data.rocket())
    if media_dir is not None:
        sources["media:images/hopper.png"] = pyvips.Image.new_from_file(
            str(media_dir / "images" / "hopper.png")).colourspace("srgb")
        for index, frame in training.video_frames(media_dir / "video" / "bikes.mp4", (30, 120, 220)).items():
            sources[f"media:video/bikes.mp4#{index}"] = frame
    for name in sources:
        if training.source_family(name) not in training.HELD_OUT_SOURCES:
            raise AssertionError(f"{name} is not a held-out source")
    photos: dict[str, pyvips.Image] = {}
    for name, image in sources.items():
        count = 2 if name.startswith("media:") else training.VARIANTS_PER_SOURCE
        for variant_name, variant in training.variants(name, image, count):
            photos.setdefault(f"{variant_name} {variant.width}x{variant.height}", variant.copy_memory())
    return sorted(photos.items())


def check_model_never_saw(photos: list[tuple[str, pyvips.Image]], training: ModuleType) -> None:
    import numpy as np

    path = find_model_path()
    if path is None:
        print("no ml model: the ml rows show the dssim fallback")
        return
    with np.load(path) as model:
        trained_on = {str(name) for name in model["train_sources"]}
    for name, _ in photos:
        family = training.source_family(name.split("|", 1)[0])
        if family in trained_on:
            raise AssertionError(f"{family} was used to train {path.name}")


@dataclass
class Row:
    saves: list[int]
    landed: list[bool]
    clamped: list[bool]
    total_bytes: int
    seconds: float


def measure(photos: list[tuple[str, pyvips.Image]], fmt: str, spec: AutoQualitySpec | None) -> Row:
    save = reference_saver(fmt)
    row = Row([], [], [], 0, 0.0)
    for _, image in photos:
        started = time.perf_counter()
        result = encode_with_quality_control(
            image, fmt, save, quality=FIXED_QUALITY, autoquality=spec, max_bytes=0, max_resolution=0)
        row.seconds += time.perf_counter() - started
        row.saves.append(result.encodes)
        row.total_bytes += len(result.data)
        if spec is not None:
            dssim = result.dssim if result.dssim is not None else DssimMeter(image).measure(result.data)
            row.landed.append(abs(dssim - spec.target) <= spec.allowed_error)
            row.clamped.append(result.quality in (spec.min_quality, spec.max_quality))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", type=Path, default=None)
    parser.add_argument("--formats", default="jpeg,webp")
    parser.add_argument("--range", default="10:95", help="min:max quality")
    parser.add_argument("--target", type=float, default=0.02)
    parser.add_argument("--allowed-error", type=float, default=0.002)
    args = parser.parse_args(argv)
    low, high = (int(part) for part in args.range.split(":"))

    training = load_training_dataset()
    photos = held_out_photos(training, args.media_dir)
    check_model_never_saw(photos, training)
    print(f"{len(photos)} held-out photos, {min(p.width for _, p in photos)}-"
          f"{max(p.width for _, p in photos)} px wide; target {args.target}, "
          f"allowed error {args.allowed_error}, qualities {low}-{high}\n")
    print(table_head("format", "method", "saves/image (mean, max)", "landed", "at range end", "missed",
                     "bytes vs q80", "ms/image"))
    for fmt in [f for f in args.formats.split(",") if f]:
        fixed = measure(photos, fmt, None)
        print(f"| {fmt} | fixed q{FIXED_QUALITY} | 1 | - | - | - | {fixed.total_bytes:,} B | "
              f"{1000 * fixed.seconds / len(photos):.0f} |")
        for method in ("dssim", "ml"):
            spec = AutoQualitySpec(method, args.target, low, high, args.allowed_error)
            row = measure(photos, fmt, spec)
            print(f"| {fmt} | {method} | {statistics.mean(row.saves):.2f}, {max(row.saves)} | "
                  f"{sum(row.landed)}/{len(row.landed)} ({100 * statistics.mean(row.landed):.0f} %) | "
                  f"{sum(row.clamped)} | "
                  f"{sum(not (landed or clamped) for landed, clamped in zip(row.landed, row.clamped, strict=True))} | "
                  f"{100 * row.total_bytes / fixed.total_bytes:.1f} % | "
                  f"{1000 * row.seconds / len(photos):.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
