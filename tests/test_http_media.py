"""Video frames, best frame, representative faces and camera RAW through the real server."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import httpx
import numpy as np
import pytest
import pyvips

from imgproxy_py.media.raw import raw_available
from imgproxy_py.media.tokens import TokenAuthority
from tests.conftest import decode, rgb_image
from tests.servers import ASSETS, DATE_SLACK, AppServer, expires_in

SECRET = "video-secret"
MEDIA = ASSETS / "media"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from skimage import data

    root = tmp_path_factory.mktemp("videolib")
    media = root / "media"
    media.mkdir()
    for name in ("bikes.mp4", "carphone_pristine.mp4", "astronaut_bayer.dng"):
        shutil.copy(MEDIA / name, media / name)
    rgb_image(data.astronaut()).jpegsave(str(media / "portrait.jpg"), Q=90)
    # Its H.264 track renamed to a codec FFmpeg does not know (answered 500 before).
    (media / "unknown_codec.mp4").write_bytes((MEDIA / "bikes.mp4").read_bytes().replace(b"avc1", b"zzz1"))
    return root


@pytest.fixture(scope="module")
def video_server(start_server, library: Path) -> AppServer:  # type: ignore[no-untyped-def]
    return start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(library), IMGPROXY_ENABLE_VIDEO_THUMBNAILS="true",
                        IMGPROXY_MEDIA_TOKEN_SECRET=SECRET, IMGPROXY_TIMEOUT="60",
                        IMGPROXY_PRESETS_PATH=str(Path(__file__).parents[1] / "presets" / "default.conf"))


def auth() -> dict[str, str]:
    return {"Authorization": "Bearer " + TokenAuthority(SECRET).mint()}


def pixels(img: pyvips.Image) -> np.ndarray:
    img = img.colourspace("srgb").extract_band(0, n=3)
    return np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8, shape=[img.height, img.width, 3]).astype(float)


def test_video_frame_goes_through_the_pipeline(client: httpx.Client, video_server: AppServer) -> None:
    response = client.get(f"{video_server.base}/unsafe/rs:fit:320:320/plain/local:///media/bikes.mp4")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    img = decode(response.content)
    assert (img.width, img.height) == (320, 136)  # 640x272 scaled
    filled = decode(client.get(f"{video_server.base}/unsafe/rs:fill:100:100/g:sm/plain/local:///media/bikes.mp4"
                               ).content)
    assert (filled.width, filled.height) == (100, 100)


def test_exact_frames_differ_and_repeat(client: httpx.Client, video_server: AppServer) -> None:
    def frame(n: int) -> np.ndarray:
        url = f"{video_server.base}/unsafe/vf:{n}/f:png/plain/local:///media/carphone_pristine.mp4"
        response = client.get(url)
        assert response.status_code == 200
        return pixels(decode(response.content))

    first, again, later = frame(10), frame(10), frame(90)
    assert np.array_equal(first, again)
    assert np.abs(first - later).mean() > 2
    too_far = client.get(f"{video_server.base}/unsafe/vf:100000/plain/local:///media/carphone_pristine.mp4")
    assert too_far.status_code == 422


def test_video_second_option(client: httpx.Client, video_server: AppServer) -> None:
    at = {s: pixels(decode(client.get(
        f"{video_server.base}/unsafe/vts:{s}/f:png/plain/local:///media/bikes.mp4").content)) for s in (1, 7)}
    assert np.abs(at[1] - at[7]).mean() > 2


def test_face_gravity_on_a_video_frame(client: httpx.Client, video_server: AppServer) -> None:
    url = f"{video_server.base}/unsafe/rs:fill:60:140/g:obj:face/vf:30/plain/local:///media/carphone_pristine.mp4"
    img = decode(client.get(url).content)
    assert (img.width, img.height) == (60, 140)


def test_media_routes_on_video(client: httpx.Client, video_server: AppServer, library: Path) -> None:
    still = client.get(f"{video_server.base}/media/thumbnails_big/bikes", headers=auth())
    assert still.status_code == 200 and still.headers["content-type"] == "image/jpeg"
    original = (library / "media" / "bikes.mp4").read_bytes()
    part = client.get(f"{video_server.base}/media/photos/bikes", headers={**auth(), "Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == original[:100]
    assert part.headers["content-type"] == "video/mp4"


@pytest.mark.parametrize("options", ["w:100", "vts:1/g:sm", "vtt:1:2:2:32:32", "vta:1:5:5:32:32/f:webp", "vtb:1"])
def test_a_video_of_an_unknown_codec_is_unprocessable(client: httpx.Client, video_server: AppServer,
                                                     options: str) -> None:
    response = client.get(f"{video_server.base}/unsafe/{options}/plain/local:///media/unknown_codec.mp4")
    assert response.status_code == 422 and response.text == "Unsupported or broken video"
    info = client.get(f"{video_server.base}/info/unsafe/f:1/plain/local:///media/unknown_codec.mp4")
    assert info.status_code == 422


def test_thumbnail_route(client: httpx.Client, video_server: AppServer) -> None:
    exact = client.get(f"{video_server.base}/thumbnail/bikes?frame=25", headers=auth())
    assert exact.status_code == 200 and exact.headers["content-type"] == "image/jpeg"
    assert exact.headers["cache-control"] == "public, max-age=86400"
    assert abs(expires_in(exact) - 86400) <= DATE_SLACK  # not IMGPROXY_TTL's year
    direct = client.get(f"{video_server.base}/unsafe/pr:video_thumbnail/vf:25/plain/local:///media/bikes.mp4")
    assert exact.content == direct.content
    cropped = client.get(f"{video_server.base}/thumbnail/bikes?frame=25&x=100&y=50&w=200&h=120", headers=auth())
    img = decode(cropped.content)
    assert (img.width, img.height) == (200, 120)
    whole = decode(exact.content)
    region = whole.crop(100, 50, 200, 120)
    assert np.abs(pixels(img) - pixels(region)).mean() < 6
    partial = client.get(f"{video_server.base}/thumbnail/bikes?frame=25&x=100&y=50", headers=auth())
    assert partial.status_code == 400
    assert client.get(f"{video_server.base}/thumbnail/bikes?frame=25").status_code == 401
    best = client.get(f"{video_server.base}/thumbnail/bikes", headers=auth())
    assert best.status_code == 200 and decode(best.content).width == 640


def test_best_frames_json(client: httpx.Client, video_server: AppServer) -> None:
    response = client.get(f"{video_server.base}/thumbnail/bikes/best.json?k=3", headers=auth())
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=86400"
    assert abs(expires_in(response) - 86400) <= DATE_SLACK
    frames = response.json()
    assert len(frames) == 3
    assert frames[0]["score"] >= frames[1]["score"] >= frames[2]["score"]
    for f in frames:
        assert set(f) >= {"frame", "timestamp", "score", "sharpness", "faces", "exposure", "url"}
        assert f["url"] == f"/thumbnail/bikes?frame={f['frame']}"
        assert 0 <= f["timestamp"] <= 5.1  # the first half of a 10 s video
    assert client.get(f"{video_server.base}/thumbnail/bikes/best.json?k=0", headers=auth()).status_code == 400


def test_representative_face(client: httpx.Client, video_server: AppServer) -> None:
    for key in ("portrait", "carphone_pristine"):
        response = client.get(f"{video_server.base}/media/representative_faces/{key}.jpg", headers=auth())
        assert response.status_code == 200, key
        img = decode(response.content)
        assert (img.width, img.height) == (320, 320)


def test_no_temp_files_left(client: httpx.Client, start_server, library: Path,  # type: ignore[no-untyped-def]
                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The server gets a temp folder of its own: the machine-wide one also receives other
    # processes' short-lived files (a parallel test worker's gcc run by ctypes.util.find_library
    # leaves cc*.res there for a moment), which are not ours to judge.
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    monkeypatch.setenv("TMPDIR", str(private))
    server = start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(library), IMGPROXY_ENABLE_VIDEO_THUMBNAILS="true",
                          IMGPROXY_TIMEOUT="60")
    statuses = [client.get(f"{server.base}/unsafe/vf:{n}/plain/local:///media/carphone_pristine.mp4").status_code
                for n in (0, 10, 99999)]
    assert statuses[:2] == [200, 200] and statuses[2] >= 400  # the last frame index is past the end
    client.get(f"{server.base}/unsafe/plain/local:///media/astronaut_bayer.dng")
    # Videos are decoded in memory; the RAW worker keeps one private folder while it lives,
    # emptied after each decode (tests/test_media_raw.py checks that) and removed on shutdown.
    names = os.listdir(private)
    assert {name for name in names if not name.startswith("imgproxy-raw-")} == set()
    if raw_available():  # the folder watched is the one the server writes to
        assert any(name.startswith("imgproxy-raw-") for name in names)
    server.close()
    assert os.listdir(private) == []


@pytest.mark.skipif(not raw_available(), reason="ImageMagick (libmagickwand-6.q16-6) and dcraw are not installed")
def test_camera_raw(client: httpx.Client, video_server: AppServer) -> None:
    from skimage import data

    response = client.get(f"{video_server.base}/unsafe/rs:fit:128:128/f:png/plain/local:///media/astronaut_bayer.dng")
    assert response.status_code == 200, response.text
    img = decode(response.content)
    assert (img.width, img.height) == (128, 128)
    reference = rgb_image(data.astronaut()).resize(128 / 512)
    assert np.abs(pixels(img) - pixels(reference)).mean() < 40  # demosaiced, not a CFA mosaic
