"""On CUDA every model sees one input shape: the face detector one square canvas for both
passes and every picture, the expression model one batch size.

onnxruntime's CUDA provider re-plans its convolutions on every change of input shape (1.0-1.3 s
each, measured on an H200 with onnxruntime-gpu 1.31); this machine has no GPU, so the sessions
here are real CPU sessions that report CUDA as their provider and record what they are fed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import pyvips
from hypothesis import given
from hypothesis import strategies as st
from skimage import data

from imgproxy_py.detection.centerface import CenterFace
from imgproxy_py.detection.config import BUNDLED_FACE_MODEL, BUNDLED_MODELS_DIR, DetectionConfig
from imgproxy_py.detection.expressions import GPU_BATCH, ExpressionModel, default_model_path
from imgproxy_py.detection.geometry import Letterbox, stride_canvas_side, stride_letterbox
from imgproxy_py.detection.preprocess import resize_exact, to_array
from imgproxy_py.detection.sessions import CPU, one_input_shape, open_session
from imgproxy_py.detection.types import Box


class ReportsCuda:
    """A real CPU session that says it runs on CUDA and records the shapes it is fed."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.shapes: list[tuple[int, ...]] = []

    def get_providers(self) -> list[str]:
        return ["CUDAExecutionProvider", CPU]

    def run(self, outputs: Any, feeds: dict[str, np.ndarray[Any, Any]], **kwargs: Any) -> Any:
        self.shapes.extend(tuple(value.shape) for value in feeds.values())
        return self.session.run(outputs, feeds, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


def _face_session() -> Any:
    return open_session(BUNDLED_MODELS_DIR / BUNDLED_FACE_MODEL, threads=1, providers=[CPU])


def _detector(session: Any) -> CenterFace:
    config = DetectionConfig()
    return CenterFace(session, net_size=config.face_net_size, coarse_net_size=config.face_coarse_net_size,
                      threshold=config.face_confidence_threshold, nms_threshold=config.face_nms_threshold)


def _faces(detector: CenterFace, picture: pyvips.Image) -> Any:
    def canvas(letterbox: Letterbox) -> Any:
        return letterbox.place(to_array(resize_exact(picture, letterbox.content_width, letterbox.content_height)), 0)

    return detector.detect_all(picture.width, picture.height, canvas)


def _pictures() -> dict[str, pyvips.Image]:
    astronaut = pyvips.Image.new_from_array(data.astronaut(), interpretation="srgb")
    grey = [128, 128, 128]
    return {
        "square": astronaut,
        "landscape 3:2": astronaut.embed(0, 0, 768, 512, extend="background", background=grey),
        "portrait 2:3": astronaut.embed(0, 256, 512, 768, extend="background", background=grey),
        "panorama 4:1": astronaut.embed(1536, 0, 2048, 512, extend="background", background=grey),
        "large face": astronaut.crop(120, 0, 200, 200).resize(4),  # found by the coarse pass
    }


def test_the_cpu_sees_no_fixed_shape_and_cuda_does() -> None:
    session = _face_session()
    assert not one_input_shape(session)
    assert one_input_shape(ReportsCuda(session))
    assert _detector(session).canvas_side == 0


def test_faces_on_cuda_run_in_one_canvas_and_find_what_the_cpu_finds() -> None:
    session = _face_session()
    cuda = ReportsCuda(session)
    on_cpu, on_cuda = _detector(session), _detector(cuda)
    side = stride_canvas_side(on_cpu.net_size)
    assert on_cuda.canvas_side == side
    on_cuda.run(on_cuda.blank_canvas())
    for name, picture in _pictures().items():
        expected, found = _faces(on_cpu, picture), _faces(on_cuda, picture)
        assert len(expected.boxes) >= 1, name
        assert len(found.boxes) == len(expected.boxes), name
        for box, reference in zip(found.boxes, expected.boxes, strict=True):
            assert Box.from_corners(*map(float, box)).iou(Box.from_corners(*map(float, reference))) > 0.9, name
    assert set(cuda.shapes) == {(1, 3, side, side)}
    assert len(cuda.shapes) == 1 + 2 * len(_pictures())  # the warm-up, then both passes of each


@pytest.mark.parametrize("faces", [1, 3, GPU_BATCH, 11])
def test_expressions_on_cuda_go_in_batches_of_one_size(faces: int) -> None:
    session = open_session(default_model_path(), threads=1, providers=[CPU])
    cuda = ReportsCuda(session)
    crops = np.random.default_rng(faces).uniform(0, 255, (faces, 64, 64)).astype(np.float32)
    expected = ExpressionModel(session).probabilities(crops)
    found = ExpressionModel(cuda).probabilities(crops)
    assert found.shape == expected.shape == (faces, 7)
    np.testing.assert_allclose(found, expected, atol=1e-5)
    assert set(cuda.shapes) == {(GPU_BATCH, 1, 64, 64)}
    assert len(cuda.shapes) == -(-faces // GPU_BATCH)


@given(st.integers(32, 1024), st.integers(1, 12000), st.integers(1, 12000))
def test_the_canvas_holds_every_letterbox(size: int, width: int, height: int) -> None:
    letterbox = stride_letterbox(width, height, size)
    side = stride_canvas_side(size)
    assert side % 32 == 0
    assert letterbox.width <= side and letterbox.height <= side
