"""Pages, caching, integrity and security options through the real server, with a real
loopback origin that counts its requests (video tiles and animations: test_http_video_frames.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import httpx
import pytest
import pyvips

from tests.conftest import asset, decode
from tests.servers import AppServer, Origin

HOPPER = asset("hopper.jpg").read_bytes()  # 128x128, 6412 bytes
ISS = asset("iss634.gif").read_bytes()  # 245x245, 42 frames
CACHED = {"Cache-Control": "max-age=3600"}  # the source cache may answer without asking again


@pytest.fixture(scope="module")
def allowing(start_server: Callable[..., AppServer]) -> AppServer:
    """Caches on, and both kinds of option allowed."""
    return start_server(IMGPROXY_SOURCE_CACHE_SIZE_MB="16", IMGPROXY_RESULT_CACHE_SIZE_MB="16",
                        IMGPROXY_ALLOW_BYPASS_CACHE="true", IMGPROXY_ALLOW_SECURITY_OPTIONS="true")


def get(client: httpx.Client, server: AppServer, options: str, source: str) -> httpx.Response:
    return client.get(f"{server.base}/unsafe/{options}/plain/{source}")


# --- pages --------------------------------------------------------------------------------------

def frames(body: bytes) -> tuple[int, int]:
    """An animation's frame count and frame height."""
    img = pyvips.Image.new_from_buffer(body, "", n=-1)
    pages = img.get("n-pages") if img.get_typeof("n-pages") else 1
    return pages, img.height // pages


COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0))


def coloured_pages() -> bytes:
    """A 4-frame 40x30 GIF: red, green, blue, yellow."""
    pages = [pyvips.Image.black(40, 30).new_from_image(list(c)).copy(interpretation="srgb") for c in COLOURS]
    stack = pyvips.Image.arrayjoin(pages, across=1).cast("uchar").copy()
    stack.set_type(pyvips.GValue.gint_type, "page-height", 30)
    return bytes(stack.gifsave_buffer())


def test_pages_stack_frames_top_to_bottom(server: AppServer, origin: Origin, client: httpx.Client) -> None:
    url = origin.add("/delivery/pages.gif", coloured_pages())
    stacked = decode(get(client, server, "pg:1/pgs:3/f:png", url).content)
    assert (stacked.width, stacked.height) == (40, 90)
    # From the top: the page asked for, then the ones after it.
    for index, colour in enumerate(COLOURS[1:]):
        assert stacked.crop(0, 30 * index, 40, 30).getpoint(20, 15)[:3] == list(colour)
    assert decode(get(client, server, "pg:1/f:png", url).content).height == 30  # pages defaults to 1


def test_pages_are_clamped_to_the_source_and_resized_as_one_image(server: AppServer, client: httpx.Client) -> None:
    all_left = decode(get(client, server, "pg:40/pgs:10/f:png", "local:///core/iss634.gif").content)
    assert (all_left.width, all_left.height) == (245, 2 * 245)  # pages 40 and 41 exist
    fitted = decode(get(client, server, "pgs:4/rs:fit:100:100/f:png", "local:///core/iss634.gif").content)
    assert (fitted.width, fitted.height) == (25, 100)  # 245x980 fitted into 100x100


@pytest.mark.parametrize("source", ["hopper.jpg", "hopper.png", "hopper.gif", "hopper.tif", "hopper.avif",
                                    "hopper.heif"])
def test_a_page_of_a_single_picture_source_is_ignored(server: AppServer, client: httpx.Client, source: str) -> None:
    """imgproxy's JPEG, PNG, SVG and HEIF loaders take no page number: a preset's ``pg:1`` (a
    PDF's second page) still renders every photo, here and in ``/info``."""
    plain = get(client, server, "rs:fit:64:64/f:png", f"local:///core/{source}")
    paged = get(client, server, "pg:1/rs:fit:64:64/f:png", f"local:///core/{source}")
    assert plain.status_code == paged.status_code == 200
    assert paged.content == plain.content
    info = client.get(f"{server.base}/info/unsafe/pg:5/plain/local:///core/{source}")
    assert info.status_code == 200 and info.json()["width"] == 128


def test_a_page_past_the_last_of_several_is_refused(server: AppServer, client: httpx.Client) -> None:
    assert get(client, server, "pg:41/f:png", "local:///core/iss634.gif").status_code == 200
    assert get(client, server, "pg:42/f:png", "local:///core/iss634.gif").status_code == 422


def test_pages_of_an_animated_result_keep_every_frame(allowing: AppServer, client: httpx.Client) -> None:
    # imgproxy ignores pages when both the source and the result are animated.
    response = get(client, allowing, "maf:5/pgs:2/f:gif", "local:///core/iss634.gif")
    assert response.status_code == 200
    assert frames(response.content) == (5, 245)


# --- bypass_cache -------------------------------------------------------------------------------

def test_bypass_cache_asks_the_origin_and_processes_again(allowing: AppServer, origin: Origin,
                                                          client: httpx.Client) -> None:
    url = origin.add("/delivery/bypass.jpg", HOPPER, headers=CACHED)
    services = allowing.services
    first = get(client, allowing, "rs:fit:64:64", url)
    processed = services.images_processed
    again = get(client, allowing, "rs:fit:64:64", url)
    assert first.status_code == again.status_code == 200
    assert origin.count("/delivery/bypass.jpg") == 1 and services.images_processed == processed  # both cached
    bypassed = get(client, allowing, "rs:fit:64:64/bc:1", url)
    assert bypassed.status_code == 200 and decode(bypassed.content).width == 64
    assert origin.count("/delivery/bypass.jpg") == 2 and services.images_processed == processed + 1
    # bc leaves the cache key alone: the plain URL and the bypassing one share one ETag.
    assert bypassed.headers.get("etag") == first.headers.get("etag")
    get(client, allowing, "rs:fit:64:64/bc:0", url)
    assert origin.count("/delivery/bypass.jpg") == 2


def test_bypass_cache_needs_the_setting(server: AppServer, origin: Origin, client: httpx.Client) -> None:
    url = origin.add("/delivery/bypass-refused.jpg", HOPPER)
    response = get(client, server, "bc:1", url)
    assert response.status_code == 403 and "IMGPROXY_ALLOW_BYPASS_CACHE" in response.text
    assert origin.count("/delivery/bypass-refused.jpg") == 0


# --- cache_tags ---------------------------------------------------------------------------------

def test_cache_tags_headers(server: AppServer, start_server: Callable[..., AppServer], client: httpx.Client) -> None:
    tagged = get(client, server, "ct:cats:kitten-1/rs:fit:32:32", "local:///core/hopper.jpg")
    assert tagged.status_code == 200
    assert tagged.headers["cache-tag"] == "cats,kitten-1"
    assert tagged.headers["x-amz-meta-cache-tag"] == "cats,kitten-1"
    assert "cache-tag" not in get(client, server, "rs:fit:32:32", "local:///core/hopper.jpg").headers
    for fmt, present, absent in (("cloudflare", "cache-tag", "x-amz-meta-cache-tag"),
                                 ("cloudfront", "x-amz-meta-cache-tag", "cache-tag")):
        only = start_server(IMGPROXY_CACHE_TAGS_FORMAT=fmt)
        headers = get(client, only, "ct:cats", "local:///core/hopper.jpg").headers
        assert headers[present] == "cats" and absent not in headers
    silent = start_server(IMGPROXY_CACHE_TAGS_FORMAT="none")
    headers = get(client, silent, "ct:cats", "local:///core/hopper.jpg").headers
    assert "cache-tag" not in headers and "x-amz-meta-cache-tag" not in headers


def test_cache_tags_format_is_checked_at_start_up() -> None:
    from imgproxy_py.config import read_config

    _, problems = read_config({"IMGPROXY_CACHE_TAGS_FORMAT": "akamai"})
    assert any("IMGPROXY_CACHE_TAGS_FORMAT" in p for p in problems)


# --- hashsum ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["md5", "sha1", "sha256", "sha512"])
def test_hashsum_of_the_source(kind: str, server: AppServer, origin: Origin, client: httpx.Client) -> None:
    url = origin.add(f"/delivery/hs-{kind}.jpg", HOPPER)
    digest = hashlib.new(kind, HOPPER).hexdigest()
    assert get(client, server, f"hs:{kind}:{digest}", url).status_code == 200
    assert get(client, server, f"hs:{kind}:{digest.upper()}", url).status_code == 200
    wrong = get(client, server, f"hs:{kind}:{'0' * len(digest)}", url)
    assert wrong.status_code == 422 and "hashsum" in wrong.text


def test_hashsum_none_and_a_raw_source(server: AppServer, origin: Origin, client: httpx.Client) -> None:
    url = origin.add("/delivery/hs-raw.jpg", HOPPER)
    assert get(client, server, "hs:none", url).status_code == 200
    assert get(client, server, f"raw:1/hs:md5:{hashlib.md5(HOPPER).hexdigest()}", url).content == HOPPER
    assert get(client, server, f"raw:1/hs:md5:{'1' * 32}", url).status_code == 422


# --- security options ---------------------------------------------------------------------------

@pytest.mark.parametrize("option", ["msr:1", "max_src_file_size:100", "maf:2", "mafr:1", "mrd:10"])
def test_security_options_need_the_setting(option: str, server: AppServer, client: httpx.Client) -> None:
    response = get(client, server, option, "local:///core/hopper.jpg")
    assert response.status_code == 403 and "Security processing options are not allowed" in response.text


def test_max_src_file_size_smaller_than_the_source(allowing: AppServer, origin: Origin,
                                                   client: httpx.Client) -> None:
    url = origin.add("/delivery/msfs.jpg", HOPPER, headers=CACHED)
    small = get(client, allowing, f"msfs:{len(HOPPER) - 1}", url)
    assert small.status_code == 422 and "too big" in small.text
    assert get(client, allowing, f"msfs:{len(HOPPER)}", url).status_code == 200
    # A cached copy is held to the request's limit too.
    assert get(client, allowing, "msfs:100", url).status_code == 422


def test_max_src_file_size_raises_the_setting(start_server: Callable[..., AppServer], origin: Origin,
                                              client: httpx.Client) -> None:
    strict = start_server(IMGPROXY_MAX_SRC_FILE_SIZE="1000", IMGPROXY_ALLOW_SECURITY_OPTIONS="true")
    url = origin.add("/delivery/msfs-raise.jpg", HOPPER)
    assert get(client, strict, "rs:fit:10:10", url).status_code == 422
    assert get(client, strict, "msfs:10000/rs:fit:10:10", url).status_code == 200


def test_max_src_resolution(allowing: AppServer, client: httpx.Client) -> None:
    refused = get(client, allowing, "msr:0.01", "local:///core/hopper.jpg")  # 10 000 px < 128x128
    assert refused.status_code == 422 and "resolution is too big" in refused.text
    assert get(client, allowing, "msr:0.02", "local:///core/hopper.jpg").status_code == 200


def test_max_animation_frames_and_frame_resolution(allowing: AppServer, client: httpx.Client) -> None:
    assert frames(get(client, allowing, "f:gif", "local:///core/iss634.gif").content) == (1, 245)  # the setting: 1
    assert frames(get(client, allowing, "maf:3/f:gif", "local:///core/iss634.gif").content) == (3, 245)
    refused = get(client, allowing, "maf:3/mafr:0.05/f:gif", "local:///core/iss634.gif")  # 245x245 > 50 000 px
    assert refused.status_code == 422 and "resolution is too big" in refused.text
    # The frame limit is for animations: a still image (or one frame) answers to the source limit only.
    assert get(client, allowing, "mafr:0.01", "local:///core/hopper.jpg").status_code == 200
    assert get(client, allowing, "mafr:0.05/f:png", "local:///core/iss634.gif").status_code == 200


def test_max_result_dimension(allowing: AppServer, client: httpx.Client) -> None:
    capped = decode(get(client, allowing, "mrd:50/rs:fit:100:80", "local:///core/hopper.jpg").content)
    assert max(capped.width, capped.height) == 50
    free = decode(get(client, allowing, "rs:fit:100:80", "local:///core/hopper.jpg").content)
    assert (free.width, free.height) == (80, 80)


# --- refused forms ------------------------------------------------------------------------------

@pytest.mark.parametrize(("option", "problem"), [
    ("pgs:0", "pages"), ("pgs:x", "pages"), ("hs:crc32:00", "hashsum"), ("hs:md5:abc", "32 hex digits"),
    ("hs:md5", "32 hex digits"), ("hs:sha1:" + "g" * 40, "hashsum"), ("ct:a,b", "cache_tags"), ("bc:1:2", "bypass"),
    ("msr:-1", "max_src_resolution"), ("msfs:1.5", "max_src_file_size"), ("maf:0", "max_animation_frames"),
    ("mrd:-3", "max_result_dimension"), ("vtt:1:0:2:64:64", "columns"), ("vtt:1:2:2", "video_thumbnail_tile"),
    ("vta:1:100:101:64:64", "frames"), ("vta:1:100:2:0:0", "a width or a height"),
])
def test_refused_forms_are_404_naming_the_problem(option: str, problem: str, allowing: AppServer,
                                                  client: httpx.Client) -> None:
    response = get(client, allowing, option, "local:///core/hopper.jpg")
    assert response.status_code == 404
    assert problem in response.text
