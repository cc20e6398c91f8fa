"""``POST /thumbnail/best``: uploads ranked through the real server, and every way one can fail."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("onnxruntime")

from imgproxy_py.media.tokens import TokenAuthority
from imgproxy_py.media.upload import FrameStore, UploadTooLargeError, read_upload
from tests.conftest import decode
from tests.media_clips import SMILING_FRAMES, smile_clip
from tests.servers import ASSETS, DATE_SLACK, AppServer, expires_in

SECRET = "upload-secret"
LIMIT = 400_000  # bytes: bikes.mp4 (510 kB) is over it, the test clips are far below


@pytest.fixture(scope="module")
def upload_server(start_server, tmp_path_factory: pytest.TempPathFactory) -> AppServer:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("uploadlib")
    (root / "media").mkdir()
    return start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(root), IMGPROXY_ENABLE_VIDEO_THUMBNAILS="true",
                        IMGPROXY_MEDIA_TOKEN_SECRET=SECRET, IMGPROXY_TIMEOUT="60", IMGPROXY_MEDIA_TTL="600",
                        IMGPROXY_MAX_VIDEO_FILE_SIZE=str(LIMIT), IMGPROXY_VIDEO_BEST_FRAME_SPAN="1",
                        IMGPROXY_VIDEO_BEST_FRAME_SAMPLES="8", IMGPROXY_VIDEO_BEST_FRAME_DUPLICATE_THRESHOLD="1")


def auth(scope: str = "") -> dict[str, str]:
    return {"Authorization": "Bearer " + TokenAuthority(SECRET).mint(scope)}


def post(client: httpx.Client, server: AppServer, name: str, data: bytes, k: int = 3,
         headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post(f"{server.base}/thumbnail/best?k={k}", files={"file": (name, data)},
                       headers=auth() if headers is None else headers)


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path: Path) -> Iterator[Path]:
    """A temp folder of this test's own, so that files other processes make in the shared one
    cannot be mistaken for leftovers (and none of the server's can hide among them)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    saved, tempfile.tempdir = tempfile.tempdir, str(folder)
    yield folder
    tempfile.tempdir = saved


def temp_files() -> set[str]:
    return set(os.listdir(tempfile.gettempdir()))


@pytest.mark.parametrize("container", ["mp4", "matroska", "avi", "mov", "webm"])
def test_upload_ranks_the_smiling_frames_first(client: httpx.Client, upload_server: AppServer,
                                               container: str) -> None:
    extension = {"matroska": "mkv"}.get(container, container)
    before = temp_files()
    # k=2: VP8 repeats identical frames exactly, and exact copies collapse onto one.
    response = post(client, upload_server, f"clip.{extension}", smile_clip(container), k=2)
    assert response.status_code == 200, response.text
    frames = response.json()
    assert len(frames) == 2
    assert {frame["frame"] for frame in frames} <= SMILING_FRAMES
    top = frames[0]
    assert top["dominant_expression"] == "happy" and top["expression_probability"] > 0.9
    assert set(top) >= {"frame", "timestamp", "score", "sharpness", "faces", "expression", "exposure", "url"}
    assert top["timestamp"] == pytest.approx(top["frame"] / 5, abs=0.01)
    thumbnail = client.get(upload_server.base + top["url"])
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    assert (decode(thumbnail.content).width, decode(thumbnail.content).height) == (256, 256)
    assert abs(expires_in(thumbnail) - 600) <= DATE_SLACK + 2
    assert temp_files() == before == set()  # nothing of the upload is left on disk


def test_thumbnail_ids_are_not_guessable(client: httpx.Client, upload_server: AppServer) -> None:
    for key in ("0", "a" * 24, "..%2F..%2Fetc"):
        assert client.get(f"{upload_server.base}/thumbnail/uploads/{key}.jpg").status_code == 404


@pytest.mark.parametrize(("name", "body", "status", "message"), [
    ("empty.mp4", b"", 400, "empty"),
    ("photo.jpg", (ASSETS / "detection" / "hopper.jpg").read_bytes(), 415, "not an MP4"),
    ("clip.txt", b"just some text, not a video at all", 415, "not an MP4"),
    ("cut.mp4", (ASSETS / "media" / "carphone_pristine.mp4").read_bytes()[:60_000], 422, ""),
    ("bikes.mp4", (ASSETS / "media" / "bikes.mp4").read_bytes(), 413, "over 400000 bytes"),
])
def test_bad_uploads_get_a_clear_4xx(client: httpx.Client, upload_server: AppServer, name: str, body: bytes,
                                     status: int, message: str) -> None:
    response = post(client, upload_server, name, body)
    assert response.status_code == status, response.text
    assert message in response.text


def test_requests_that_are_not_uploads(client: httpx.Client, upload_server: AppServer) -> None:
    url = f"{upload_server.base}/thumbnail/best"
    clip = smile_clip()
    assert client.post(url, files={"file": ("c.mp4", clip)}).status_code == 401
    assert client.post(url, files={"file": ("c.mp4", clip)}, headers=auth("bikes")).status_code == 401
    assert client.post(url, content=clip, headers={**auth(), "Content-Type": "video/mp4"}).status_code == 415
    missing = client.post(url, files={"video": ("c.mp4", clip)}, headers=auth())
    assert missing.status_code == 400 and "'file' is missing" in missing.text
    assert client.post(f"{url}?k=0", files={"file": ("c.mp4", clip)}, headers=auth()).status_code == 400


def test_client_that_leaves_mid_upload(client: httpx.Client, upload_server: AppServer) -> None:
    before = temp_files()
    with socket.create_connection(("127.0.0.1", upload_server.port)) as sock:
        head = (f"POST /thumbnail/best HTTP/1.1\r\nHost: x\r\nAuthorization: {auth()['Authorization']}\r\n"
                "Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: 300000\r\n\r\n"
                "--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\r\n")
        sock.sendall(head.encode() + smile_clip()[:20_000])
    # The server is still fine, and nothing was left behind.
    assert post(client, upload_server, "clip.mp4", smile_clip(), k=1).status_code == 200
    assert temp_files() == before == set()


def test_size_limit_is_enforced_while_streaming() -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v.mp4\"\r\n\r\n"
        for _ in range(1000):  # 64 MB announced by nobody: no Content-Length
            sent += 1
            yield b"\0" * 65536

    with pytest.raises(UploadTooLargeError):
        asyncio.run(read_upload("multipart/form-data; boundary=B", None, chunks(), 1_000_000))
    assert sent == 1_000_000 // 65536 + 1  # stopped at the chunk that crossed the limit


def test_frame_store_is_bounded_and_expires() -> None:
    store = FrameStore(ttl=600, max_items=3, max_bytes=1000)
    keys = [store.put(bytes([n]) * 100) for n in range(5)]
    assert len(store) == 3 and store.get(keys[0]) is None and store.get(keys[4]) is not None
    big = store.put(b"x" * 900)
    assert store.get(big) is not None and len(store) == 2  # the byte budget pushed out the oldest
    gone = FrameStore(ttl=0)
    assert gone.get(gone.put(b"x")) is None



def test_upload_that_does_not_arrive_in_time(start_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "media").mkdir()
    quick = start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(tmp_path), IMGPROXY_ENABLE_VIDEO_THUMBNAILS="true",
                         IMGPROXY_MEDIA_TOKEN_SECRET=SECRET, IMGPROXY_TIMEOUT="1")
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as sock:
        head = (f"POST /thumbnail/best HTTP/1.1\r\nHost: x\r\nAuthorization: {auth()['Authorization']}\r\n"
                "Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: 300000\r\n\r\n"
                "--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\r\n")
        sock.sendall(head.encode() + smile_clip()[:20_000])  # ... and the rest never comes
        answer = sock.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 503"), answer
    assert temp_files() == set()
