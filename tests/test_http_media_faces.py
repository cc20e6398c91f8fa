"""``/thumbnail/<hash>/faces.json`` and ``/thumbnail/<hash>/faces/<trace>.jpg`` through the real server,
and the representative-face route as the best face of the largest trace."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from imgproxy_py.media.tokens import TokenAuthority
from tests.conftest import decode
from tests.servers import ASSETS, DATE_SLACK, AppServer, expires_in

SECRET = "faces-secret"


@pytest.fixture(scope="module")
def faces_server(start_server, tmp_path_factory: pytest.TempPathFactory) -> AppServer:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("faceslib")
    (root / "media").mkdir()
    for name in ("carphone_pristine.mp4", "bikes.mp4"):
        shutil.copy(ASSETS / "media" / name, root / "media" / name)
    return start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(root), IMGPROXY_ENABLE_VIDEO_THUMBNAILS="true",
                        IMGPROXY_MEDIA_TOKEN_SECRET=SECRET, IMGPROXY_TIMEOUT="60", IMGPROXY_MEDIA_TTL="900",
                        IMGPROXY_VIDEO_FACE_TRACE_SAMPLES="20",
                        IMGPROXY_PRESETS_PATH=str(Path(__file__).parents[1] / "presets" / "default.conf"))


def auth(scope: str = "") -> dict[str, str]:
    return {"Authorization": "Bearer " + TokenAuthority(SECRET).mint(scope)}


def pixels(body: bytes) -> np.ndarray:
    image = decode(body)
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8,
                      shape=(image.height, image.width, image.bands)).astype(float)


def test_faces_json_lists_the_traces(client: httpx.Client, faces_server: AppServer) -> None:
    response = client.get(f"{faces_server.base}/thumbnail/carphone_pristine/faces.json", headers=auth())
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "public, max-age=900"
    assert abs(expires_in(response) - 900) <= DATE_SLACK
    traces = response.json()["traces"]
    main = traces[0]
    assert main["trace"] == 0 and main["face_count"] >= 18
    assert main["first_frame"] == 0 and main["last_frame"] >= 110 and main["last_timestamp"] > 3.5
    best = main["best_face"]
    assert set(best) == {"frame", "timestamp", "box", "confidence", "quality", "blur", "url"}
    assert main["first_frame"] <= best["frame"] <= main["last_frame"]
    assert set(best["box"]) == {"left", "top", "width", "height"} and best["box"]["width"] > 20
    assert best["url"] == "/thumbnail/carphone_pristine/faces/0.jpg"
    counts = [trace["face_count"] for trace in traces]
    assert counts == sorted(counts, reverse=True)

    face = client.get(faces_server.base + best["url"], headers=auth())
    assert face.status_code == 200 and face.headers["content-type"] == "image/jpeg"
    image = decode(face.content)
    assert (image.width, image.height) == (320, 320)
    # The existing representative-face route now answers the same face (through the pipeline).
    representative = client.get(f"{faces_server.base}/media/representative_faces/carphone_pristine.jpg",
                                headers=auth())
    assert representative.status_code == 200
    assert np.abs(pixels(representative.content) - pixels(face.content)).mean() < 4


@pytest.mark.parametrize(("path", "headers", "status"), [
    ("/thumbnail/carphone_pristine/faces.json", {}, 401),
    ("/thumbnail/carphone_pristine/faces.json", "bikes", 401),  # a token for another file
    ("/thumbnail/carphone_pristine/faces/0.jpg", {}, 401),
    ("/thumbnail/carphone_pristine/faces/99.jpg", None, 404),
    ("/thumbnail/carphone_pristine/faces/x.jpg", None, 400),
    ("/thumbnail/nothing_here/faces.json", None, 404),
])
def test_faces_routes_refuse(client: httpx.Client, faces_server: AppServer, path: str,
                             headers: dict[str, str] | str | None, status: int) -> None:
    sent = auth() if headers is None else auth(headers) if isinstance(headers, str) else headers
    assert client.get(faces_server.base + path, headers=sent).status_code == status


def test_scoped_token_reads_its_own_traces(client: httpx.Client, faces_server: AppServer) -> None:
    response = client.get(f"{faces_server.base}/thumbnail/bikes/faces.json", headers=auth("bikes"))
    assert response.status_code == 200
    for trace in response.json()["traces"]:  # the cyclist: small, brief faces
        assert trace["face_count"] >= 1 and 0 <= trace["best_face"]["timestamp"] <= 10
