"""Train the ``ml`` autoquality model, ``models/autoquality_ml.npz``.

For every training photo (crops and downscales of real photos, see
:func:`autoquality_dataset.training_sources`) and every lossy format libvips can save here, the
DSSIM of the saved-then-decoded image is measured on a grid of qualities, with the definition the
server uses (``imgproxy_py.optimize.dssim``; the photos, the measurements and the labels are in
``autoquality_dataset.py``, next to this script).  Between grid points log(DSSIM) is close to
linear in ``x = log(101 - quality)``, so for each target DSSIM the crossing ``x*`` and the local
slope ``d log(DSSIM) / dx`` follow by interpolation.  A small network (one tanh hidden layer) per
format then learns ``x*`` and the slope from the inputs of :mod:`imgproxy_py.optimize.features`
(the DSSIM of a small sample of the photo at two reference qualities, and the target); its
weights are written as plain numpy arrays, so the server needs numpy only.

Photos from the sources in :data:`autoquality_dataset.HELD_OUT_SOURCES` are never used here:
the benchmark (``benchmarks/autoquality.py``) measures the model on them.

Usage (from the repository root; scikit-learn is needed for training only)::

    python models/tools/train_autoquality.py [--media-dir DIR] [--cache FILE] [--jobs N] [--cross-validate]

``--media-dir`` is an optional folder with the test media (video/ and images/ subfolders): it
adds video frames and a phone photo to the training set.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[2]
TOOLS = Path(__file__).resolve().parent
for _path in (REPO, TOOLS):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from autoquality_dataset import (  # noqa: E402
    QUALITY_GRID,
    VARIANTS_PER_SOURCE,
    Curve,
    FloatArray,
    available_formats,
    crossing,
    load_cache,
    measure_all,
    save_cache,
    source_family,
    training_rows,
    training_sources,
    variants,
)

from imgproxy_py.optimize.autoquality import search_ml  # noqa: E402
from imgproxy_py.optimize.config import AutoQualitySpec  # noqa: E402
from imgproxy_py.optimize.features import INPUT_NAMES, PROBE_QUALITIES, model_inputs  # noqa: E402
from imgproxy_py.optimize.ml import (  # noqa: E402
    MODEL_FILE,
    MODEL_VERSION,
    NETWORK_FIELDS,
    FormatNetwork,
    QualityModel,
    quality_to_x,
    x_to_quality,
)

HIDDEN_UNITS = 8


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
