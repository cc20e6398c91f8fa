"""Real ``imgproxy-py serve`` processes for the cluster tests: started on a free loopback
port, waited for on ``/health``, their server processes found through ``/proc``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.ports import free_port, listens_on
from tests.servers import ASSETS

CLI = [sys.executable, "-m", "imgproxy_py", "serve"]
ROOT = Path(__file__).resolve().parents[1]


def wait_for(condition: object, timeout: float = 60.0) -> None:
    """Until ``condition()`` is true (an AssertionError after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


class Node:
    """One ``imgproxy-py serve`` (its supervisor, when IMGPROXY_PROCESSES > 1)."""

    def __init__(self, env: Mapping[str, str], port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("IMGPROXY_")}
        full_env.update({"IMGPROXY_BIND": f"127.0.0.1:{self.port}", "IMGPROXY_LOCAL_FILESYSTEM_ROOT": str(ASSETS),
                         "IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES": "true", "IMGPROXY_WORKERS": "2",
                         "IMGPROXY_PROCESSES": "1",
                         "IMGPROXY_LOG_LEVEL": "warning", "PYTHONPATH": str(ROOT), **env})
        self._log = open(log_path or os.devnull, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(CLI, env=full_env, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.base}/health", timeout=1.0).status_code == 200:
                    if not listens_on([self.proc.pid, *self.children()], self.port):
                        raise RuntimeError(f"another server answers on port {self.port}")
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("node did not become ready")

    def children(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return int(self.proc.returncode)


def served_then_stopped(env: Mapping[str, str], requests: list[tuple[str, dict[str, str], int]]) -> None:
    """Start `imgproxy-py serve`, make ``requests`` (path, headers, expected status), stop it with
    SIGTERM, which has the tracers and agents send what they still hold."""
    node = Node(env)
    try:
        node.wait_ready()
        for path, headers, status in requests:
            assert httpx.get(node.base + path, headers=headers, timeout=30).status_code == status
    finally:
        assert node.stop() in (0, -signal.SIGTERM)
