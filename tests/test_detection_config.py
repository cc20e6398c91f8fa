"""DetectionConfig.from_env and model loading problems: reported, never raised."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import pyvips

from imgproxy_py.detection import DetectionConfig, DetectorSet, GravityMode, NetType, parse_classes, sessions
from imgproxy_py.detection.config import BUNDLED_MODELS_DIR


def test_defaults() -> None:
    config, errors = DetectionConfig.from_env({})
    assert errors == []
    assert config.face_enabled
    assert config.face_model == BUNDLED_MODELS_DIR / "centerface.onnx"
    assert (config.face_net_size, config.face_coarse_net_size, config.face_confidence_threshold) == (416, 160, 0.3)
    assert config.object_model is None
    assert config.object_net_type == NetType.YOLOX
    assert (config.object_net_size, config.object_confidence_threshold, config.object_nms_threshold) == (
        416,
        0.2,
        0.4,
    )
    assert not config.swap_rb
    assert config.fallback_to_smart_crop
    assert config.gravity_mode == GravityMode.MAX_SCORE_AREA
    assert config.threads == 1
    assert config.providers is None
    assert config.enabled


@pytest.mark.parametrize(
    ("env", "coarse", "error"),
    [
        ({"IMGPROXY_FACE_DETECTION_COARSE_NET_SIZE": "0"}, 0, None),
        ({"IMGPROXY_FACE_DETECTION_COARSE_NET_SIZE": "224"}, 224, None),
        # A main pass as small as the default coarse one needs no coarse pass.
        ({"IMGPROXY_FACE_DETECTION_NET_SIZE": "160"}, 0, None),
        ({"IMGPROXY_FACE_DETECTION_COARSE_NET_SIZE": "100"}, 160, "is not a multiple of 32"),
        ({"IMGPROXY_FACE_DETECTION_COARSE_NET_SIZE": "416"}, 160, "is not smaller than"),
    ],
)
def test_coarse_face_pass(env: dict[str, str], coarse: int, error: str | None) -> None:
    config, errors = DetectionConfig.from_env(env)
    assert config.face_coarse_net_size == coarse
    if error is None:
        assert errors == []
    else:
        assert len(errors) == 1 and error in errors[0]
        assert errors[0].startswith("IMGPROXY_FACE_DETECTION_COARSE_NET_SIZE: ")


def test_every_bad_variable_is_reported_together(tmp_path: Path) -> None:
    env = {
        "IMGPROXY_FACE_DETECTION": "maybe",
        "IMGPROXY_FACE_DETECTION_NET_SIZE": "300",
        "IMGPROXY_FACE_DETECTION_COARSE_NET_SIZE": "-32",
        "IMGPROXY_FACE_DETECTION_CONFIDENCE_THRESHOLD": "1.5",
        "IMGPROXY_OBJECT_DETECTION_NET": str(tmp_path / "missing.onnx"),
        "IMGPROXY_OBJECT_DETECTION_NET_TYPE": "yolov99",
        "IMGPROXY_OBJECT_DETECTION_CLASSES": str(tmp_path / "missing.names"),
        "IMGPROXY_OBJECT_DETECTION_NET_SIZE": "big",
        "IMGPROXY_OBJECT_DETECTION_CONFIDENCE_THRESHOLD": "-0.1",
        "IMGPROXY_OBJECT_DETECTION_NMS_THRESHOLD": "x",
        "IMGPROXY_OBJECT_DETECTION_SWAP_RB": "sometimes",
        "IMGPROXY_OBJECT_DETECTION_FALLBACK_TO_SMART_CROP": "perhaps",
        "IMGPROXY_OBJECT_DETECTION_GRAVITY_MODE": "biggest",
        "IMGPROXY_DETECTION_THREADS": "0",
        "IMGPROXY_DETECTION_PROVIDERS": "warp-drive",
    }
    config, errors = DetectionConfig.from_env(env)
    for name in env:
        assert sum(error.startswith(name + ":") for error in errors) == 1, (name, errors)
    assert len(errors) == len(env)
    # Bad values fall back to the defaults.
    assert config.face_net_size == 416 and config.threads == 1
    assert config.gravity_mode == GravityMode.MAX_SCORE_AREA


def test_valid_values(tmp_path: Path) -> None:
    model = tmp_path / "net.onnx"
    model.write_bytes(b"")
    classes = tmp_path / "classes.txt"
    classes.write_text("person=2\n\ndog\ncat=0.5\n", encoding="utf-8")
    env = {
        "IMGPROXY_FACE_DETECTION": "false",
        "IMGPROXY_OBJECT_DETECTION_NET": str(model),
        "IMGPROXY_OBJECT_DETECTION_NET_TYPE": "YOLO11",
        "IMGPROXY_OBJECT_DETECTION_CLASSES": str(classes),
        "IMGPROXY_OBJECT_DETECTION_NET_SIZE": "640",
        "IMGPROXY_OBJECT_DETECTION_SWAP_RB": "true",
        "IMGPROXY_OBJECT_DETECTION_FALLBACK_TO_SMART_CROP": "false",
        "IMGPROXY_OBJECT_DETECTION_GRAVITY_MODE": "one_best_centermost",
        "IMGPROXY_DETECTION_THREADS": "2",
        "IMGPROXY_DETECTION_PROVIDERS": "cpu",
    }
    config, errors = DetectionConfig.from_env(env)
    assert errors == []
    assert not config.face_enabled
    assert config.object_model == model
    assert config.object_net_type == NetType.YOLOV11
    assert config.object_classes == ("person", "dog", "cat")
    assert dict(config.class_weights) == {"person": 2.0, "dog": 1.0, "cat": 0.5}
    assert config.object_net_size == 640
    assert config.swap_rb and not config.fallback_to_smart_crop
    assert config.gravity_mode == GravityMode.ONE_BEST_CENTERMOST
    assert (config.threads, config.providers) == (2, ("CPUExecutionProvider",))


def test_classes_file_problems_name_the_line() -> None:
    classes, weights, problems = parse_classes("face\n=2\ndog=heavy\ncat=-1\nface\n")
    assert classes == ("face", "dog", "cat", "face")
    assert weights == {"face": 1.0, "dog": 1.0, "cat": 1.0}
    assert problems == [
        "line 2: empty class name",
        "line 3: 'heavy' is not a weight (a number >= 0)",
        "line 4: '-1' is not a weight (a number >= 0)",
        "line 5: class 'face' is listed twice",
    ]


def test_models_dir_is_searched_first(tmp_path: Path) -> None:
    shutil.copy(BUNDLED_MODELS_DIR / "centerface.onnx", tmp_path / "centerface.onnx")
    config, errors = DetectionConfig.from_env({"IMGPROXY_MODELS_DIR": str(tmp_path)})
    assert errors == []
    assert config.face_model == tmp_path / "centerface.onnx"


def test_missing_bundled_model_is_a_note_by_default_and_an_error_when_asked_for(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("imgproxy_py.detection.config.BUNDLED_MODELS_DIR", tmp_path)
    config, errors = DetectionConfig.from_env({})
    assert errors == []
    assert not config.face_enabled and not config.enabled
    assert any("centerface.onnx" in note for note in config.notes)
    _, errors = DetectionConfig.from_env({"IMGPROXY_FACE_DETECTION": "true"})
    assert len(errors) == 1 and errors[0].startswith("IMGPROXY_FACE_DETECTION:")


def test_explicit_face_model_must_exist(tmp_path: Path) -> None:
    _, errors = DetectionConfig.from_env({"IMGPROXY_FACE_DETECTION_MODEL": str(tmp_path / "none.onnx")})
    assert len(errors) == 1 and errors[0].startswith("IMGPROXY_FACE_DETECTION_MODEL:")


def test_invalid_model_files_are_errors_not_exceptions(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not an onnx model")
    env = {"IMGPROXY_FACE_DETECTION_MODEL": str(garbage), "IMGPROXY_OBJECT_DETECTION_NET": str(garbage)}
    config, errors = DetectionConfig.from_env(env)
    assert errors == []
    detectors = DetectorSet(config)
    assert not detectors.enabled
    assert len(detectors.errors) == 2
    assert detectors.errors[0].startswith("IMGPROXY_FACE_DETECTION:")
    assert detectors.errors[1].startswith("IMGPROXY_OBJECT_DETECTION_NET:")
    assert detectors.class_names == ()


def test_fixed_size_face_model_is_rejected(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx", reason="onnx (dev extra) builds the fixed-size model")
    model = onnx.load(str(BUNDLED_MODELS_DIR / "centerface.onnx"))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, value in zip(dims, (1, 3, 32, 32), strict=True):
        dim.dim_value = value
    fixed = tmp_path / "fixed.onnx"
    onnx.save(model, str(fixed))
    detectors = DetectorSet(DetectionConfig.from_env({"IMGPROXY_FACE_DETECTION_MODEL": str(fixed)})[0])
    assert len(detectors.errors) == 1 and "prepare_centerface.py" in detectors.errors[0]


def test_disabled_detection_detects_nothing() -> None:
    config, _ = DetectionConfig.from_env({"IMGPROXY_FACE_DETECTION": "0"})
    detectors = DetectorSet(config)
    assert not detectors.enabled
    assert detectors.detect(pyvips.Image.black(64, 64)) == ()


def test_provider_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sessions.default_providers() == ["CPUExecutionProvider"]
    gpu = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(sessions, "available_providers", lambda: gpu)
    # CUDA first: TensorRT would build an engine for every new input shape.
    assert sessions.default_providers() == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    chosen, problems = sessions.resolve_providers(["tensorrt", "CUDA", "CPUExecutionProvider", "cpu"])
    assert chosen == gpu and problems == []
    chosen, problems = sessions.resolve_providers(["openvino"])
    assert chosen == [] and "not available" in problems[0]
    assert sessions.provider_entries(["CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"}),
        "CPUExecutionProvider",
    ]


@pytest.mark.parametrize(("env", "threads", "accurate"), [
    ({}, 1, False),
    ({"IMGPROXY_ML_INFERENCE_NUM_THREADS": "3", "IMGPROXY_ML_EXECUTION_MODE": "accuracy"}, 3, True),
    ({"IMGPROXY_ML_INFERENCE_NUM_THREADS": "3", "IMGPROXY_OBJECT_DETECTION_INFERENCE_NUM_THREADS": "2",
      "IMGPROXY_ML_EXECUTION_MODE": "accuracy", "IMGPROXY_OBJECT_DETECTION_EXECUTION_MODE": "performance"}, 2, False),
    ({"IMGPROXY_OBJECT_DETECTION_INFERENCE_NUM_THREADS": "2", "IMGPROXY_DETECTION_THREADS": "4"}, 4, False),
])
def test_imgproxy_ml_settings(env: dict[str, str], threads: int, accurate: bool) -> None:
    """imgproxy Pro's ML settings reach the onnxruntime session the detector runs."""
    import onnxruntime as ort

    config, errors = DetectionConfig.from_env(env)
    assert errors == [] and (config.threads, config.accurate) == (threads, accurate)
    face = DetectorSet(config)._face
    assert face is not None
    options = face.session.get_session_options()
    assert options.intra_op_num_threads == threads
    assert options.graph_optimization_level == (ort.GraphOptimizationLevel.ORT_ENABLE_BASIC if accurate
                                                else ort.GraphOptimizationLevel.ORT_ENABLE_ALL)


def test_bad_execution_mode_is_reported() -> None:
    _, errors = DetectionConfig.from_env({"IMGPROXY_ML_EXECUTION_MODE": "fastest"})
    assert errors == ["IMGPROXY_ML_EXECUTION_MODE: 'fastest' is not performance or accuracy"]


def test_classifier_execution_mode() -> None:
    from imgproxy_py.detection.classify import ClassificationConfig
    from imgproxy_py.envreader import EnvReader

    assert ClassificationConfig.from_env(EnvReader({"IMGPROXY_ML_EXECUTION_MODE": "accuracy"})).accurate
    own = {"IMGPROXY_ML_EXECUTION_MODE": "accuracy", "IMGPROXY_CLASSIFICATION_EXECUTION_MODE": "performance"}
    assert not ClassificationConfig.from_env(EnvReader(own)).accurate


def test_inference_streams_bound_a_models_concurrent_runs() -> None:
    """IMGPROXY_ML_NUM_STREAMS (and a model's own ..._INFERENCE_NUM_STREAMS): at most that many
    inferences of one model at once; a further one waits until a stream is free."""
    import threading

    from imgproxy_py.detection.classify import ClassificationConfig
    from imgproxy_py.envreader import EnvReader

    config, errors = DetectionConfig.from_env({"IMGPROXY_ML_NUM_STREAMS": "1"})
    assert errors == [] and config.streams == 1
    own = {"IMGPROXY_ML_NUM_STREAMS": "1", "IMGPROXY_OBJECT_DETECTION_INFERENCE_NUM_STREAMS": "3"}
    assert DetectionConfig.from_env(own)[0].streams == 3
    assert DetectionConfig.from_env({})[0].streams == 0  # no limit but the workers'
    assert ClassificationConfig.from_env(EnvReader({"IMGPROXY_ML_NUM_STREAMS": "2"})).streams == 2
    assert DetectionConfig.from_env({"IMGPROXY_ML_NUM_STREAMS": "-1"})[1]

    face = DetectorSet(config)._face
    assert face is not None
    session = face.session
    assert isinstance(session, sessions.StreamLimitedSession) and session.streams is not None
    canvas = np.zeros((32, 32, 3), np.uint8)
    assert session.streams.acquire(timeout=5)  # the one stream, taken
    finished = threading.Event()
    worker = threading.Thread(target=lambda: (face.run(canvas), finished.set()))
    worker.start()
    try:
        assert not finished.wait(0.5)  # its inference waits for the stream
    finally:
        session.streams.release()
    assert finished.wait(30)
    worker.join()


def test_max_ml_concurrency_is_one_limit_over_every_model() -> None:
    """IMGPROXY_MAX_ML_CONCURRENCY (imgproxy Pro 4.1): at most that many inferences at once over
    all of a process's models; while another model's inference holds the one slot, the face
    detector waits."""
    import threading

    from imgproxy_py.detection.expressions import ExpressionModel

    config, errors = DetectionConfig.from_env({"IMGPROXY_MAX_ML_CONCURRENCY": "1"})
    assert errors == [] and config.max_ml_concurrency == 1
    assert DetectionConfig.from_env({})[0].max_ml_concurrency == 0  # no limit but the workers'
    assert DetectionConfig.from_env({"IMGPROXY_MAX_ML_CONCURRENCY": "-1"})[1]
    assert sessions.MlSlots(0).semaphore is None

    slots = sessions.MlSlots(config.max_ml_concurrency)
    face = DetectorSet(config, slots=slots)._face
    expressions = ExpressionModel.load(slots=slots)
    assert face is not None and slots.semaphore is not None
    assert face.session.shared is slots.semaphore and expressions._session.shared is slots.semaphore
    assert slots.semaphore.acquire(timeout=5)  # the one slot, taken as by another model's inference
    finished = threading.Event()
    worker = threading.Thread(target=lambda: (face.run(np.zeros((32, 32, 3), np.uint8)), finished.set()))
    worker.start()
    try:
        assert not finished.wait(0.5)  # the face detector waits for it
    finally:
        slots.semaphore.release()
    assert finished.wait(30)
    worker.join()
