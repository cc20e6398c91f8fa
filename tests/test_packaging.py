"""The wheel works on its own: built from the checkout, installed into a fresh virtualenv in a
temporary folder, started with the installed ``imgproxy-py`` from outside the checkout.

Then the same venv without onnxruntime stands for a bare install: detection requests are
refused with a message naming the extra, never quietly served by smart crop.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import pyvips

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_lists_every_package() -> None:
    # setuptools gets an explicit list (it maps models/ and presets/ into the package), so a new
    # subpackage must be added there or the wheel would lack it.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "imgproxy_py").rglob("__init__.py")}
    found |= {"imgproxy_py.demo"}
    assert found <= declared, f"add to pyproject's packages: {sorted(found - declared)}"
    mapped = {name for name in declared if name not in found}
    assert mapped == set(config["package-dir"]) - {"imgproxy_py"}
    for name in mapped:
        assert (ROOT / config["package-dir"][name]).is_dir()


def test_bundled_presets_have_no_default() -> None:
    # A shipped `default` preset would change the result of every plain imgproxy URL.
    for line in (ROOT / "presets" / "default.conf").read_text().splitlines():
        assert not re.match(r"\s*default\s*=", line)




class Installed:
    def __init__(self, venv: Path, workdir: Path) -> None:
        self.venv = venv
        self.workdir = workdir

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.venv / "bin" / args[0]), *args[1:]], cwd=self.workdir,
                              env=self.env(), capture_output=True, text=True, timeout=600, check=False)

    def env(self, **extra: str) -> dict[str, str]:
        # Nothing from this checkout or the test's own venv leaks in.
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("IMGPROXY_", "PYTHON", "VIRTUAL_ENV")) and k != "PATH"}
        return {**keep, "PATH": f"{self.venv / 'bin'}:/usr/bin:/bin", **extra}

    def serve(self, **extra: str) -> tuple[subprocess.Popen[str], str]:
        port = free_port()
        process = subprocess.Popen(
            [str(self.venv / "bin" / "imgproxy-py"), "serve", "--demo"], cwd=self.workdir,
            env=self.env(IMGPROXY_BIND=f"127.0.0.1:{port}", IMGPROXY_WORKERS="2", **extra),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"server exited: {process.stdout.read() if process.stdout else ''}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    return process, url
            except httpx.TransportError:
                time.sleep(0.3)
        process.kill()
        raise AssertionError("server did not start in 90 s")


def stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    work = tmp_path_factory.mktemp("wheel")
    # No PYTHONPATH or venv of ours leaks into the build or the install (pip would take a
    # checkout on the path for an installed copy and skip installing).
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"),
                            str(ROOT)], capture_output=True, text=True, timeout=600, check=False, env=clean)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next((work / "dist").glob("imgproxy_py-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, env=clean)
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{wheel}[cpu]"],
                             capture_output=True, text=True, timeout=900, check=False, env=clean, cwd=work)
    assert install.returncode == 0, install.stderr[-3000:]
    yield Installed(venv, work)


def test_installed_wheel_serves_detection_media_routes_and_presets(installed: Installed) -> None:
    where = installed.run("python", "-c", "import imgproxy_py; print(imgproxy_py.__file__)")
    assert str(installed.venv) in where.stdout and str(ROOT) not in where.stdout
    version = installed.run("imgproxy-py", "--version")
    assert version.returncode == 0 and re.fullmatch(r"imgproxy-py \d+\.\d+\.\d+\s*", version.stdout)

    process, url = installed.serve(IMGPROXY_LOG_FORMAT="json")
    try:
        info = httpx.get(f"{url}/info/unsafe/do:1/plain/local:///astronaut.jpg", timeout=60)
        assert info.status_code == 200
        body = info.json()
        faces = body.get("objects", body.get("detections"))
        assert faces and faces[0]["class_name"] == "face"

        route = httpx.get(f"{url}/media/square_thumbnails/chelsea", timeout=60)
        assert route.status_code == 200
        assert pyvips.Image.new_from_buffer(route.content, "").width > 0

        preset = httpx.get(f"{url}/unsafe/pr:thumbnail/plain/local:///chelsea.jpg", timeout=60)
        assert preset.status_code == 200
        img = pyvips.Image.new_from_buffer(preset.content, "")
        assert (img.width, img.height) == (200, 200)
    finally:
        log = stop(process)
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line["msg"].endswith(f"listening on {url}") for line in lines)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]) for line in lines)


def test_bare_install_names_the_missing_extra(installed: Installed) -> None:
    # Runs after the test above (same module, same venv): take onnxruntime out again.
    removed = installed.run("python", "-m", "pip", "uninstall", "-y", "-q", "onnxruntime")
    assert removed.returncode == 0, removed.stderr
    sources = installed.workdir / "sources"
    sources.mkdir()
    shutil.copy(ROOT / "imgproxy_py" / "demo" / "astronaut.jpg", sources)
    shutil.copy(ROOT / "tests" / "assets" / "media" / "astronaut_bayer.dng", sources)
    process, url = installed.serve(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(sources))
    try:
        face = httpx.get(f"{url}/unsafe/rs:fill:100:100/g:obj:face/plain/local:///astronaut.jpg", timeout=60)
        assert face.status_code == 501
        assert "imgproxy-py[cpu]" in face.text
        # The [raw] extra (Wand) is not installed either: a camera RAW names it.
        raw = httpx.get(f"{url}/unsafe/rs:fit:100:100/plain/local:///astronaut_bayer.dng", timeout=60)
        assert raw.status_code == 501
        assert "imgproxy-py[raw]" in raw.text
        info = httpx.get(f"{url}/info/unsafe/do:1/plain/local:///astronaut.jpg", timeout=60)
        assert info.status_code == 501
        plain = httpx.get(f"{url}/unsafe/rs:fill:100:100/g:sm/plain/local:///astronaut.jpg", timeout=60)
        assert plain.status_code == 200
    finally:
        log = stop(process)
    assert "imgproxy-py[cpu]" in log and "imgproxy-py[raw]" in log
