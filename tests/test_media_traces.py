"""Face traces: faces followed across sampled frames, and each trace's best face."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from imgproxy_py.detection import DetectionConfig, DetectorSet
from imgproxy_py.media.traces import FACE_SIZE, face_traces
from imgproxy_py.media.video import VideoConfig
from tests.media_clips import encode, neutral_face, smiling_face
from tests.servers import ASSETS

CONFIG = VideoConfig(enabled=True)


@pytest.fixture(scope="module")
def detect() -> Any:
    return DetectorSet(DetectionConfig.from_env({})[0]).detect


def two_people() -> bytes:
    """16 frames of 512x256: Grace Hopper on the left in frames 0-11, the astronaut on the
    right in frames 6-15 (both in 6-11)."""
    hopper, astronaut = neutral_face(), smiling_face()
    frames = []
    for number in range(16):
        canvas = np.full((256, 512, 3), 90, dtype=np.uint8)
        if number < 12:
            canvas[:, :256] = hopper
        if number >= 6:
            canvas[:, 256:] = astronaut
        frames.append(canvas)
    return encode(frames, repeat=1)


def test_two_faces_make_two_traces(detect: Any) -> None:
    traces = face_traces(two_people(), config=CONFIG, face_detector=detect, samples=16)
    assert [(len(t.faces), t.first_frame, t.last_frame) for t in traces] == [(12, 0, 11), (10, 6, 15)]
    hopper, astronaut = traces
    assert hopper.best.left + hopper.best.width <= 256 <= astronaut.best.left  # boxes in full-frame pixels
    for trace in traces:
        assert (trace.image.width, trace.image.height) == (FACE_SIZE, FACE_SIZE)
        assert 0 < trace.best.blur < 1 and 0 < trace.best.quality <= trace.best.confidence <= 1
        assert trace.first_frame <= trace.best.frame <= trace.last_frame


def test_talking_face_is_one_trace_over_the_whole_clip(detect: Any) -> None:
    data = (ASSETS / "media" / "carphone_pristine.mp4").read_bytes()
    traces = face_traces(data, config=CONFIG, face_detector=detect, samples=20)
    assert len(traces) >= 1
    main = traces[0]
    assert len(main.faces) >= 18 and main.first_frame == 0 and main.last_frame >= 110
    # The best face is the sharpest of the ten largest, surest ones.
    candidates = sorted(main.faces, key=lambda f: f.width * f.height * f.confidence, reverse=True)[:10]
    assert main.best.sharpness == max(face.sharpness for face in candidates)
    assert main.best.blur == min(face.blur for face in candidates)
    # The box is in the 176x144 frame's pixels.
    assert main.best.left >= 0 and main.best.left + main.best.width <= 177


def test_no_faces_no_traces(detect: Any) -> None:
    blank = encode([np.full((128, 128, 3), 128, dtype=np.uint8)] * 2)
    assert face_traces(blank, config=CONFIG, face_detector=detect) == []
