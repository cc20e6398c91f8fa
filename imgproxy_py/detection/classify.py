"""Image classification for ``/info``'s ``classify``: the user's ONNX model and class names file.

imgproxy Pro's settings (``IMGPROXY_CLASSIFICATION_*``): the model takes one square RGB image of
``NET_SIZE`` pixels in the given layout and normalisation, and gives one score per class (a
softmax is applied when the scores are logits, i.e. not all within 0-1).  Classes scoring below the
threshold are dropped; the best ``top_k`` are answered.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyvips

from imgproxy_py.detection.config import cpu_pinning, execution_mode, inference_streams
from imgproxy_py.detection.preprocess import resize_exact, to_array, to_srgb_uchar
from imgproxy_py.detection.sessions import MlSlots, onnxruntime_available, open_session
from imgproxy_py.envreader import EnvReader
from imgproxy_py.errors import UnprocessableImageError

NORMALIZATIONS = ("none", "half", "full", "imagenet")
LAYOUTS = ("nhwc", "nchw")
_IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass(frozen=True)
class ClassificationConfig:
    model: Path | None = None  # IMGPROXY_CLASSIFICATION_NET
    classes: tuple[str, ...] = ()  # IMGPROXY_CLASSIFICATION_CLASSES, one name a line
    net_size: int = 224
    threshold: float = 0.5
    normalization: str = "none"
    layout: str = "nhwc"
    threads: int = 1  # IMGPROXY_CLASSIFICATION_INFERENCE_NUM_THREADS
    accurate: bool = False  # IMGPROXY_CLASSIFICATION_EXECUTION_MODE=accuracy
    pinned: bool = False  # IMGPROXY_CLASSIFICATION_CPU_PINNING, else IMGPROXY_ML_CPU_PINNING
    streams: int = 0  # IMGPROXY_CLASSIFICATION_INFERENCE_NUM_STREAMS (0: no limit of its own)

    @property
    def enabled(self) -> bool:
        return self.model is not None

    @staticmethod
    def from_env(r: EnvReader) -> ClassificationConfig:
        model: Path | None = None
        if r.has("IMGPROXY_CLASSIFICATION_NET"):
            model = r.path("IMGPROXY_CLASSIFICATION_NET")
            if not model.is_file():
                r.errors.append(f"IMGPROXY_CLASSIFICATION_NET: {str(model)!r} is not a readable file")
                model = None
            elif not onnxruntime_available():
                r.errors.append("IMGPROXY_CLASSIFICATION_NET: onnxruntime is not installed (the cpu or gpu extra)")
                model = None
        return ClassificationConfig(
            model=model,
            classes=_class_names(r),
            net_size=r.integer("IMGPROXY_CLASSIFICATION_NET_SIZE", 224, minimum=1, maximum=4096),
            threshold=r.number("IMGPROXY_CLASSIFICATION_THRESHOLD", 0.5, minimum=0, maximum=1),
            normalization=r.choice("IMGPROXY_CLASSIFICATION_NORMALIZATION", "none", NORMALIZATIONS),
            layout=r.choice("IMGPROXY_CLASSIFICATION_LAYOUT", "nhwc", LAYOUTS),
            threads=r.integer("IMGPROXY_CLASSIFICATION_INFERENCE_NUM_THREADS",
                              r.integer("IMGPROXY_ML_INFERENCE_NUM_THREADS", 1, minimum=1), minimum=1),
            accurate=execution_mode(r, "IMGPROXY_CLASSIFICATION_EXECUTION_MODE") == "accuracy",
            pinned=cpu_pinning(r, "IMGPROXY_CLASSIFICATION_CPU_PINNING"),
            streams=inference_streams(r, "IMGPROXY_CLASSIFICATION_INFERENCE_NUM_STREAMS"),
        )


def _class_names(r: EnvReader) -> tuple[str, ...]:
    name = "IMGPROXY_CLASSIFICATION_CLASSES"
    if not r.has(name):
        return ()
    path = r.path(name)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        r.errors.append(f"{name}: cannot read {str(path)!r}: {exc.strerror}")
        return ()
    return tuple(line.strip() for line in lines if line.strip())


@dataclass(frozen=True)
class Classification:
    class_id: int
    name: str
    confidence: float


class Classifier:
    """The classification model, opened on first use (a server that never classifies pays nothing)."""

    def __init__(self, config: ClassificationConfig, slots: MlSlots | None = None) -> None:
        self.config = config
        self._slots = slots
        self._session: Any = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        with self._lock:
            if self._session is None:
                assert self.config.model is not None
                try:
                    self._session = open_session(self.config.model, threads=self.config.threads, providers=None,
                                                 accurate=self.config.accurate, streams=self.config.streams,
                                                 pinned=self.config.pinned, slots=self._slots)
                except RuntimeError as exc:
                    raise UnprocessableImageError(f"classification model: {exc}") from exc
            return self._session

    def input_tensor(self, image: pyvips.Image) -> np.ndarray[Any, np.dtype[np.float32]]:
        size = self.config.net_size
        pixels = to_array(resize_exact(to_srgb_uchar(image), size, size)).astype(np.float32)
        if self.config.normalization == "half":
            pixels /= 255.0
        elif self.config.normalization == "full":
            pixels = pixels / 127.5 - 1.0
        elif self.config.normalization == "imagenet":
            pixels = (pixels / 255.0 - _IMAGENET_MEAN) / _IMAGENET_STD
        if self.config.layout == "nchw":
            pixels = pixels.transpose(2, 0, 1)
        return np.ascontiguousarray(pixels[np.newaxis], dtype=np.float32)

    def classify(self, image: pyvips.Image, top_k: int, only: Sequence[str] = ()) -> list[Classification]:
        session = self._open()
        name = session.get_inputs()[0].name
        try:
            scores = np.asarray(session.run(None, {name: self.input_tensor(image)})[0], dtype=np.float64).ravel()
        except Exception as exc:  # onnxruntime's own exception types
            raise UnprocessableImageError(f"classification failed: {exc}") from exc
        if scores.size and (scores.min() < 0 or scores.max() > 1):
            shifted = np.exp(scores - scores.max())  # logits: made probabilities
            scores = shifted / shifted.sum()
        names = self.config.classes
        wanted = set(only)
        found = [Classification(i, names[i] if i < len(names) else str(i), float(score))
                 for i, score in enumerate(scores) if score >= self.config.threshold]
        if wanted:
            found = [c for c in found if c.name in wanted]
        found.sort(key=lambda c: -c.confidence)
        return found[:top_k]
