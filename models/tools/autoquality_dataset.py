"""The training set of ``train_autoquality.py``: photos, their measured DSSIM curves, the labels.

The photos are crops and downscales (:func:`variants`) of real photos (:func:`training_sources`:
scikit-image's samples and, with a media folder, video frames and a phone photo); the sources in
:data:`HELD_OUT_SOURCES` are kept out for the benchmark (``benchmarks/autoquality.py``, which
builds its photos with the same functions).  Each photo is saved in each format on
:data:`QUALITY_GRID` and its DSSIM measured as the server measures it (:class:`Curve`, cached in
an ``.npz`` by ``--cache``); :func:`training_rows` turns the curves into the model's inputs and
the ``x*`` and slope labels where each curve crosses each of :data:`TRAIN_TARGETS`.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import sys
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyvips

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from imgproxy_py.optimize.dssim import DssimMeter  # noqa: E402
from imgproxy_py.optimize.features import PROBE_QUALITIES, model_inputs, reference_saver, sample_dssims  # noqa: E402
from imgproxy_py.optimize.ml import quality_to_x  # noqa: E402

FloatArray = npt.NDArray[np.float64]

SKIMAGE_TRAIN = (
    "astronaut", "camera", "coffee", "immunohistochemistry", "hubble_deep_field", "retina",
    "stereo_motorcycle", "brick", "grass", "gravel", "moon", "coins", "clock", "cell", "page", "text",
    "colorwheel", "logo",
)
# (file under the media folder, frame numbers) - video frames are real footage at web sizes.
MEDIA_VIDEO_TRAIN = (("video/bigbuckbunny.mp4", (20, 70, 120)), ("video/carphone_pristine.mp4", (10, 90)))
MEDIA_IMAGE_TRAIN = ("images/iptc.jpg",)

# Kept out of training; the benchmark measures on crops of these.
HELD_OUT_SOURCES = (
    "sklearn:china.jpg", "sklearn:flower.jpg", "skimage:chelsea", "skimage:rocket",
    "media:images/hopper.png", "media:video/bikes.mp4",
)

QUALITY_GRID = tuple(range(5, 100, 5))
# DSSIM targets the model is trained for (log-spaced); the server accepts any, these cover use.
TRAIN_TARGETS = tuple(float(t) for t in np.geomspace(0.004, 0.05, 10))
VARIANTS_PER_SOURCE = 6


# ----------------------------------------------------------------------------------------------
# Formats.


def available_formats() -> tuple[str, ...]:
    formats = ["jpeg", "webp"]
    if pyvips.type_find("VipsOperation", "heifsave_buffer") != 0:
        formats.append("avif")
    if pyvips.type_find("VipsOperation", "jxlsave_buffer") != 0:
        formats.append("jxl")
    return tuple(fmt for fmt in formats if fmt in PROBE_QUALITIES)


# ----------------------------------------------------------------------------------------------
# Photos.


def as_rgb_image(pixels: npt.NDArray[np.generic]) -> pyvips.Image:
    """An 8-bit sRGB image from a numpy array (grey, float and RGBA arrays included)."""
    array = np.asarray(pixels)
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        array = np.clip(np.asarray(array, dtype=np.float64) * 255.0, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.shape[2] == 4:
        # Web illustrations with alpha are usually shown on white.
        alpha = array[:, :, 3:4].astype(np.float64) / 255.0
        array = (array[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    return pyvips.Image.new_from_array(np.ascontiguousarray(array)).copy(interpretation="srgb")


def video_frames(path: Path, frames: Iterable[int]) -> dict[int, pyvips.Image]:
    import av  # the server's video thumbnail dependency

    wanted = set(frames)
    out: dict[int, pyvips.Image] = {}
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                out[index] = as_rgb_image(frame.to_ndarray(format="rgb24"))
            if len(out) == len(wanted):
                break
    return out


def training_sources(media_dir: Path | None) -> dict[str, pyvips.Image]:
    import skimage.data

    sources: dict[str, pyvips.Image] = {}
    for name in SKIMAGE_TRAIN:
        pixels = getattr(skimage.data, name)()
        if isinstance(pixels, tuple):  # stereo_motorcycle: (left, right, disparity)
            pixels = pixels[0]
        sources[f"skimage:{name}"] = as_rgb_image(pixels)
    if media_dir is not None:
        for relative, frames in MEDIA_VIDEO_TRAIN:
            for index, image in video_frames(media_dir / relative, frames).items():
                sources[f"media:{relative}#{index}"] = image
        for relative in MEDIA_IMAGE_TRAIN:
            sources[f"media:{relative}"] = pyvips.Image.new_from_file(str(media_dir / relative)).colourspace(
                "srgb")
    for name in sources:
        if source_family(name) in HELD_OUT_SOURCES:
            raise AssertionError(f"{name} is held out for the benchmark")
    return sources


def source_family(name: str) -> str:
    """``media:video/bikes.mp4#30`` -> ``media:video/bikes.mp4``."""
    return name.split("#", 1)[0]


def variants(name: str, image: pyvips.Image, count: int) -> list[tuple[str, pyvips.Image]]:
    """Web-sized copies of one photo: the whole photo, a half-size copy, then random crops."""
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    rng = np.random.default_rng(seed)
    longest = max(image.width, image.height)
    whole = image.resize(640 / longest) if longest > 640 else image
    out = [(f"{name}|whole", whole)]
    if min(whole.width, whole.height) >= 256:
        out.append((f"{name}|half", whole.resize(0.5)))
    while len(out) < count:
        scale = float(rng.choice([1.0, 0.75, 0.5]))
        scaled = image.resize(scale) if scale != 1.0 else image
        width = int(rng.integers(128, 449))
        height = int(rng.integers(128, 449))
        width, height = min(width, scaled.width), min(height, scaled.height)
        left = int(rng.integers(0, scaled.width - width + 1))
        top = int(rng.integers(0, scaled.height - height + 1))
        out.append((f"{name}|crop{len(out)}@{scale:g}", scaled.crop(left, top, width, height)))
    return out


# ----------------------------------------------------------------------------------------------
# Measurements.


@dataclass(frozen=True)
class Curve:
    name: str
    fmt: str
    sample: tuple[float, float]  # the model's image inputs, features.sample_dssims
    qualities: tuple[int, ...]
    dssim: FloatArray
    sizes: FloatArray


def measure_curve(name: str, image: pyvips.Image, fmt: str) -> Curve:
    image = image.copy_memory()
    meter = DssimMeter(image)
    save = reference_saver(fmt)
    saved = [save(image, q) for q in QUALITY_GRID]
    values = np.array([meter.measure(data) for data in saved])
    sizes = np.array([float(len(data)) for data in saved])
    return Curve(name, fmt, sample_dssims(image, fmt), QUALITY_GRID, values, sizes)


def _measure_job(job: tuple[str, bytes, int, int, str]) -> Curve:
    name, data, width, height, fmt = job
    image = pyvips.Image.new_from_memory(data, width, height, 3, "uchar").copy(interpretation="srgb")
    return measure_curve(name, image, fmt)


def measure_all(images: list[tuple[str, pyvips.Image]], formats: Iterable[str], jobs: int) -> list[Curve]:
    work: list[tuple[str, bytes, int, int, str]] = []
    for fmt in formats:
        for name, image in images:
            rgb = image.extract_band(0, n=3).cast("uchar").copy_memory()
            work.append((name, bytes(rgb.write_to_memory()), rgb.width, rgb.height, fmt))
    if jobs <= 1:
        return [_measure_job(job) for job in work]
    # libvips' threads do not survive fork(): start clean interpreters.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_measure_job, work, chunksize=4))


def save_cache(path: Path, curves: list[Curve]) -> None:
    np.savez_compressed(
        path,
        names=np.array([c.name for c in curves]),
        formats=np.array([c.fmt for c in curves]),
        samples=np.array([c.sample for c in curves]),
        qualities=np.array([c.qualities for c in curves]),
        dssim=np.stack([c.dssim for c in curves]),
        sizes=np.stack([c.sizes for c in curves]),
        probe_qualities=np.array([PROBE_QUALITIES[c.fmt] for c in curves]),
    )


def load_cache(path: Path) -> list[Curve]:
    with np.load(path) as data:
        curves = [
            Curve(str(name), str(fmt), (float(sample[0]), float(sample[1])),
                  tuple(int(q) for q in qualities), values, sizes)
            for name, fmt, sample, qualities, values, sizes in zip(
                data["names"], data["formats"], data["samples"], data["qualities"], data["dssim"],
                data["sizes"], strict=True)
        ]
        for curve, probes in zip(curves, data["probe_qualities"], strict=True):
            if tuple(int(q) for q in probes) != PROBE_QUALITIES[curve.fmt]:
                raise ValueError("the cache was made with other reference qualities; delete it")
    return curves


# ----------------------------------------------------------------------------------------------
# Labels: where each curve crosses each target.


def crossing(qualities: tuple[int, ...], dssim: FloatArray, target: float) -> tuple[float, float] | None:
    """(x*, slope) where DSSIM first falls to ``target`` going up in quality, or None if out of range.

    ``x = log(101 - q)``; the slope is d log(DSSIM) / dx between the two grid points around the
    crossing (positive: DSSIM falls as quality rises, and x falls too).
    """
    xs = np.array([quality_to_x(q) for q in qualities])
    logs = np.log(np.maximum(dssim, 1e-9))
    log_target = math.log(target)
    if logs[0] <= log_target:
        return None
    for i in range(1, len(qualities)):
        if logs[i] <= log_target:
            span = logs[i] - logs[i - 1]
            fraction = (log_target - logs[i - 1]) / span if span else 1.0
            x_star = xs[i - 1] + fraction * (xs[i] - xs[i - 1])
            slope = span / (xs[i] - xs[i - 1])
            return float(x_star), float(slope)
    return None


def training_rows(curves: list[Curve]) -> tuple[FloatArray, FloatArray, FloatArray, list[str]]:
    """Inputs, x* and slope labels, and each row's source."""
    inputs: list[FloatArray] = []
    x_labels: list[float] = []
    slope_labels: list[float] = []
    groups: list[str] = []
    for curve in curves:
        for target in TRAIN_TARGETS:
            found = crossing(curve.qualities, curve.dssim, target)
            if found is None:
                continue
            inputs.append(model_inputs(curve.sample, target))
            x_labels.append(found[0])
            slope_labels.append(found[1])
            groups.append(source_family(curve.name.split("|", 1)[0]))
    return np.array(inputs), np.array(x_labels), np.array(slope_labels), groups
