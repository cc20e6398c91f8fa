"""The ``ml`` autoquality model: predicts where an image's DSSIM-versus-quality curve meets a target.

For one image and format, log(DSSIM) is close to a straight line in ``x = log(101 - quality)``.
Per format, a network with one tanh hidden layer maps the inputs of
:mod:`imgproxy_py.optimize.features` (the DSSIM of a small sample at two reference qualities, and
the target) to two numbers: ``x*``, where the curve meets the target, and ``log(slope)``, the
curve's steepness d log(DSSIM) / dx there, used to correct the first guess after one
measurement.  ``models/tools/train_autoquality.py`` trains it; the weights are plain arrays in
``autoquality_ml.npz``, so only numpy is needed here.
"""

from __future__ import annotations

import logging
import math
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyvips

from imgproxy_py import resources
from imgproxy_py.optimize.features import INPUT_NAMES, PROBE_QUALITIES, model_inputs, sample_dssims

MODEL_FILE = "autoquality_ml.npz"
MODEL_VERSION = 1
# The models shipped with the package (in the wheel, or the checkout's models/).
BUNDLED_MODELS_DIR = resources.models_dir()

log = logging.getLogger("imgproxy_py.optimize")

FloatArray = npt.NDArray[np.float64]

NETWORK_FIELDS = ("mean", "scale", "hidden_weights", "hidden_bias", "output_weights", "output_bias",
                   "output_mean", "output_scale")


def quality_to_x(quality: float) -> float:
    return math.log(101.0 - quality)


def x_to_quality(x: float) -> float:
    return 101.0 - math.exp(x)


def find_model_path(models_dir: Path | None = None) -> Path | None:
    """The model file: in ``models_dir`` (IMGPROXY_MODELS_DIR) if given and present, else the bundled one."""
    candidates = [models_dir / MODEL_FILE] if models_dir is not None else []
    candidates.append(BUNDLED_MODELS_DIR / MODEL_FILE)
    return next((path for path in candidates if path.is_file()), None)


def default_model_path() -> Path | None:
    """The model for callers without a config (benchmarks, tools): the bundled one.

    The server passes the path its config found (IMGPROXY_MODELS_DIR first); nothing here reads
    the environment."""
    return find_model_path(None)


@dataclass(frozen=True)
class Prediction:
    quality: float  # where the curve is expected to meet the target (not rounded or clamped)
    slope: float  # d log(DSSIM) / dx there, always positive


@dataclass(frozen=True)
class FormatNetwork:
    mean: FloatArray
    scale: FloatArray
    hidden_weights: FloatArray
    hidden_bias: FloatArray
    output_weights: FloatArray
    output_bias: FloatArray
    output_mean: FloatArray
    output_scale: FloatArray

    def outputs(self, inputs: FloatArray) -> FloatArray:
        hidden = np.tanh(((inputs - self.mean) / self.scale) @ self.hidden_weights + self.hidden_bias)
        result: FloatArray = (hidden @ self.output_weights + self.output_bias) * self.output_scale \
            + self.output_mean
        return result


class QualityModel:
    def __init__(self, networks: dict[str, FormatNetwork]) -> None:
        self.networks = networks

    def supports(self, fmt: str) -> bool:
        return fmt in self.networks

    def predict(self, image: pyvips.Image, fmt: str, target: float) -> Prediction:
        return self.predict_from_inputs(model_inputs(sample_dssims(image, fmt), target), fmt)

    def predict_from_inputs(self, inputs: FloatArray, fmt: str) -> Prediction:
        x_star, log_slope = (float(v) for v in self.networks[fmt].outputs(inputs))
        # The network extrapolates freely; keep x where a quality exists and the slope sane.
        x_star = min(max(x_star, math.log(1.0)), math.log(100.0))
        slope = math.exp(min(max(log_slope, math.log(0.1)), math.log(20.0)))
        return Prediction(quality=x_to_quality(x_star), slope=slope)


def load_model(path: Path) -> QualityModel | None:
    """The model in ``path``, or None when it is missing, unreadable or made for other inputs."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    return _load_model_cached(str(path), stamp)


@lru_cache(maxsize=4)
def _load_model_cached(path: str, stamp: int) -> QualityModel | None:
    # ``stamp`` is part of the key so that a retrained file is picked up (and each problem is
    # logged once).
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != MODEL_VERSION:
                raise ValueError(f"model version {int(data['version'])}, expected {MODEL_VERSION}")
            if tuple(str(name) for name in data["input_names"]) != INPUT_NAMES:
                raise ValueError("the model was trained on other inputs")
            formats = [str(fmt) for fmt in data["formats"]]
            for fmt, probes in zip(formats, data["probe_qualities"], strict=True):
                if tuple(int(q) for q in probes) != PROBE_QUALITIES.get(fmt):
                    raise ValueError(f"the {fmt} model was trained with other reference qualities")
            networks = {
                fmt: FormatNetwork(*(np.asarray(data[f"{fmt}/{name}"], dtype=np.float64)
                                     for name in NETWORK_FIELDS))
                for fmt in formats
            }
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        log.warning("autoquality ml model %s is unusable (%s); the ml method works as dssim", path, exc)
        return None
    return QualityModel(networks)
