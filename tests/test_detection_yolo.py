"""The YOLO object-detection path: decoders on hand-made tensors, and a real YOLOv8 export."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import pyvips
from skimage import data

from imgproxy_py.detection import Box, DetectionConfig, DetectorSet, NetType
from imgproxy_py.detection.geometry import batched_nms, nms, square_letterbox, stride_letterbox
from imgproxy_py.detection.yolo import (
    YoloDetector,
    decode_column_layout,
    decode_row_layout,
    decode_yolov4,
    select,
)

ASTRONAUT_FACE = Box(180, 60, 90, 120)


# -- decoders on hand-made outputs ----------------------------------------------------------


def test_yolov8_column_layout() -> None:
    # Two candidates, three classes: [1, 4 + 3, 2].
    output = np.zeros((1, 7, 2), dtype=np.float32)
    output[0, :4, 0] = [100, 50, 40, 20]  # centre x, centre y, width, height
    output[0, 4:, 0] = [0.1, 0.9, 0.0]
    output[0, :4, 1] = [10, 10, 4, 4]
    output[0, 4:, 1] = [0.05, 0.0, 0.1]
    boxes, scores = decode_column_layout(output, 3)
    np.testing.assert_allclose(boxes[0], [80, 40, 120, 60])
    np.testing.assert_allclose(scores[0], [0.1, 0.9, 0.0])
    found = select(boxes, scores, threshold=0.2, nms_threshold=0.4)
    assert len(found) == 1
    assert found.class_ids.tolist() == [1]
    assert found.scores.tolist() == pytest.approx([0.9])


def test_column_layout_accepts_anchors_first() -> None:
    output = np.zeros((1, 5, 6), dtype=np.float32)  # [1, N, 4 + 2] with N = 5
    output[0, 2] = [30, 30, 10, 10, 0.2, 0.7]
    boxes, scores = decode_column_layout(output, 2)
    np.testing.assert_allclose(boxes[2], [25, 25, 35, 35])
    np.testing.assert_allclose(scores[2], [0.2, 0.7])


def test_row_layout_multiplies_objectness() -> None:
    # YOLOv5 / YOLOX: [1, N, 5 + C].
    output = np.array(
        [[[50, 60, 20, 40, 0.5, 0.9, 0.1], [50, 60, 20, 40, 0.1, 0.9, 0.9], [5, 5, 2, 2, 1.0, 0.0, 0.3]]],
        dtype=np.float32,
    )
    boxes, scores = decode_row_layout(output, 2)
    np.testing.assert_allclose(boxes[0], [40, 40, 60, 80])
    np.testing.assert_allclose(scores[0], [0.45, 0.05], rtol=1e-6)
    np.testing.assert_allclose(scores[1], [0.09, 0.09], rtol=1e-6)
    found = select(boxes, scores, threshold=0.2, nms_threshold=0.4)
    # Only the first (0.45) and the third (0.3) pass the threshold.
    assert found.scores.tolist() == pytest.approx([0.45, 0.3])
    assert found.class_ids.tolist() == [0, 1]


def test_yolov4_boxes_are_fractions_of_the_input() -> None:
    boxes = np.array([[[[0.25, 0.5, 0.5, 1.0]]]], dtype=np.float32)  # [1, N, 1, 4]
    confs = np.array([[[0.1, 0.8]]], dtype=np.float32)  # [1, N, C]
    corners, scores = decode_yolov4(boxes, confs, 2, 416, 320)
    np.testing.assert_allclose(corners[0], [104, 160, 208, 320])
    np.testing.assert_allclose(scores[0], [0.1, 0.8])


@pytest.mark.parametrize(
    ("decoder", "shape"),
    [(decode_column_layout, (1, 9, 100)), (decode_row_layout, (1, 100, 9))],
)
def test_wrong_class_count_is_reported(decoder: object, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="classes"):
        decoder(np.zeros(shape, np.float32), 80)  # type: ignore[operator]


def test_nms_keeps_best_of_overlapping_and_separate_classes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10]], dtype=np.float32)
    scores = np.array([0.8, 0.9, 0.5, 0.7], dtype=np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    classes = np.array([0, 0, 0, 1], dtype=np.intp)
    # The class-1 box overlaps the class-0 ones fully, but classes do not suppress each other.
    assert sorted(batched_nms(boxes, scores, classes, 0.5).tolist()) == [1, 2, 3]


def test_letterbox_round_trip() -> None:
    centred = square_letterbox(600, 300, 320, centred=True)
    assert (centred.scale, centred.pad_left, centred.pad_top) == (320 / 600, 0, 80)
    corner = square_letterbox(600, 300, 320, centred=False)
    assert (corner.pad_left, corner.pad_top) == (0, 0)
    box = np.array([[32, 96, 64, 112]], dtype=np.float32)  # in network pixels
    np.testing.assert_allclose(centred.to_source(box), [[60, 30, 120, 60]], rtol=1e-5)
    np.testing.assert_allclose(corner.to_source(box), [[60, 180, 120, 210]], rtol=1e-5)


def test_stride_letterbox_keeps_pixel_budget_and_stride() -> None:
    wide = stride_letterbox(1200, 800, 320)
    assert wide.width % 32 == 0 and wide.height % 32 == 0
    assert (wide.width, wide.height) == (416, 288)
    assert abs(wide.content_width * wide.content_height - 320 * 320) < 320 * 8
    panorama = stride_letterbox(8000, 500, 320)
    assert panorama.content_width == 640  # long side capped at twice the size


class _FakeSession:
    """Stands in for onnxruntime to record what the detector feeds the network."""

    def __init__(self) -> None:
        self.fed: np.ndarray | None = None

    def get_inputs(self) -> list[object]:
        return [type("Input", (), {"name": "images"})()]


@pytest.mark.parametrize(
    ("net_type", "swap_rb", "first_value", "pad"),
    [
        (NetType.YOLOV8, False, 200 / 255, (0, 16)),  # 0..1, RGB, centred
        (NetType.YOLOV5, True, 10 / 255, (0, 16)),  # 0..1, BGR
        (NetType.YOLOX, False, 200.0, (0, 0)),  # raw 0..255, padded right/bottom
    ],
)
def test_preprocessing_per_family(
    net_type: NetType, swap_rb: bool, first_value: float, pad: tuple[int, int]
) -> None:
    detector = YoloDetector(
        _FakeSession(),
        net_type=net_type,
        num_classes=1,
        net_width=64,
        net_height=64,
        threshold=0.2,
        nms_threshold=0.4,
        swap_rb=swap_rb,
    )
    letterbox = detector.letterbox(128, 64)
    assert (letterbox.pad_left, letterbox.pad_top) == pad
    picture = np.zeros((32, 64, 3), np.uint8)
    picture[..., 0], picture[..., 2] = 200, 10
    blob = detector.blob(letterbox.place(picture, 114))
    assert blob.shape == (1, 3, 64, 64)
    assert blob[0, 0, pad[1], 0] == pytest.approx(first_value)


# -- a real YOLOv8 export: nudenet's 320n.onnx (test dependency, never copied) ----------------


def _nudenet_dir() -> Path:
    spec = importlib.util.find_spec("nudenet")
    if spec is None or spec.origin is None:
        pytest.skip("nudenet is not installed (pip install nudenet==3.4.2): no real YOLOv8 model to test")
    return Path(spec.origin).parent


def _nudenet_labels() -> list[str]:
    import nudenet.nudenet as module

    # The list is a module global named with two leading underscores.
    return list(vars(module)["__labels"])


@pytest.fixture(scope="module")
def nudenet_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    model = _nudenet_dir() / "320n.onnx"
    classes = tmp_path_factory.mktemp("classes") / "nudenet.names"
    labels = _nudenet_labels()
    lines = [f"{label}=3" if label == "FACE_FEMALE" else label for label in labels]
    classes.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {
        "IMGPROXY_FACE_DETECTION": "false",
        "IMGPROXY_OBJECT_DETECTION_NET": str(model),
        "IMGPROXY_OBJECT_DETECTION_NET_TYPE": "yolov8",
        "IMGPROXY_OBJECT_DETECTION_CLASSES": str(classes),
        "IMGPROXY_OBJECT_DETECTION_NET_SIZE": "320",
    }


@pytest.fixture(scope="module")
def yolo(nudenet_env: dict[str, str]) -> DetectorSet:
    config, errors = DetectionConfig.from_env(nudenet_env)
    assert errors == []
    detectors = DetectorSet(config)
    assert detectors.errors == ()
    return detectors


def test_yolov8_finds_the_astronauts_face(yolo: DetectorSet) -> None:
    assert len(yolo.class_names) == 18
    assert yolo.class_weights["FACE_FEMALE"] == 3.0
    assert yolo.class_weights["FACE_MALE"] == 1.0
    detections = yolo.detect(pyvips.Image.new_from_array(data.astronaut()))
    faces = [d for d in detections if d.class_name in ("FACE_FEMALE", "FACE_MALE")]
    assert faces, detections
    best = faces[0]
    assert best.class_name == "FACE_FEMALE"
    assert best.confidence > 0.5
    assert best.box.iou(ASTRONAUT_FACE) > 0.6
    assert yolo.class_names[best.class_id] == "FACE_FEMALE"


def test_yolov8_coordinates_in_a_wide_image(yolo: DetectorSet) -> None:
    astronaut = pyvips.Image.new_from_array(data.astronaut())
    wide = pyvips.Image.new_from_array(data.coffee()).resize(3, vscale=1.5).insert(astronaut, 1100, 40)
    faces = [d for d in yolo.detect(wide) if d.class_name == "FACE_FEMALE"]
    expected = Box(
        ASTRONAUT_FACE.left + 1100, ASTRONAUT_FACE.top + 40, ASTRONAUT_FACE.width, ASTRONAUT_FACE.height
    )
    assert faces and faces[0].box.iou(expected) > 0.5, (faces, expected)


def test_face_and_object_models_together(nudenet_env: dict[str, str]) -> None:
    env = {**nudenet_env, "IMGPROXY_FACE_DETECTION": "true"}
    config, errors = DetectionConfig.from_env(env)
    assert errors == []
    detectors = DetectorSet(config)
    assert detectors.class_names[0] == "face"
    assert len(detectors.class_names) == 19
    names = {d.class_name for d in detectors.detect(pyvips.Image.new_from_array(data.astronaut()))}
    assert {"face", "FACE_FEMALE"} <= names


def test_class_names_from_model_metadata(nudenet_env: dict[str, str]) -> None:
    env = {key: value for key, value in nudenet_env.items() if key != "IMGPROXY_OBJECT_DETECTION_CLASSES"}
    detectors = DetectorSet(DetectionConfig.from_env(env)[0])
    assert detectors.errors == ()
    assert list(detectors.class_names) == _nudenet_labels()


def test_wrong_net_type_is_a_start_up_error(nudenet_env: dict[str, str]) -> None:
    env = {**nudenet_env, "IMGPROXY_OBJECT_DETECTION_NET_TYPE": "yolov5"}
    detectors = DetectorSet(DetectionConfig.from_env(env)[0])
    assert not detectors.enabled
    assert len(detectors.errors) == 1
    assert "IMGPROXY_OBJECT_DETECTION_NET_TYPE=yolov5" in detectors.errors[0]


def test_wrong_class_list_is_a_start_up_error(nudenet_env: dict[str, str], tmp_path: Path) -> None:
    classes = tmp_path / "five.names"
    classes.write_text("a\nb\nc\nd\ne\n", encoding="utf-8")
    env = {**nudenet_env, "IMGPROXY_OBJECT_DETECTION_CLASSES": str(classes)}
    detectors = DetectorSet(DetectionConfig.from_env(env)[0])
    assert detectors.errors and "5 classes" in detectors.errors[0]
    assert detectors.detect(pyvips.Image.new_from_array(data.astronaut())) == ()
