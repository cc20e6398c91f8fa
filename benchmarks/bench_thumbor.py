"""thumbor for the benchmarks: its virtualenv (``benchmarks/.venv-thumbor``, created on first
use, with matplotlib for the charts) and its servers on one loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from bench_common import BENCH_DIR, WORK_DIR, log, rel
from bench_servers import Server, free_port, wait_http

THUMBOR_VENV = BENCH_DIR / ".venv-thumbor"
THUMBOR_CONF = BENCH_DIR / "thumbor" / "thumbor.conf"
THUMBOR_SPEC = "thumbor[opencv]==7.8.0"
CHART_SPEC = "matplotlib>=3.8"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_thumbor_venv() -> tuple[Path | None, list[str]]:
    """benchmarks/.venv-thumbor with thumbor (+ OpenCV) and matplotlib; notes on what failed."""
    notes: list[str] = []
    py = venv_python(THUMBOR_VENV)
    if not (THUMBOR_VENV / ".bench-ok").exists():
        log(f"creating {rel(THUMBOR_VENV)} ({THUMBOR_SPEC}, {CHART_SPEC}) ...")
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(THUMBOR_VENV)], check=True)
        pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        ok = subprocess.run([*pip, THUMBOR_SPEC], check=False).returncode == 0
        if not ok:
            notes.append(f"installing {THUMBOR_SPEC} failed; tried plain thumbor (no OpenCV)")
            ok = subprocess.run([*pip, THUMBOR_SPEC.split("[")[0]], check=False).returncode == 0
        if not ok:
            notes.append("thumbor could not be installed: thumbor columns are empty")
            return None, notes
        if subprocess.run([*pip, CHART_SPEC], check=False).returncode != 0:
            notes.append("matplotlib could not be installed: no chart")
        (THUMBOR_VENV / ".bench-ok").write_text("ok\n")
    return py, notes


def venv_has(py: Path, module: str) -> bool:
    return subprocess.run([str(py), "-c", f"import {module}"], capture_output=True, check=False).returncode == 0


def thumbor_version(py: Path) -> str:
    out = subprocess.run([str(py), "-c", "import importlib.metadata as m; print(m.version('thumbor'))"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or "?"


def start_thumbor(py: Path, root: Path, processes: int, detectors: str, mode: str = "reuseport") -> Server:
    """thumbor on one loopback port, as ``processes`` single-process instances or one ``--processes N``.

    ``reuseport``: N instances, each handed its own listening socket bound to the same port with
    SO_REUSEPORT, so that the kernel spreads connections over them.  ``processes``: thumbor's own
    ``--processes N``, where the forks share one socket and the first to wake up may accept every
    connection of a short burst (with keep-alive, one process then does all the work).
    """
    port = free_port()
    log_path = WORK_DIR / f"thumbor-{detectors.replace(',', '+')}.log"
    env = {**os.environ, "THUMBOR_BENCH_ROOT": str(root), "THUMBOR_BENCH_DETECTORS": detectors}
    base = [str(py.parent / "thumbor"), "--conf", str(THUMBOR_CONF), "--log-level", "warning"]
    procs: list[subprocess.Popen[bytes]] = []
    with open(log_path, "wb") as out:
        if mode == "processes":
            cmd = [*base, "--ip", "127.0.0.1", "--port", str(port), "--processes", str(processes)]
            procs.append(subprocess.Popen(cmd, env=env, cwd=WORK_DIR, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True))
        else:
            for _ in range(processes):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind(("127.0.0.1", port))
                sock.listen(128)
                fd = sock.fileno()
                procs.append(subprocess.Popen([*base, "--fd", str(fd), "--processes", "1"], env=env, cwd=WORK_DIR,
                                              stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                              pass_fds=(fd,)))
                sock.close()
    server = Server("thumbor", f"http://127.0.0.1:{port}", procs[0], log_path, others=procs[1:])
    try:
        for proc in procs:
            wait_http(server.base_url + "/healthcheck", proc=proc)
    except Exception:
        server.stop()
        raise
    return server

