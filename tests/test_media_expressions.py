"""The expression term of the best-frame score: it changes the ranking, and its settings."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("onnxruntime")

from imgproxy_py.detection import DetectionConfig, DetectorSet
from imgproxy_py.detection.expressions import ExpressionModel
from imgproxy_py.media.bestframe import score_frames
from imgproxy_py.media.video import BestFrameConfig, VideoConfig
from tests.media_clips import SMILING_FRAMES, smile_clip

# Every frame sampled, none merged: the clip repeats each picture twice.
CONFIG = VideoConfig(enabled=True, best_frame=BestFrameConfig(span=1.0, samples=8, duplicate_threshold=1.0))


@pytest.fixture(scope="module")
def models() -> tuple[Any, Any]:
    detectors = DetectorSet(DetectionConfig.from_env({})[0])
    return detectors.detect, ExpressionModel.load().classify


def test_expressions_turn_the_ranking_to_the_smiling_face(models: tuple[Any, Any]) -> None:
    detect, classify = models
    clip = smile_clip()
    plain = score_frames(clip, config=CONFIG, face_detector=detect)
    assert {frame.index for frame in plain[:4]}.isdisjoint(SMILING_FRAMES)  # the neutral face is sharper
    assert all(frame.dominant_expression is None for frame in plain)
    ranked = score_frames(clip, config=CONFIG, face_detector=detect, expressions=classify)
    assert {frame.index for frame in ranked[:4]} == SMILING_FRAMES
    top, last = ranked[0], ranked[-1]
    assert top.dominant_expression == "happy" and top.expression_probability > 0.9 and top.expression > 0.9
    assert last.dominant_expression == "neutral" and last.expression < 0.1
    assert top.face_count == 1 and top.score > last.score


def test_expression_weight_zero_leaves_the_ranking_alone(models: tuple[Any, Any]) -> None:
    detect, classify = models
    config, errors = VideoConfig.from_env({"IMGPROXY_ENABLE_VIDEO_THUMBNAILS": "1",
                                           "IMGPROXY_VIDEO_BEST_FRAME_SPAN": "1",
                                           "IMGPROXY_VIDEO_BEST_FRAME_SAMPLES": "8",
                                           "IMGPROXY_VIDEO_BEST_FRAME_DUPLICATE_THRESHOLD": "1",
                                           "IMGPROXY_VIDEO_BEST_FRAME_WEIGHTS": "sharpness=1,faces=1,exposure=0.5"})
    assert errors == [] and config.best_frame.weight_expression == 0
    ranked = score_frames(smile_clip(), config=config, face_detector=detect, expressions=classify)
    assert {frame.index for frame in ranked[:4]}.isdisjoint(SMILING_FRAMES)


def test_weights_setting_names_expression_values() -> None:
    config, errors = VideoConfig.from_env({
        "IMGPROXY_VIDEO_BEST_FRAME_WEIGHTS": "sharpness=1,expression=2,expression.neutral=1,expression.happy=0.5"})
    assert errors == []
    best = config.best_frame
    assert (best.weight_sharpness, best.weight_faces, best.weight_exposure, best.weight_expression) == (1, 0, 0, 2)
    assert dict(best.expression_values) == {"neutral": 1.0, "happy": 0.5}
    default = VideoConfig().best_frame
    assert default.weight_expression == 1.0 and dict(default.expression_values) == {"happy": 1.0, "surprise": 1.0}


@pytest.mark.parametrize("weights", [
    "expression.joy=1",  # not one of the model's expressions
    "sharpness=1,expression.happy=2",  # a face is worth at most 1
    "expression.happy=1",  # no criterion weighs anything
    "expression=-1,sharpness=1",
])
def test_bad_expression_weights_are_refused(weights: str) -> None:
    _, errors = VideoConfig.from_env({"IMGPROXY_VIDEO_BEST_FRAME_WEIGHTS": weights})
    assert len(errors) == 1 and "IMGPROXY_VIDEO_BEST_FRAME_WEIGHTS" in errors[0]
