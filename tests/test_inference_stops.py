"""An ONNX inference stops with its request (``detection.sessions.StreamLimitedSession.run``):
when the request's deadline passes, or its client leaves, onnxruntime stops before its next
operator instead of running to the end; an inference in time is left alone.  The real face model
on a large canvas (about a second of work on two cores)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from imgproxy_py.deadline import REQUEST_DEADLINE, Deadline
from imgproxy_py.detection import DetectionConfig, DetectorSet
from imgproxy_py.detection.centerface import CenterFace
from imgproxy_py.imaging.kill_switch import KILL_SWITCH

SIDE = 1920


@pytest.fixture(scope="module")
def face() -> CenterFace:
    config, errors = DetectionConfig.from_env({})
    assert errors == []
    detector = DetectorSet(config)._face
    assert detector is not None
    return detector


@pytest.fixture(scope="module")
def canvas() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 255, (SIDE, SIDE, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def full_run(face: CenterFace, canvas: np.ndarray) -> float:
    """Seconds the inference takes to the end on this machine, now."""
    started = time.monotonic()
    face.run(canvas)
    return time.monotonic() - started


@contextlib.contextmanager
def under(deadline: Deadline) -> Iterator[None]:
    token = REQUEST_DEADLINE.set(deadline)
    try:
        yield
    finally:
        REQUEST_DEADLINE.reset(token)


def test_an_inference_stops_when_its_client_leaves(face: CenterFace, canvas: np.ndarray, full_run: float) -> None:
    deadline = Deadline.after(600)
    threading.Timer(full_run * 0.1, deadline.cancel).start()
    started = time.monotonic()
    with pytest.raises(Exception), under(deadline):  # noqa: B017 (onnxruntime's own error types)
        face.run(canvas)
    assert time.monotonic() - started < full_run * 0.7
    assert KILL_SWITCH.armed_count == 0


def test_an_inference_stops_at_its_deadline(face: CenterFace, canvas: np.ndarray, full_run: float) -> None:
    started = time.monotonic()
    with pytest.raises(Exception), under(Deadline.after(full_run * 0.1)):  # noqa: B017
        face.run(canvas)
    assert time.monotonic() - started < full_run * 0.7


def test_a_cancelled_request_starts_no_inference(face: CenterFace, canvas: np.ndarray, full_run: float) -> None:
    deadline = Deadline.after(600)
    deadline.cancel()
    started = time.monotonic()
    with pytest.raises(Exception), under(deadline):  # noqa: B017
        face.run(canvas)
    assert time.monotonic() - started < full_run * 0.3


def test_an_inference_in_time_is_left_alone(face: CenterFace) -> None:
    small = np.random.default_rng(3).integers(0, 255, (320, 320, 3), dtype=np.uint8)
    alone = face.run(small)
    deadline = Deadline.after(0.2 + 60)
    with under(deadline):
        guarded = face.run(small)
    assert all(np.array_equal(a, b) for a, b in zip(alone, guarded, strict=True))
    deadline.cancel()  # after the end: nothing left to stop, nothing raised
    assert KILL_SWITCH.armed_count == 0
