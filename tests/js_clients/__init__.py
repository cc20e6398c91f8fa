"""imgproxy's official JavaScript clients as an oracle: the URLs they write must work unchanged.

``package.json`` pins ``@imgproxy/imgproxy-node`` and the ``@imgproxy/imgproxy-js-core`` it is
built on; :func:`generate` installs them on first use (``npm install`` into this folder, under a
file lock so parallel test workers install once) and runs ``urls.mjs`` over a batch of cases.
Where Node.js is absent the tests that need it are skipped, saying so.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
INSTALLED = HERE / "node_modules" / "@imgproxy" / "imgproxy-node" / "package.json"


def _node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are not installed: the official JavaScript client tests need them")
    return node


def _install() -> None:
    with (HERE / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if INSTALLED.is_file():
            return
        # No lock file is written: package.json pins exact versions.
        subprocess.run(["npm", "install", "--no-package-lock", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=HERE, check=True, timeout=300)


def generate(cases: list[dict[str, Any]]) -> list[dict[str, str]]:
    """For each case, ``{"url": ...}`` as the official client writes it, or ``{"error": ...}``."""
    node = _node()
    _install()
    done = subprocess.run([node, str(HERE / "urls.mjs")], input=json.dumps(cases), capture_output=True,
                          text=True, check=True, timeout=60)
    results: list[dict[str, str]] = json.loads(done.stdout)
    return results
