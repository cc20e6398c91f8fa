"""CUDA's libraries are preloaded once, before the first GPU session, and what onnxruntime prints
about them goes to the log.

This machine has no GPU, so onnxruntime's ``preload_dlls`` is replaced by a recorder: its real run
is checked on a GPU host by ``benchmarks/detection_speed.py --providers cuda``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from imgproxy_py.detection import sessions

CUDA = "CUDAExecutionProvider"
# onnxruntime's CPU build warns that it has no CUDA provider; that fallback is what one test checks.
pytestmark = pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider':UserWarning")


@pytest.fixture
def preload_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    if sessions.ort is None:
        pytest.skip("onnxruntime is not installed")
    calls: list[str] = []

    def preload_dlls() -> None:
        calls.append("preload")
        print("Failed to load libcudnn.so.9: cannot open shared object file")

    monkeypatch.setattr(sessions.ort, "preload_dlls", preload_dlls, raising=False)
    monkeypatch.setattr(sessions, "_cuda_libraries_tried", False)
    yield calls


def test_cpu_sessions_load_nothing(preload_calls: list[str]) -> None:
    sessions.load_cuda_libraries([sessions.CPU])
    sessions.load_cuda_libraries([])
    assert preload_calls == []


@pytest.mark.parametrize("provider", [CUDA, "TensorrtExecutionProvider"])
def test_gpu_sessions_preload_once_and_log_what_onnxruntime_prints(
        preload_calls: list[str], provider: str, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    with caplog.at_level(logging.WARNING, logger="imgproxy_py.detection"):
        sessions.load_cuda_libraries([provider, sessions.CPU])
        sessions.load_cuda_libraries([provider, sessions.CPU])
    assert preload_calls == ["preload"]
    assert capsys.readouterr().out == ""
    assert [r.getMessage() for r in caplog.records] == [
        "onnxruntime: Failed to load libcudnn.so.9: cannot open shared object file"]


def test_a_failing_preload_leaves_detection_running(monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    if sessions.ort is None:
        pytest.skip("onnxruntime is not installed")

    def broken() -> None:
        raise OSError("libcudart.so.13: wrong ELF class")

    monkeypatch.setattr(sessions.ort, "preload_dlls", broken, raising=False)
    monkeypatch.setattr(sessions, "_cuda_libraries_tried", False)
    with caplog.at_level(logging.WARNING, logger="imgproxy_py.detection"):
        sessions.load_cuda_libraries([CUDA])
    assert "could not preload the CUDA libraries: libcudart.so.13: wrong ELF class" in caplog.text


def test_opening_a_gpu_session_preloads_first(preload_calls: list[str]) -> None:
    from imgproxy_py.detection.config import BUNDLED_FACE_MODEL, BUNDLED_MODELS_DIR

    model = BUNDLED_MODELS_DIR / BUNDLED_FACE_MODEL
    assert sessions.open_session(model, threads=1, providers=[sessions.CPU]).get_providers() == [sessions.CPU]
    assert preload_calls == []
    # onnxruntime's CPU build has no CUDA provider: the session still opens, on the CPU.
    session = sessions.open_session(model, threads=1, providers=[CUDA, sessions.CPU])
    assert preload_calls == ["preload"]
    assert sessions.CPU in session.get_providers()


def test_an_accelerator_named_alone_must_start(preload_calls: list[str]) -> None:
    from imgproxy_py.detection.config import BUNDLED_FACE_MODEL, BUNDLED_MODELS_DIR

    # No GPU here: onnxruntime would run this session on the CPU, which the setting excludes.
    with pytest.raises(RuntimeError, match="CUDAExecutionProvider could not start"):
        sessions.open_session(BUNDLED_MODELS_DIR / BUNDLED_FACE_MODEL, threads=1, providers=[CUDA])
