"""Server processes for the benchmark scripts, and what they cost: peak RSS, CPU seconds and
context switches of a process tree, read from /proc.

``start_imgproxy`` starts one imgproxy_py server on loopback and returns once it answers;
``Server`` holds any contender's processes (bench_ipx and run.py start the peers).

Everything here is benchmark tooling; the project itself never imports it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench_common import REPO_ROOT, WORK_DIR


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except Exception as exc:  # connection refused while starting
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s: {last}")


def process_tree(pid: int) -> list[int]:
    """``pid`` and all of its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_peak_rss_mb(pid: int) -> float:
    """Sum of VmHWM (peak resident set) over the process tree, in MiB."""
    return sum(_status_kb(p, "VmHWM") for p in process_tree(pid)) / 1024


def tree_rss_mb(pid: int) -> float:
    """Sum of VmRSS (resident set now) over the process tree, in MiB."""
    return sum(_status_kb(p, "VmRSS") for p in process_tree(pid)) / 1024


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the process tree (live processes only)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def tree_context_switches(pid: int) -> int:
    """Voluntary + involuntary context switches of every thread of the process tree so far."""
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{p}/task").iterdir():
                for line in (task / "status").read_text().splitlines():
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
    return total


def reset_peak_rss(pid: int) -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs); best effort."""
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            Path(f"/proc/{p}/clear_refs").write_text("5")


def _exit_on_sigterm() -> None:
    """SIGTERM to a benchmark (``timeout``, a CI job's end) raises SystemExit, so that the
    ``finally`` blocks stop its servers: each runs in its own session, and would outlive a
    script killed outright, taking the cores from whatever is measured next."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))


@dataclass
class Server:
    name: str
    base_url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    others: list[subprocess.Popen[bytes]] = field(default_factory=list)  # more instances on the same port

    def __post_init__(self) -> None:
        _exit_on_sigterm()

    @property
    def pids(self) -> list[int]:
        return [self.proc.pid, *(p.pid for p in self.others)]

    def cpu_split(self) -> list[float]:
        """CPU seconds of each instance (to see how evenly the load was spread)."""
        return [tree_cpu_seconds(p) for p in self.pids]

    def peak_rss_mb(self) -> float:
        return sum(tree_peak_rss_mb(p) for p in self.pids)

    def cpu_seconds(self) -> float:
        return sum(tree_cpu_seconds(p) for p in self.pids)

    def reset_peak(self) -> None:
        for p in self.pids:
            reset_peak_rss(p)

    def peak_growth(self) -> Callable[[], float]:
        """Resets the peak RSS; what it returns gives, later, the peak's growth over the RSS now
        (MiB): the memory the work in between took."""
        idle = sum(tree_rss_mb(p) for p in self.pids)
        self.reset_peak()
        return lambda: self.peak_rss_mb() - idle

    def stop(self) -> None:
        for proc in (self.proc, *self.others):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in (self.proc, *self.others):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def start_imgproxy(root: Path, workers: int, *, env: dict[str, str] | None = None,
                   log_path: Path | None = None, python: str = sys.executable,
                   wrap: Sequence[str] = ()) -> Server:
    """One imgproxy_py server process on loopback; returns once /health answers."""
    port = free_port()
    log_path = log_path or WORK_DIR / "imgproxy_py.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "IMGPROXY_BIND": f"127.0.0.1:{port}", "IMGPROXY_LOCAL_FILESYSTEM_ROOT": str(root),
                "IMGPROXY_WORKERS": str(workers), "IMGPROXY_LOG_LEVEL": "warning", **(env or {})}
    cmd = [*wrap, python, "-m", "imgproxy_py", "serve"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=full_env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server("imgproxy_py", f"http://127.0.0.1:{port}", proc, log_path)
    try:
        wait_http(server.base_url + "/health", proc=proc)
    except BaseException:  # SystemExit from SIGTERM too
        server.stop()
        raise
    return server


def imgproxy_command_line(workers: int, root: str = "<images>") -> str:
    return (f"IMGPROXY_BIND=127.0.0.1:<port> IMGPROXY_LOCAL_FILESYSTEM_ROOT={root} "
            f"IMGPROXY_WORKERS={workers} IMGPROXY_LOG_LEVEL=warning .venv/bin/python -m imgproxy_py serve")


@contextlib.contextmanager
def servers_stopped(servers: list[Server]) -> Iterator[list[Server]]:
    try:
        yield servers
    finally:
        for s in servers:
            s.stop()
