"""A short fuzz of the media routes (``/media/...``, ``/thumbnail/...``) through the real server:
any hash, frame, crop, ``k``, face index, token or byte range gets a documented status (200,
206, 304, 400, 401, 404, 416, 422, or 501 for a missing extra), never a 500."""

from __future__ import annotations

import collections
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgproxy_py.media.tokens import TokenAuthority
from tests.servers import ASSETS, AppServer

EXAMPLES = int(os.environ.get("FUZZ_MEDIA_EXAMPLES", "100"))
SECRET = "media-fuzz"
MEDIA_STATUSES = frozenset({200, 206, 304, 400, 401, 404, 416, 422, 501, 503})
HASHES = ("bikes", "portrait", "astronaut_bayer", "nope", "..%2F..%2Fetc%2Fpasswd", "%00", "")
NUMBERS = st.one_of(st.integers(-5, 500).map(str),
                    st.sampled_from(["", "-0", "1e3", "nan", "inf", "9" * 40, "0x10", "1.5", "%00", "a", " 1"]))
ROUTES = ("thumbnails_big", "square_thumbnails", "small_square_thumbnails", "photos", "nope")


@pytest.fixture(scope="module")
def media_server(start_server: Callable[..., AppServer], tmp_path_factory: pytest.TempPathFactory) -> AppServer:
    root = tmp_path_factory.mktemp("media-fuzz")
    media = root / "media"
    media.mkdir()
    shutil.copy(ASSETS / "media" / "bikes.mp4", media / "bikes.mp4")
    shutil.copy(ASSETS / "media" / "astronaut_bayer.dng", media / "astronaut_bayer.dng")
    shutil.copy(ASSETS / "core" / "hopper.jpg", media / "portrait.jpg")
    return start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(root), IMGPROXY_ENABLE_VIDEO_THUMBNAILS="true",
                        IMGPROXY_MEDIA_TOKEN_SECRET=SECRET, IMGPROXY_TIMEOUT="20",
                        IMGPROXY_PRESETS_PATH=str(Path(__file__).parents[1] / "presets" / "default.conf"))


@st.composite
def media_request(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    """A media route's path and query, with hostile hashes and numbers."""
    h = draw(st.sampled_from(HASHES))
    kind = draw(st.sampled_from(["frame", "best", "faces", "face", "route", "representative", "avatar", "photo_face"]))
    if kind == "frame":
        keys = draw(st.lists(st.sampled_from(["frame", "x", "y", "w", "h", "k", "other"]), max_size=6))
        return f"/thumbnail/{h}", {key: draw(NUMBERS) for key in keys}
    if kind == "best":
        return f"/thumbnail/{h}/best.json", {"k": draw(NUMBERS)} if draw(st.booleans()) else {}
    if kind == "faces":
        return f"/thumbnail/{h}/faces.json", {}
    if kind == "face":
        return f"/thumbnail/{h}/faces/{draw(NUMBERS)}.jpg", {}
    if kind == "route":
        return f"/media/{draw(st.sampled_from(ROUTES))}/{h}", {}
    if kind == "representative":
        return f"/media/representative_faces/{h}.jpg", {}
    if kind == "avatar":
        return f"/media/avatars/{draw(st.text('abcXYZ_', max_size=5))}avatar_{h}.png", {}
    return f"/media/faces/{h}_{draw(NUMBERS)}.jpg", {}


def test_any_media_request_gets_a_documented_status(media_server: AppServer, client: httpx.Client) -> None:
    statuses: collections.Counter[int] = collections.Counter()
    token = {"Authorization": "Bearer " + TokenAuthority(SECRET).mint()}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(request=media_request(), signed=st.booleans(),
           byte_range=st.sampled_from([None, "bytes=0-9", "bytes=10-5", "bytes=-0", "bytes=999999999-", "x"]))
    def send(request: tuple[str, dict[str, str]], signed: bool, byte_range: str | None) -> None:
        path, query = request
        headers = dict(token) if signed else {}
        if byte_range is not None:
            headers["Range"] = byte_range
        response = client.get(media_server.base + path, params=query, headers=headers)
        statuses[response.status_code] += 1
        assert response.status_code in MEDIA_STATUSES, (path, query, response.status_code, response.text[:200])

    send()
    assert statuses[200] + statuses[206] > 0, statuses  # the fuzz reached the routes' work
    assert client.get(f"{media_server.base}/media/photos/portrait", headers=token).status_code == 200
    assert media_server.services.workers.active == 0
