"""Media routes: named presets behind friendly URLs, media index, bearer tokens, Range."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from imgproxy_py.media.tokens import TokenAuthority
from tests.conftest import asset, decode, rgb_image
from tests.servers import DATE_SLACK, AppServer, expires_in

SECRET = "media-secret"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local root with a media folder: one portrait, one photo of two people, one landscape,
    a cat photo without a human face (scikit-image's chelsea, 451x300), and small sources: a
    160x160 portrait and a 30x20 picture."""
    from skimage import data

    root = tmp_path_factory.mktemp("local")
    media = root / "media"
    media.mkdir()
    portrait = rgb_image(data.astronaut())
    portrait.jpegsave(str(media / "portrait01.jpg"), Q=90)
    pair = portrait.resize(0.5).join(portrait.resize(0.5).fliphor(), "horizontal")
    pair.jpegsave(str(media / "pair01.jpg"), Q=90)
    shutil.copy(asset("hopper.png"), media / "hopper01.png")
    rgb_image(data.chelsea()).jpegsave(str(media / "cat01.jpg"), Q=90)
    portrait.resize(160 / 512).jpegsave(str(media / "small01.jpg"), Q=90)
    rgb_image(data.coffee()).resize(0.05).jpegsave(str(media / "tiny01.jpg"), Q=90)
    (root / "outside.jpg").write_bytes(asset("hopper.jpg").read_bytes())
    return root


@pytest.fixture(scope="module")
def media_server(start_server, library: Path) -> AppServer:  # type: ignore[no-untyped-def]
    return start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(library), IMGPROXY_MEDIA_ROOT=str(library / "media"),
                        IMGPROXY_MEDIA_TOKEN_SECRET=SECRET, IMGPROXY_MEDIA_INDEX_REFRESH_INTERVAL="0",
                        IMGPROXY_PRESETS_PATH=str(Path(__file__).parents[1] / "presets" / "default.conf"))


def auth(scope: str = "") -> dict[str, str]:
    return {"Authorization": "Bearer " + TokenAuthority(SECRET).mint(scope)}


@pytest.mark.parametrize("route", ["thumbnails_big", "square_thumbnails", "small_square_thumbnails"])
def test_route_equals_the_preset_request(client: httpx.Client, media_server: AppServer, route: str) -> None:
    routed = client.get(f"{media_server.base}/media/{route}/portrait01", headers=auth())
    assert routed.status_code == 200
    direct = client.get(f"{media_server.base}/unsafe/preset:{route}/plain/local:///media/portrait01.jpg")
    assert routed.content == direct.content  # byte for byte
    assert routed.headers["content-type"] == direct.headers["content-type"] == "image/jpeg"
    assert routed.headers["cache-control"] == "public, max-age=86400"
    size = {"thumbnails_big": (512, 512), "square_thumbnails": (500, 500), "small_square_thumbnails": (32, 32)}
    img = decode(routed.content)
    assert (img.width, img.height) == size[route]


@pytest.mark.parametrize(("path", "side"), [
    ("square_thumbnails/cat01", 500),
    ("square_thumbnails/tiny01", 500),
    ("small_square_thumbnails/tiny01", 32),
    ("faces/small01_0.jpg", 256),
    ("avatars/Eileenavatar_small01.png", 256),
    ("avatars/Tomavatar_tiny01.png", 256),
    ("representative_faces/small01.jpg", 320),
])
def test_square_routes_are_square_for_small_sources(client: httpx.Client, media_server: AppServer, path: str,
                                                    side: int) -> None:
    # A photo grid lays out equal tiles: a source smaller than the tile is enlarged to fill it.
    response = client.get(f"{media_server.base}/media/{path}", headers=auth())
    assert response.status_code == 200, path
    img = decode(response.content)
    assert (img.width, img.height) == (side, side), path
    # Filled with the picture, not padded: no edge is a flat band of background.
    edges = (img.crop(0, 0, side, 2), img.crop(0, side - 2, side, 2), img.crop(0, 0, 2, side),
             img.crop(side - 2, 0, 2, side))
    assert min(edge.deviate() for edge in edges) > 5, path


def test_hash_by_md5_of_content(client: httpx.Client, media_server: AppServer, library: Path) -> None:
    md5 = hashlib.md5((library / "media" / "hopper01.png").read_bytes()).hexdigest()
    by_md5 = client.get(f"{media_server.base}/media/square_thumbnails/{md5}", headers=auth())
    by_name = client.get(f"{media_server.base}/media/square_thumbnails/hopper01", headers=auth())
    assert by_md5.status_code == 200 and by_md5.content == by_name.content


def test_new_files_are_found_after_a_miss(client: httpx.Client, media_server: AppServer, library: Path) -> None:
    assert client.get(f"{media_server.base}/media/square_thumbnails/late01", headers=auth()).status_code == 404
    shutil.copy(asset("hopper.jpg"), library / "media" / "late01.jpg")
    assert client.get(f"{media_server.base}/media/square_thumbnails/late01", headers=auth()).status_code == 200


def test_nothing_outside_the_media_root(client: httpx.Client, media_server: AppServer) -> None:
    for key in ("outside", "..", "..%2Foutside", "%2e%2e"):
        response = client.get(f"{media_server.base}/media/square_thumbnails/{key}", headers=auth())
        assert response.status_code == 404, key


def test_tokens(client: httpx.Client, media_server: AppServer, start_server, library: Path) -> None:  # type: ignore[no-untyped-def]
    url = f"{media_server.base}/media/square_thumbnails/portrait01"
    missing = client.get(url)
    assert missing.status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert client.get(url, headers=auth("portrait01")).status_code == 200
    assert client.get(url, headers=auth("pair01")).status_code == 401  # scoped to another file
    short = start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(library), IMGPROXY_MEDIA_ROOT=str(library / "media"),
                         IMGPROXY_MEDIA_TOKEN_SECRET=SECRET, IMGPROXY_MEDIA_TOKEN_TTL="1",
                         IMGPROXY_PRESETS_PATH=str(Path(__file__).parents[1] / "presets" / "default.conf"))
    token = auth()
    time.sleep(2.1)
    expired = client.get(f"{short.base}/media/square_thumbnails/portrait01", headers=token)
    assert expired.status_code == 401 and "expired" in expired.text


def test_faces_route(client: httpx.Client, media_server: AppServer) -> None:
    left = client.get(f"{media_server.base}/media/faces/pair01_0.jpg", headers=auth())
    right = client.get(f"{media_server.base}/media/faces/pair01_1.jpg", headers=auth())
    assert left.status_code == right.status_code == 200
    a, b = decode(left.content), decode(right.content)
    assert (a.width, a.height) == (b.width, b.height) == (256, 256)
    # The right face is the left one mirrored.
    assert abs(a.flip("horizontal").avg() - b.avg()) < 3
    direct = client.get(f"{media_server.base}/unsafe/pr:face/oix:1/plain/local:///media/pair01.jpg")
    assert direct.content == right.content
    assert client.get(f"{media_server.base}/media/faces/pair01_2.jpg", headers=auth()).status_code == 404


def test_avatar_route(client: httpx.Client, media_server: AppServer) -> None:
    response = client.get(f"{media_server.base}/media/avatars/Eileenavatar_portrait01.png", headers=auth())
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    img = decode(response.content)
    assert (img.width, img.height) == (256, 256)


def test_avatar_without_a_face_falls_back_to_smart_crop(client: httpx.Client, media_server: AppServer) -> None:
    response = client.get(f"{media_server.base}/media/avatars/Tomavatar_cat01.png", headers=auth())
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    img = decode(response.content)
    assert (img.width, img.height) == (256, 256)
    # The same picture as a plain smart crop of the whole photo.
    smart = client.get(f"{media_server.base}/unsafe/rs:fill:256:256:1/g:sm/f:png/plain/local:///media/cat01.jpg")
    assert smart.status_code == 200
    assert abs(img.avg() - decode(smart.content).avg()) < 1
    assert (img - decode(smart.content)).abs().max() < 8
    # The route is its preset: a plain URL with it falls back too.
    direct = client.get(f"{media_server.base}/unsafe/pr:avatar/plain/local:///media/cat01.jpg")
    assert direct.status_code == 200 and direct.content == response.content


def test_a_face_that_does_not_exist_is_404(client: httpx.Client, media_server: AppServer) -> None:
    # A wrong picture is worse than none: face n of a photo with fewer faces is not found.
    for path in ("faces/cat01_0.jpg", "faces/portrait01_1.jpg"):
        assert client.get(f"{media_server.base}/media/{path}", headers=auth()).status_code == 404, path
    base = f"{media_server.base}/unsafe"
    assert client.get(f"{base}/pr:face/oix:0/plain/local:///media/cat01.jpg").status_code == 404
    # oix:0:1 falls back; the strict URL still answers 404 afterwards (no shared cache entry).
    lenient = client.get(f"{base}/cob:1.8:face/oix:0:1/rs:fill:64:64/plain/local:///media/cat01.jpg")
    assert lenient.status_code == 200 and decode(lenient.content).width == 64
    assert client.get(f"{base}/cob:1.8:face/oix:0/rs:fill:64:64/plain/local:///media/cat01.jpg").status_code == 404
    # Without an index, crop_objects with nothing found is normal processing (imgproxy's rule).
    plain = client.get(f"{base}/cob:1.8:face/rs:fill:100:100/plain/local:///media/cat01.jpg")
    assert plain.status_code == 200 and decode(plain.content).width == 100


def test_cache_headers_agree(client: httpx.Client, media_server: AppServer, start_server, library: Path) -> None:  # type: ignore[no-untyped-def]
    # IMGPROXY_TTL (a year by default) is the engine's; a media response's Expires must be
    # now + the max-age it sends (IMGPROXY_MEDIA_TTL), whatever the answer: whole, part, 304.
    whole = client.get(f"{media_server.base}/media/square_thumbnails/portrait01", headers=auth())
    part = client.get(f"{media_server.base}/media/photos/portrait01", headers={**auth(), "Range": "bytes=0-9"})
    assert (whole.status_code, part.status_code) == (200, 206)
    for response in (whole, part):
        assert response.headers["cache-control"] == "public, max-age=86400"
        assert abs(expires_in(response) - 86400) <= DATE_SLACK
    tagged = start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(library), IMGPROXY_MEDIA_ROOT=str(library / "media"),
                          IMGPROXY_MEDIA_TOKEN_SECRET=SECRET, IMGPROXY_MEDIA_TTL="600", IMGPROXY_USE_ETAG="true",
                          IMGPROXY_PRESETS_PATH=str(Path(__file__).parents[1] / "presets" / "default.conf"))
    url = f"{tagged.base}/media/square_thumbnails/portrait01"
    first = client.get(url, headers=auth())
    again = client.get(url, headers={**auth(), "If-None-Match": first.headers["etag"]})
    assert (first.status_code, again.status_code) == (200, 304)
    for response in (first, again):
        assert response.headers["cache-control"] == "public, max-age=600"
        assert abs(expires_in(response) - 600) <= DATE_SLACK


def test_original_with_range(client: httpx.Client, media_server: AppServer, library: Path) -> None:
    original = (library / "media" / "portrait01.jpg").read_bytes()
    whole = client.get(f"{media_server.base}/media/photos/portrait01", headers=auth())
    assert whole.content == original and whole.headers["accept-ranges"] == "bytes"
    part = client.get(f"{media_server.base}/media/photos/portrait01", headers={**auth(), "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == original[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(original)}"
    tail = client.get(f"{media_server.base}/media/photos/portrait01", headers={**auth(), "Range": "bytes=-5"})
    assert tail.content == original[-5:]
    bad = client.get(f"{media_server.base}/media/photos/portrait01", headers={**auth(), "Range": "bytes=999999-"})
    assert bad.status_code == 416


def test_token_command_mints_a_working_token(client: httpx.Client, media_server: AppServer) -> None:
    run = subprocess.run([sys.executable, "-m", "imgproxy_py", "token", "--hash", "portrait01", "--secret", SECRET],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    headers = {"Authorization": "Bearer " + run.stdout.strip()}
    assert client.get(f"{media_server.base}/media/square_thumbnails/portrait01", headers=headers).status_code == 200


def test_bad_routes_file_stops_start_up(tmp_path: Path, library: Path) -> None:
    from imgproxy_py.config import load_config
    from imgproxy_py.errors import ConfigError
    from imgproxy_py.server.composition import build_services

    routes = tmp_path / "routes.conf"
    routes.write_text("/media/x/<hash> pr:x <hash>\n/nohash pr:x <hash>\n/media/y/<hash> pr:<z> <hash>\n")
    env = {"IMGPROXY_LOCAL_FILESYSTEM_ROOT": str(library), "IMGPROXY_MEDIA_ROUTES_PATH": str(routes)}
    with pytest.raises(ConfigError) as err:
        build_services(load_config(env))
    text = "\n".join(err.value.problems)
    assert "routes.conf:2" in text and "routes.conf:3" in text
