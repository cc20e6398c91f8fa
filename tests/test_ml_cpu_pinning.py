"""imgproxy Pro's ML CPU pinning (IMGPROXY_ML_CPU_PINNING and each model's own setting): the
inference session's own threads each stay on one CPU, seen on a real server's threads."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from imgproxy_py.config import read_config
from imgproxy_py.detection.sessions import thread_affinities
from tests.cluster_nodes import Node

FACE_CROP = "/unsafe/rs:fill:120:200/g:obj:face/plain/local:///detection/hopper.jpg"


def test_affinity_strings() -> None:
    assert thread_affinities(1, [0, 1]) == ""  # one thread: the caller's, never pinned
    assert thread_affinities(2, [0, 1]) == "1"
    assert thread_affinities(4, [0, 1]) == "1;2;1"  # onnxruntime counts processors from 1
    assert thread_affinities(3, [4, 6]) == "5;7"  # only the CPUs the process may use


def test_settings() -> None:
    config = read_config({})[0]
    assert not config.detection.pinned and not config.classification.pinned  # imgproxy's default
    config = read_config({"IMGPROXY_ML_CPU_PINNING": "true", "IMGPROXY_CLASSIFICATION_CPU_PINNING": "false"})[0]
    assert config.detection.pinned and not config.classification.pinned
    config = read_config({"IMGPROXY_OBJECT_DETECTION_CPU_PINNING": "true"})[0]
    assert config.detection.pinned and not config.classification.pinned


def thread_cpus(pid: int) -> list[str]:
    """Each thread's allowed CPUs (as /proc writes them: "0-1", "1")."""
    lists = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        lists += [line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("Cpus_allowed_list")]
    return lists


def pinned_threads(pin: bool) -> list[str]:
    node = Node({"IMGPROXY_ML_INFERENCE_NUM_THREADS": "2", "IMGPROXY_ML_CPU_PINNING": str(pin).lower()})
    try:
        node.wait_ready()
        response = httpx.get(node.base + FACE_CROP, timeout=60)
        assert response.status_code == 200
        everyone = {str(cpu) for cpu in os.sched_getaffinity(node.proc.pid)}
        return [cpus for cpus in thread_cpus(node.proc.pid) if cpus in everyone]  # single-CPU lists
    finally:
        node.stop()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="pinning is only visible with two CPUs or more")
def test_inference_threads_stay_on_one_cpu() -> None:
    # Two threads a session: the worker calling it and one of onnxruntime's, which is pinned;
    # the face model's session and nothing else.
    assert len(pinned_threads(True)) >= 1
    assert pinned_threads(False) == []
