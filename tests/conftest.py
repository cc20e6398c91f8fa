from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import httpx
import numpy as np
import pytest
import pyvips

from tests.servers import ASSETS, AppServer, Origin

# The suite's clients talk to servers on loopback; httpx would send them through an egress proxy
# a CI machine sets (HTTP_PROXY), where the server under test keeps loopback direct on its own.
for _name in ("NO_PROXY", "no_proxy"):
    os.environ[_name] = ",".join(filter(None, (os.environ.get(_name, ""), "127.0.0.1", "localhost", "::1")))

BASE_ENV = {
    "IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES": "true",
    "IMGPROXY_LOCAL_FILESYSTEM_ROOT": str(ASSETS),
    "IMGPROXY_WORKERS": "2",
    "IMGPROXY_PROCESSES": "1",  # an AppServer is one process: its limits are not shared out
}


@pytest.fixture(scope="session")
def origin() -> Iterator[Origin]:
    server = Origin()
    yield server
    server.close()


@pytest.fixture(scope="session")
def start_server() -> Iterator[Callable[..., AppServer]]:
    """Start an app server with BASE_ENV plus overrides; all are stopped at the end."""
    started: list[AppServer] = []

    def start(**env: str) -> AppServer:
        server = AppServer({**BASE_ENV, **env})
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture(scope="module")
def server_for(start_server: Callable[..., AppServer]) -> Callable[..., AppServer]:
    """One server per set of settings, started when a test first needs it."""
    started: dict[frozenset[tuple[str, str]], AppServer] = {}

    def get(**env: str) -> AppServer:
        key = frozenset(env.items())
        if key not in started:
            started[key] = start_server(**env)
        return started[key]

    return get


@pytest.fixture(scope="session")
def server(start_server: Callable[..., AppServer]) -> AppServer:
    return start_server()


@pytest.fixture(scope="session")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:
        yield c


def rgb_image(array: np.ndarray) -> pyvips.Image:
    array = np.ascontiguousarray(array.astype(np.uint8))
    height, width = array.shape[:2]
    bands = 1 if array.ndim == 2 else array.shape[2]
    img = pyvips.Image.new_from_memory(array.tobytes(), width, height, bands, "uchar")
    return img.copy(interpretation="srgb" if bands >= 3 else "b-w")


@pytest.fixture(scope="session")
def photo_jpeg() -> bytes:
    """A real photo (scikit-image's astronaut, 512x512) as JPEG."""
    from skimage import data

    return bytes(rgb_image(data.astronaut()).jpegsave_buffer(Q=90))


@pytest.fixture(scope="session")
def landscape_jpeg() -> bytes:
    """A real landscape photo (scikit-image's coffee, 600x400) as JPEG."""
    from skimage import data

    return bytes(rgb_image(data.coffee()).jpegsave_buffer(Q=90))


@pytest.fixture(scope="session")
def big_jpeg() -> bytes:
    """A 12 MP (4000x3000) JPEG made from a real photo with high-quality resampling."""
    from skimage import data

    img = rgb_image(data.chelsea())  # 451x300
    img = img.resize(4000 / img.width, vscale=3000 / img.height, kernel="lanczos3")
    return bytes(img.jpegsave_buffer(Q=85))


def decode(body: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(body, "")


def asset(name: str) -> Path:
    return ASSETS / "core" / name


@pytest.fixture()
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point ``tempfile`` at an empty directory of this test, so leftovers are ours alone."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    yield directory


BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@contextlib.contextmanager
def benchmark_module(name: str) -> Iterator[ModuleType]:
    """A script of ``benchmarks/`` imported as a module (its siblings importable as it expects)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))
