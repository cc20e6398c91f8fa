"""The converted expression model agrees with the original, and reads real faces as expected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyvips

pytest.importorskip("onnxruntime")

from imgproxy_py.detection import DetectionConfig, DetectorSet
from imgproxy_py.detection.expressions import LABELS, Expression, ExpressionModel, face_crops

ASSETS = Path(__file__).parent / "assets" / "detection"


@pytest.fixture(scope="module")
def model() -> ExpressionModel:
    return ExpressionModel.load()


@pytest.fixture(scope="module")
def detector() -> DetectorSet:
    return DetectorSet(DetectionConfig.from_env({})[0])


def test_converted_model_matches_the_original_on_real_faces(model: ExpressionModel) -> None:
    # Probabilities of the original Keras model, computed from its HDF5 weights by
    # models/tools/prepare_emotion.py, for real faces.
    reference = np.load(ASSETS / "emotion_reference.npz")
    got = model.probabilities(reference["faces"].astype(np.float32))
    assert got.shape == reference["probabilities"].shape
    assert float(np.abs(got - reference["probabilities"]).max()) < 1e-4
    assert (got.argmax(axis=1) == reference["probabilities"].argmax(axis=1)).all()


def _photo(name: str) -> pyvips.Image:
    if name == "astronaut":
        import skimage.data

        return pyvips.Image.new_from_array(skimage.data.astronaut()).copy(interpretation="srgb").cast("uchar")
    return pyvips.Image.new_from_file(str(ASSETS / name))


@pytest.mark.parametrize(("photo", "label"), [("astronaut", "happy"), ("hopper.jpg", "neutral")])
def test_real_faces_read_as_their_expression(model: ExpressionModel, detector: DetectorSet, photo: str,
                                             label: str) -> None:
    image = _photo(photo)
    faces = [d for d in detector.detect(image) if d.class_name == "face"]
    assert len(faces) == 1
    (expression,) = model.classify(image, faces)
    assert expression.dominant == label
    assert expression.probability > 0.8
    assert abs(sum(expression.probabilities) - 1.0) < 1e-4


def test_expression_value_weighs_the_chosen_labels() -> None:
    happy = Expression(tuple(0.9 if label == "happy" else 0.1 / 6 for label in LABELS))
    assert happy.value({"happy": 1.0, "surprise": 1.0}) == pytest.approx(0.9 + 0.1 / 6)
    assert happy.value({"sad": 1.0}) == pytest.approx(0.1 / 6)
    assert happy.value({"happy": 5.0}) == 1.0  # clipped


def test_crops_are_square_grey_and_stay_inside_the_image() -> None:
    image = _photo("hopper.jpg")

    class Box:
        left, top, width, height = 100.0, 100.0, 60.0, 40.0  # runs past the 128x128 image

    crops = face_crops(image, [Box()])
    assert crops.shape == (1, 64, 64)
    assert float(crops.min()) >= 0 and float(crops.max()) <= 255
    assert face_crops(image, []).shape == (0, 64, 64)
