"""Train the ``ml`` autoquality model, ``models/autoquality_ml.npz``.

For every training photo (crops and downscales of real photos, see :func:`training_sources`) and
every lossy format libvips can save here, the DSSIM of the saved-then-decoded image is measured
on a grid of qualities, with the definition the server uses (``imgproxy_py.optimize.dssim``).
Between grid points log(DSSIM) is close to linear in ``x = log(101 - quality)``, so for each
target DSSIM the crossing ``x*`` and the local slope ``d log(DSSIM) / dx`` follow by
interpolation.  A small network (one tanh hidden layer) per format then learns ``x*`` and the
slope from the inputs of :mod:`imgproxy_py.optimize.features` (the DSSIM of a small sample of the
photo at two reference qualities, and the target); its weights are written as plain numpy
arrays, so the server needs numpy only.

Photos from the sources in :data:`HELD_OUT_SOURCES` are never used here: the benchmark
(``benchmarks/autoquality.py``) measures the model on them.

Usage (from the repository root; scikit-learn is needed for training only)::

    python models/tools/train_autoquality.py [--media-dir DIR] [--cache FILE] [--jobs N] [--cross-validate]

``--media-dir`` is an optional folder with the test media (video/ and images/ subfolders): it
adds video frames and a phone photo to the training set.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyvips

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from imgproxy_py.optimize.autoquality import search_ml  # noqa: E402
from imgproxy_py.optimize.config import AutoQualitySpec  # noqa: E402
from imgproxy_py.optimize.dssim import DssimMeter  # noqa: E402
from imgproxy_py.optimize.features import (  # noqa: E402
    INPUT_NAMES,
    PROBE_QUALITIES,
    model_inputs,
    reference_saver,
    sample_dssims,
)
from imgproxy_py.optimize.ml import (  # noqa: E402
    MODEL_FILE,
    MODEL_VERSION,
    NETWORK_FIELDS,
    FormatNetwork,
    QualityModel,
    quality_to_x,
    x_to_quality,
)

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
HIDDEN_UNITS = 8


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


# ----------------------------------------------------------------------------------------------
# The model: standardise, one tanh hidden layer, two linear outputs (x*, log slope).


def fit_network(inputs: FloatArray, labels: FloatArray, seed: int = 0) -> FormatNetwork:
    from sklearn.neural_network import MLPRegressor

    mean = inputs.mean(axis=0)
    scale = inputs.std(axis=0)
    scale[scale < 1e-9] = 1.0
    output_mean = labels.mean(axis=0)
    output_scale = labels.std(axis=0)
    output_scale[output_scale < 1e-9] = 1.0
    model = MLPRegressor(
        hidden_layer_sizes=(HIDDEN_UNITS,), activation="tanh", solver="lbfgs", alpha=1e-2,
        max_iter=5000, random_state=seed, tol=1e-7,
    )
    model.fit((inputs - mean) / scale, (labels - output_mean) / output_scale)
    return FormatNetwork(
        mean=mean, scale=scale,
        hidden_weights=model.coefs_[0], hidden_bias=model.intercepts_[0],
        output_weights=model.coefs_[1], output_bias=model.intercepts_[1],
        output_mean=output_mean, output_scale=output_scale,
    )


def labels_of(x_labels: FloatArray, slope_labels: FloatArray) -> FloatArray:
    # A flat stretch of a curve has a tiny slope; its log would dominate the fit.
    return np.column_stack([x_labels, np.log(np.maximum(slope_labels, 0.05))])


def fit_format(curves: list[Curve]) -> tuple[FormatNetwork, int]:
    inputs, x_labels, slope_labels, _ = training_rows(curves)
    return fit_network(inputs, labels_of(x_labels, slope_labels)), len(inputs)


def curve_dssim(curve: Curve) -> Callable[[int], float]:
    """DSSIM at any quality, interpolated between the measured grid points in (x, log DSSIM)."""
    xs = np.array([quality_to_x(q) for q in curve.qualities])
    logs = np.log(np.maximum(curve.dssim, 1e-9))
    order = np.argsort(xs)
    return lambda q: float(np.exp(np.interp(quality_to_x(q), xs[order], logs[order])))


def cross_validate(curves: list[Curve], folds: int = 6) -> dict[str, float]:
    """The ml search simulated on the measured curves of sources left out of training.

    Sources are split into folds (all photos of one source in one fold); for each fold the model
    is trained on the others and searched with on its photos at targets 0.01, 0.02 and 0.03,
    qualities 10-95, allowed error 0.002 (only where the target is reachable in that range).
    """
    families = sorted({source_family(c.name.split("|", 1)[0]) for c in curves})
    fold_of = {family: i % folds for i, family in enumerate(families)}
    first_errors: list[float] = []
    saves: list[int] = []
    landed: list[bool] = []
    for fold in range(folds):
        held = [c for c in curves if fold_of[source_family(c.name.split("|", 1)[0])] == fold]
        train = [c for c in curves if fold_of[source_family(c.name.split("|", 1)[0])] != fold]
        if not held or not train:
            continue
        network, _ = fit_format(train)
        model = QualityModel({"any": network})
        for curve in held:
            dssim_at = curve_dssim(curve)
            for target in (0.01, 0.02, 0.03):
                spec = AutoQualitySpec("ml", target, 10, 95, 0.002)
                if dssim_at(95) > target + 0.002 or dssim_at(10) < target - 0.002:
                    continue
                prediction = model.predict_from_inputs(model_inputs(curve.sample, target), "any")
                measured: dict[int, float] = {}

                def measure(q: int, dssim_at: Callable[[int], float] = dssim_at,
                            measured: dict[int, float] = measured) -> float:
                    measured[q] = dssim_at(q)
                    return measured[q]

                quality = search_ml(measure, spec, prediction, fmt=curve.fmt)
                truth = crossing(curve.qualities, curve.dssim, target)
                if truth is not None:
                    first_errors.append(abs(prediction.quality - x_to_quality(truth[0])))
                saves.append(len(measured))
                landed.append(abs(dssim_at(quality) - target) <= spec.allowed_error)
    return {
        "first_guess_mean_abs_quality_error": round(float(np.mean(first_errors)), 2),
        "mean_saves": round(float(np.mean(saves)), 2),
        "landed_share": round(float(np.mean(landed)), 3),
        "cases": len(saves),
    }


def typical_curve(curves: list[Curve]) -> dict[str, float]:
    """Medians for autoquality.TYPICAL_DSSIM_CURVES and TYPICAL_SIZE_SLOPE (the dssim search's start)."""
    inputs, x_labels, slope_labels, _ = training_rows(curves)
    slope = float(np.median(slope_labels))
    intercept = float(np.median(inputs[:, INPUT_NAMES.index("log_target")] - slope * x_labels))
    xs = np.array([quality_to_x(q) for q in QUALITY_GRID])
    size_slopes = [float(np.polyfit(xs, np.log(c.sizes), 1)[0]) for c in curves]
    return {"dssim_intercept": round(intercept, 2), "dssim_slope": round(slope, 2),
            "size_slope": round(float(np.median(size_slopes)), 2)}


def save_model(path: Path, networks: dict[str, FormatNetwork], sources: list[str]) -> None:
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "version": np.array(MODEL_VERSION),
        "input_names": np.array(INPUT_NAMES),
        "formats": np.array(sorted(networks)),
        "probe_qualities": np.array([PROBE_QUALITIES[fmt] for fmt in sorted(networks)]),
        "train_sources": np.array(sorted(sources)),
    }
    for fmt, network in networks.items():
        for field_name in NETWORK_FIELDS:
            arrays[f"{fmt}/{field_name}"] = np.asarray(getattr(network, field_name), dtype=np.float32)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=None, help="measurements file, reused when present")
    parser.add_argument("--out", type=Path, default=REPO / "models" / MODEL_FILE)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--formats", default=",".join(available_formats()))
    parser.add_argument("--cross-validate", action="store_true")
    args = parser.parse_args(argv)
    formats = [fmt for fmt in args.formats.split(",") if fmt]

    started = time.monotonic()
    sources = training_sources(args.media_dir)
    if args.cache is not None and args.cache.exists():
        curves = load_cache(args.cache)
        print(f"loaded {len(curves)} curves from {args.cache}")
    else:
        images = [v for name, image in sources.items() for v in variants(name, image, VARIANTS_PER_SOURCE)]
        print(f"{len(sources)} sources, {len(images)} photos; measuring {', '.join(formats)}")
        curves = measure_all(images, formats, args.jobs)
        if args.cache is not None:
            save_cache(args.cache, curves)
        print(f"measured in {time.monotonic() - started:.0f} s")

    networks: dict[str, FormatNetwork] = {}
    for fmt in formats:
        fmt_curves = [c for c in curves if c.fmt == fmt]
        if not fmt_curves:
            continue
        print(fmt, "typical curve:", typical_curve(fmt_curves))
        if args.cross_validate:
            print(fmt, "cross-validation:", cross_validate(fmt_curves))
        networks[fmt], rows = fit_format(fmt_curves)
        print(f"{fmt}: {len(fmt_curves)} photos, {rows} rows")
    save_model(args.out, networks, sorted({source_family(name) for name in sources}))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
