"""A third-party plugin (tests/plugin: a processing option with its step, a source backend and a
detector), installed with pip as a user would and used end to end through the real server."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import pyvips

from tests.servers import AppServer

PLUGIN = Path(__file__).parent / "plugin"


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    target = tmp_path_factory.mktemp("site")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    result = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                             str(PLUGIN)], capture_output=True, text=True, timeout=600, check=False, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    yield target
    # Other test files on this worker must not see the plugin.
    sys.path.remove(str(target))
    importlib.invalidate_caches()


@pytest.fixture(scope="module")
def plugin_server(installed_plugin: Path, start_server: Callable[..., AppServer]) -> AppServer:
    return start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(Path(__file__).parents[1] / "imgproxy_py" / "demo"))


def pixels(data: bytes) -> np.ndarray:
    img = pyvips.Image.new_from_buffer(data, "")
    return np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8, shape=(img.height, img.width, img.bands))


def test_plugin_option_and_step(plugin_server: AppServer, client: httpx.Client) -> None:
    plain = client.get(f"{plugin_server.base}/unsafe/rs:fit:120:120/plain/local:///astronaut.jpg@png")
    toned = client.get(f"{plugin_server.base}/unsafe/rs:fit:120:120/sep:1/plain/local:///astronaut.jpg@png")
    full = client.get(f"{plugin_server.base}/unsafe/rs:fit:120:120/sepia:1/plain/local:///astronaut.jpg@png")
    assert plain.status_code == toned.status_code == 200 and toned.content == full.content
    before, after = pixels(plain.content).astype(int), pixels(toned.content).astype(int)
    # Sepia orders the channels red >= green >= blue almost everywhere; the photo does not.
    ordered = (after[..., 0] >= after[..., 1] - 1) & (after[..., 1] >= after[..., 2] - 1)
    assert ordered.mean() > 0.98
    assert ((before[..., 0] >= before[..., 1]) & (before[..., 1] >= before[..., 2])).mean() < 0.9
    expected = np.clip(before[..., :3] @ np.array([[0.393, 0.349, 0.272], [0.769, 0.686, 0.534],
                                                   [0.189, 0.168, 0.131]]), 0, 255)
    assert np.abs(after[..., :3] - expected).mean() < 2.0
    bad = client.get(f"{plugin_server.base}/unsafe/sep:2/plain/local:///chelsea.jpg")
    assert bad.status_code == 404  # the declaration's argument rules apply


def test_plugin_source_backend(plugin_server: AppServer, client: httpx.Client) -> None:
    card = (PLUGIN / "imgproxy_sepia" / "card.png").read_bytes()
    response = client.get(f"{plugin_server.base}/unsafe/plain/bundled://card.png@png")
    assert response.status_code == 200
    assert np.array_equal(pixels(response.content), pixels(card))
    assert client.get(f"{plugin_server.base}/unsafe/plain/bundled://nothing.png").status_code == 404


def test_plugin_detector(plugin_server: AppServer, client: httpx.Client) -> None:
    info = client.get(f"{plugin_server.base}/info/unsafe/do:1/plain/bundled://card.png")
    assert info.status_code == 200
    body = info.json()
    found = [d for d in body.get("objects", body.get("detections", [])) if d["class_name"] == "red_square"]
    assert len(found) == 1
    box = found[0]
    assert (box["left"], box["top"]) == pytest.approx((100 / 160, 70 / 120), abs=0.02)
    assert (box["width"], box["height"]) == pytest.approx((30 / 160, 30 / 120), abs=0.02)
    # A 30x60 window of the card shrunk to 80x60: the square (15x15 px there) is whole inside it
    # with the detector's gravity, and cut by the centred window.
    crops = {g: client.get(f"{plugin_server.base}/unsafe/rs:fill:30:60/g:{g}/plain/bundled://card.png@png")
             for g in ("obj:red_square", "ce")}
    red = {g: int((pixels(r.content)[..., 0] > 200).sum()) for g, r in crops.items()}
    assert pixels(crops["obj:red_square"].content).shape[:2] == (60, 30)
    assert red["obj:red_square"] >= 200 and red["ce"] < 100


def test_plugins_can_be_turned_off(installed_plugin: Path, start_server: Callable[..., AppServer],
                                   client: httpx.Client) -> None:
    server = start_server(IMGPROXY_PLUGINS="none",
                          IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(Path(__file__).parents[1] / "imgproxy_py" / "demo"))
    response = client.get(f"{server.base}/unsafe/sep:1/plain/local:///chelsea.jpg")
    assert response.status_code == 404 and "sep" in response.text
    assert client.get(f"{server.base}/unsafe/plain/bundled://card.png").status_code == 404
