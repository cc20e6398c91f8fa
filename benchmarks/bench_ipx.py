"""ipx 3 (sharp) as a peer of the benchmark harness.

``ensure_ipx()`` installs ipx 3 from npm into ``benchmarks/.ipx`` (git-ignored; like thumbor's
virtualenv, not a project dependency) when missing; ``start_ipx()`` runs ``ipx/server.mjs``:
N Node processes on one loopback port (Node's cluster module), serving one folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench_common import BENCH_DIR, WORK_DIR, rel
from bench_servers import Server, free_port, wait_http

IPX_DIR = BENCH_DIR / ".ipx"
IPX_SPEC = "ipx@3"
SERVER_SCRIPT = BENCH_DIR / "ipx" / "server.mjs"


def _entry() -> Path:
    return IPX_DIR / "node_modules" / "ipx" / "dist" / "index.mjs"


def ensure_ipx() -> tuple[str | None, list[str]]:
    """The node binary when ipx is installed (installing it if needed), else None; notes on failures."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None, ["ipx: node/npm not found: ipx columns are empty"]
    if not _entry().exists():
        print(f"installing {IPX_SPEC} into {rel(IPX_DIR)} ...", file=sys.stderr, flush=True)
        IPX_DIR.mkdir(parents=True, exist_ok=True)
        package = IPX_DIR / "package.json"
        if not package.exists():
            package.write_text('{"private": true}\n')
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(IPX_DIR), IPX_SPEC],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0 or not _entry().exists():
            return None, [f"ipx: npm install {IPX_SPEC} failed: {done.stderr.strip()[-300:]}"]
    return node, []


def ipx_versions(node: str) -> str:
    """"ipx 3.x.y, sharp 0.x.y (libvips 8.x.y)"."""
    def version(package: str) -> str:
        path = IPX_DIR / "node_modules" / package / "package.json"
        try:
            return str(json.loads(path.read_text())["version"])
        except (OSError, ValueError, KeyError):
            return "?"

    libvips = subprocess.run([node, "-e", "console.log(require('sharp').versions.vips)"], cwd=IPX_DIR,
                             capture_output=True, text=True, check=False).stdout.strip() or "?"
    return f"ipx {version('ipx')}, sharp {version('sharp')} (libvips {libvips})"


def start_ipx(node: str, root: Path, processes: int) -> Server:
    """ipx on one loopback port as ``processes`` cluster workers; returns once it answers."""
    port = free_port()
    log_path = WORK_DIR / "ipx.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "IPX_BENCH_MODULE": _entry().as_uri(), "IPX_BENCH_ROOT": str(root),
           "IPX_BENCH_PORT": str(port), "IPX_BENCH_PROCESSES": str(processes), "NODE_ENV": "production"}
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([node, str(SERVER_SCRIPT)], env=env, cwd=IPX_DIR, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    server = Server("ipx", f"http://127.0.0.1:{port}", proc, log_path)
    try:
        probe = next(iter(sorted(root.glob("*.jpg"))), None)
        wait_http(server.base_url + (f"/_/{probe.name}" if probe else "/"), proc=proc)
    except Exception:
        server.stop()
        raise
    return server


def ipx_command_line(processes: int) -> str:
    return (f"node {rel(SERVER_SCRIPT)} (IPX_BENCH_PROCESSES={processes}: cluster module, "
            "one port; sharp defaults)")
