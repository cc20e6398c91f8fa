"""imgproxy Pro's internal cache in a folder two nodes share (IMGPROXY_CACHE_USE=fs): what one
node renders the other serves without the source; the key ignores the signature and follows
the negotiated format and the configured headers and cookies; entries expire with the TTL."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from base64 import urlsafe_b64encode
from collections.abc import Callable
from dataclasses import replace
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from imgproxy_py.cluster.entry import CacheEntry
from imgproxy_py.cluster.internal import build_internal_cache
from imgproxy_py.config import read_config
from tests.conftest import decode
from tests.ports import free_port
from tests.servers import AppServer, Origin, OriginResponse
from tests.test_cache_entry import with_head

KEY_A, SALT_A = "aa" * 16, "bb" * 16
KEY_B, SALT_B = "cc" * 16, "dd" * 16


def signed(path: str, key: str, salt: str) -> str:
    mac = hmac.new(bytes.fromhex(key), bytes.fromhex(salt) + path.encode(), hashlib.sha256).digest()
    return "/" + urlsafe_b64encode(mac).rstrip(b"=").decode() + path


@pytest.fixture()
def two_nodes(start_server: Callable[..., AppServer], tmp_path: Path) -> tuple[AppServer, AppServer, Path]:
    env = {"IMGPROXY_CACHE_USE": "fs", "IMGPROXY_CACHE_FS_ROOT": str(tmp_path), "IMGPROXY_CACHE_BUCKET": "imgs",
           "IMGPROXY_CACHE_PATH_PREFIX": "results", "IMGPROXY_KEY": f"{KEY_A},{KEY_B}",
           "IMGPROXY_SALT": f"{SALT_A},{SALT_B}", "IMGPROXY_AUTO_WEBP": "true", "IMGPROXY_TTL": "3600",
           "IMGPROXY_CACHE_KEY_HEADERS": "X-Tenant", "IMGPROXY_CACHE_KEY_COOKIES": "plan"}
    return start_server(**env), start_server(**env), tmp_path


def test_a_result_rendered_on_one_node_is_served_by_the_other(
        two_nodes: tuple[AppServer, AppServer, Path], origin: Origin, client: httpx.Client,
        photo_jpeg: bytes) -> None:
    node_a, node_b, root = two_nodes
    url = origin.add("/fs-cache/one.jpg", photo_jpeg)
    path = f"/rs:fit:160:160/plain/{url}@png"
    first = client.get(node_a.base + signed(path, KEY_A, SALT_A))
    assert first.status_code == 200 and origin.count("/fs-cache/one.jpg") == 1
    # Signed with the other key/salt pair, on the other node: same entry, no download.
    second = client.get(node_b.base + signed(path, KEY_B, SALT_B))
    assert second.status_code == 200 and second.content == first.content
    assert origin.count("/fs-cache/one.jpg") == 1
    assert node_b.services.internal_cache.renders == 0
    assert (decode(second.content).width, decode(second.content).height) == (160, 160)
    assert second.headers["content-type"] == "image/png"
    # The entry lives under root/bucket/prefix/ab/cd/<key>.
    files = [p for p in (root / "imgs" / "results").rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].parent.parent.parent == root / "imgs" / "results"
    assert CacheEntry.from_bytes(files[0].read_bytes()).body == first.content
    # A bad signature is still refused: the cache sits behind the security checks.
    assert client.get(node_b.base + "/bad-signature" + path).status_code == 403


def test_the_key_follows_format_negotiation_headers_and_cookies(
        two_nodes: tuple[AppServer, AppServer, Path], origin: Origin, client: httpx.Client,
        photo_jpeg: bytes) -> None:
    node_a, node_b, _ = two_nodes
    url = origin.add("/fs-cache/two.jpg", photo_jpeg)
    target = signed(f"/rs:fit:100:100/plain/{url}", KEY_A, SALT_A)
    jpeg = client.get(node_a.base + target, headers={"Accept": "image/jpeg"})
    webp = client.get(node_b.base + target, headers={"Accept": "image/webp,*/*"})
    assert (jpeg.headers["content-type"], webp.headers["content-type"]) == ("image/jpeg", "image/webp")
    assert origin.count("/fs-cache/two.jpg") == 2  # two formats, two entries
    tenant = client.get(node_b.base + target, headers={"Accept": "image/jpeg", "X-Tenant": "t1"})
    plan = client.get(node_a.base + target, headers={"Accept": "image/jpeg", "Cookie": "plan=pro"})
    assert tenant.status_code == plan.status_code == 200
    assert origin.count("/fs-cache/two.jpg") == 4  # the header and the cookie are in the key
    again = client.get(node_a.base + target, headers={"Accept": "image/jpeg", "X-Tenant": "t1"})
    assert again.content == tenant.content and origin.count("/fs-cache/two.jpg") == 4


def test_urls_that_differ_only_in_expiry_share_the_entry(
        two_nodes: tuple[AppServer, AppServer, Path], origin: Origin, client: httpx.Client,
        photo_jpeg: bytes) -> None:
    # imgproxy 4.0.2: ``expires`` is not in the cache key; each answer is still capped by its own.
    node_a, node_b, _ = two_nodes
    url = origin.add("/fs-cache/expiring.jpg", photo_jpeg)
    soon = int(time.time()) + 120
    expiring = client.get(node_a.base + signed(f"/rs:fit:90:90/exp:{soon}/plain/{url}", KEY_A, SALT_A))
    plain = client.get(node_b.base + signed(f"/rs:fit:90:90/plain/{url}", KEY_A, SALT_A))
    assert expiring.status_code == plain.status_code == 200 and plain.content == expiring.content
    assert origin.count("/fs-cache/expiring.jpg") == 1 and node_b.services.internal_cache.renders == 0
    assert int(expiring.headers["cache-control"].split("max-age=")[1].split(",")[0]) <= 120
    # The entry was kept for the whole TTL, not for the first URL's two minutes.
    assert int(plain.headers["cache-control"].split("max-age=")[1].split(",")[0]) > 3000
    later = int(time.time()) + 600
    again = client.get(node_a.base + signed(f"/rs:fit:90:90/exp:{later}/plain/{url}", KEY_A, SALT_A))
    assert 120 < int(again.headers["cache-control"].split("max-age=")[1].split(",")[0]) <= 600
    assert origin.count("/fs-cache/expiring.jpg") == 1


def test_conditional_requests_and_bypass(two_nodes: tuple[AppServer, AppServer, Path], origin: Origin,
                                         client: httpx.Client, photo_jpeg: bytes,
                                         start_server: Callable[..., AppServer]) -> None:
    node_a, node_b, root = two_nodes
    url = origin.add("/fs-cache/three.jpg", photo_jpeg)
    target = signed(f"/rs:fit:90:90/plain/{url}@jpg", KEY_A, SALT_A)
    first = client.get(node_a.base + target)
    remaining = int(first.headers["cache-control"].split("max-age=")[1].split(",")[0])
    assert 3590 <= remaining <= 3600
    # bypass_cache needs IMGPROXY_ALLOW_BYPASS_CACHE; with it, the source is fetched again.
    assert client.get(node_b.base + signed(f"/bc:1/rs:fit:90:90/plain/{url}@jpg", KEY_A, SALT_A)).status_code == 403
    bypassing = start_server(IMGPROXY_CACHE_USE="fs", IMGPROXY_CACHE_FS_ROOT=str(root),
                             IMGPROXY_ALLOW_BYPASS_CACHE="true", IMGPROXY_USE_ETAG="true")
    url = origin.add("/fs-cache/three-b.jpg", photo_jpeg)
    path = f"/rs:fit:90:90/plain/{url}@jpg"
    tagged = client.get(f"{bypassing.base}/unsafe{path}")
    assert tagged.status_code == 200 and origin.count("/fs-cache/three-b.jpg") == 1
    assert client.get(f"{bypassing.base}/unsafe/bc:1{path}").status_code == 200
    assert origin.count("/fs-cache/three-b.jpg") == 2
    # The entry's own ETag answers If-None-Match with a 304, without the source.
    etag = tagged.headers["etag"]
    assert client.get(f"{bypassing.base}/unsafe{path}", headers={"If-None-Match": etag}).status_code == 304
    assert origin.count("/fs-cache/three-b.jpg") == 2


def test_entries_expire_with_the_ttl_and_fallbacks_are_not_kept(
        start_server: Callable[..., AppServer], origin: Origin, client: httpx.Client, photo_jpeg: bytes,
        tmp_path: Path) -> None:
    node = start_server(IMGPROXY_CACHE_USE="fs", IMGPROXY_CACHE_FS_ROOT=str(tmp_path), IMGPROXY_TTL="1",
                        IMGPROXY_FALLBACK_IMAGE_PATH=str(Path(__file__).parent / "assets/core/exif_gps.jpg"),
                        IMGPROXY_FALLBACK_IMAGE_HTTP_CODE="404")
    url = origin.add("/fs-cache/four.jpg", photo_jpeg)
    target = f"{node.base}/unsafe/rs:fit:50:50/plain/{url}@png"
    assert client.get(target).status_code == 200
    assert client.get(target).status_code == 200 and origin.count("/fs-cache/four.jpg") == 1
    time.sleep(1.2)
    assert client.get(target).status_code == 200 and origin.count("/fs-cache/four.jpg") == 2
    missing = f"{node.base}/unsafe/rs:fit:50:50/plain/{origin.url('/fs-cache/missing.jpg')}@png"
    assert client.get(missing).status_code == client.get(missing).status_code == 404
    assert origin.count("/fs-cache/missing.jpg") == 2


def test_store_errors_fall_back_or_are_reported(start_server: Callable[..., AppServer], origin: Origin,
                                                client: httpx.Client, photo_jpeg: bytes, tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_bytes(b"")  # the cache root is a file: every read and write fails
    url = origin.add("/fs-cache/five.jpg", photo_jpeg)
    quiet = start_server(IMGPROXY_CACHE_USE="fs", IMGPROXY_CACHE_FS_ROOT=str(blocked))
    assert client.get(f"{quiet.base}/unsafe/rs:fit:40:40/plain/{url}").status_code == 200
    loud = start_server(IMGPROXY_CACHE_USE="fs", IMGPROXY_CACHE_FS_ROOT=str(blocked),
                        IMGPROXY_CACHE_REPORT_ERRORS="true")
    response = client.get(f"{loud.base}/unsafe/rs:fit:40:40/plain/{url}")
    assert response.status_code == 500 and "Cache error" in response.text


@pytest.mark.parametrize(("env", "problem"), [
    ({"IMGPROXY_CACHE_USE": "ftp"}, "IMGPROXY_CACHE_USE: 'ftp' is not one of"),
    ({"IMGPROXY_CACHE_USE": "fs"}, "IMGPROXY_CACHE_FS_ROOT: required"),
    ({"IMGPROXY_CACHE_USE": "s3"}, "IMGPROXY_CACHE_BUCKET: required"),
    ({"IMGPROXY_CACHE_REPORT_ERRORS": "maybe"}, "IMGPROXY_CACHE_REPORT_ERRORS"),
    ({"IMGPROXY_PROCESSES": "0"}, "IMGPROXY_PROCESSES: 0 is less than 1"),
])
def test_bad_cache_settings_are_reported(env: dict[str, str], problem: str) -> None:
    _, problems = read_config(env)
    assert any(problem in p for p in problems), problems


def test_a_stale_entry_is_revalidated_with_the_origin(start_server: Callable[..., AppServer], origin: Origin,
                                                       client: httpx.Client, photo_jpeg: bytes,
                                                       landscape_jpeg: bytes, tmp_path: Path) -> None:
    node = start_server(IMGPROXY_CACHE_USE="fs", IMGPROXY_CACHE_FS_ROOT=str(tmp_path), IMGPROXY_TTL="1")
    current = {"body": photo_jpeg, "etag": '"v1"'}
    conditional: list[str | None] = []

    def route(handler: BaseHTTPRequestHandler) -> OriginResponse:
        asked = handler.headers.get("If-None-Match")
        conditional.append(asked)
        if asked == current["etag"]:
            return OriginResponse(304, b"", {"ETag": current["etag"]})
        return OriginResponse(200, current["body"], {"ETag": current["etag"]})

    origin.routes["/fs-cache/revalidated.jpg"] = route
    target = f"{node.base}/unsafe/rs:fit:70:70/plain/{origin.url('/fs-cache/revalidated.jpg')}@png"
    first = client.get(target)
    time.sleep(1.2)
    second = client.get(target)  # stale: the origin answers 304, the entry is fresh again
    assert second.content == first.content and conditional == [None, '"v1"']
    assert node.services.internal_cache.renders == 1
    assert int(second.headers["cache-control"].split("max-age=")[1].split(",")[0]) <= 1
    current.update(body=landscape_jpeg, etag='"v2"')
    time.sleep(1.2)
    third = client.get(target)  # changed at the origin: rendered anew from the new source
    assert third.status_code == 200 and third.content != first.content
    assert node.services.internal_cache.renders == 2


def test_hits_and_misses_are_counted(start_server: Callable[..., AppServer], origin: Origin, client: httpx.Client,
                                     photo_jpeg: bytes, tmp_path: Path) -> None:
    # imgproxy Pro's (4.0.9) cache_hits_total / cache_misses_total.
    port = free_port()
    node = start_server(IMGPROXY_CACHE_USE="fs", IMGPROXY_CACHE_FS_ROOT=str(tmp_path),
                        IMGPROXY_PROMETHEUS_BIND=f"127.0.0.1:{port}", IMGPROXY_ALLOW_BYPASS_CACHE="true")
    url = origin.add("/fs-cache/counted.jpg", photo_jpeg)
    for _ in range(3):
        assert client.get(f"{node.base}/unsafe/rs:fit:50:50/plain/{url}").status_code == 200
    assert client.get(f"{node.base}/unsafe/rs:fit:50:50/bypass_cache:1/plain/{url}").status_code == 200
    text = client.get(f"http://127.0.0.1:{port}/metrics").text
    assert "\ncache_hits_total 2.0" in text and "\ncache_misses_total 2.0" in text  # a bypass renders


def max_age(response: httpx.Response) -> int:
    return int(response.headers["cache-control"].split("max-age=")[1].split(",")[0])


def test_cache_tags_are_each_requests_own(start_server: Callable[..., AppServer], origin: Origin,
                                          client: httpx.Client, photo_jpeg: bytes, tmp_path: Path) -> None:
    # cache_tags is not in the key (it doesn't change the image): one entry, each answer with its own tags.
    node = start_server(IMGPROXY_CACHE_USE="fs", IMGPROXY_CACHE_FS_ROOT=str(tmp_path))
    url = origin.add("/fs-cache/tagged.jpg", photo_jpeg)
    answers = [client.get(f"{node.base}/unsafe/rs:fit:60:60{tags}/plain/{url}@png")
               for tags in ("/ct:a", "/ct:b", "")]
    assert [r.status_code for r in answers] == [200] * 3 and len({r.content for r in answers}) == 1
    assert [r.headers.get("cache-tag") for r in answers] == ["a", "b", None]
    assert [r.headers.get("x-amz-meta-cache-tag") for r in answers] == ["a", "b", None]
    assert origin.count("/fs-cache/tagged.jpg") == 1
    # An entry an older version stored with its first request's tags: they are not served on.
    [stored] = [p for p in tmp_path.rglob("*") if p.is_file()]
    old = CacheEntry.from_bytes(stored.read_bytes())
    stored.write_bytes(replace(old, headers={**old.headers, "Cache-Tag": "a", "X-Amz-Meta-Cache-Tag": "a"}).to_bytes())
    again = client.get(f"{node.base}/unsafe/rs:fit:60:60/ct:c/plain/{url}@png")
    assert again.headers["cache-tag"] == again.headers["x-amz-meta-cache-tag"] == "c"
    assert "cache-tag" not in client.get(f"{node.base}/unsafe/rs:fit:60:60/plain/{url}@png").headers
    assert origin.count("/fs-cache/tagged.jpg") == 1


def test_revalidation_passes_the_origins_cache_headers_through(
        start_server: Callable[..., AppServer], origin: Origin, client: httpx.Client, photo_jpeg: bytes,
        tmp_path: Path) -> None:
    # IMGPROXY_CACHE_CONTROL_PASSTHROUGH: an entry the origin's 304 refreshes lives as long as the
    # 304's Cache-Control (or Expires) says, as a new rendering would, not IMGPROXY_TTL (a year).
    node = start_server(IMGPROXY_CACHE_USE="fs", IMGPROXY_CACHE_FS_ROOT=str(tmp_path),
                        IMGPROXY_CACHE_CONTROL_PASSTHROUGH="true")

    def route(not_modified_headers: dict[str, str]) -> Callable[[BaseHTTPRequestHandler], OriginResponse]:
        def answer(handler: BaseHTTPRequestHandler) -> OriginResponse:
            if handler.headers.get("If-None-Match") == '"p1"':
                return OriginResponse(304, b"", {"ETag": '"p1"', **not_modified_headers})
            return OriginResponse(200, photo_jpeg, {"ETag": '"p1"', "Cache-Control": "max-age=1"})
        return answer

    origin.routes["/fs-cache/passed.jpg"] = route({"Cache-Control": "max-age=1"})
    origin.routes["/fs-cache/expires.jpg"] = route({"Expires": formatdate(time.time() + 100, usegmt=True)})
    targets = [f"{node.base}/unsafe/rs:fit:70:70/plain/{origin.url(p)}@png"
               for p in ("/fs-cache/passed.jpg", "/fs-cache/expires.jpg")]
    assert all(max_age(client.get(t)) <= 1 for t in targets)
    time.sleep(1.2)
    control, expires = (client.get(t) for t in targets)  # stale: the origin answers 304
    assert control.status_code == expires.status_code == 200 and node.services.internal_cache.renders == 2
    assert [h.get("If-None-Match") for p, h in origin.requests if p == "/fs-cache/passed.jpg"] == [None, '"p1"']
    assert max_age(control) <= 1
    assert 90 <= max_age(expires) <= 100


def test_revalidation_passes_the_304s_listed_headers_back(
        start_server: Callable[..., AppServer], origin: Origin, client: httpx.Client, photo_jpeg: bytes,
        tmp_path: Path) -> None:
    # IMGPROXY_RESPONSE_HEADERS_PASSTHROUGH: what the origin's 304 says of a listed header
    # replaces what its 200 said, as a new rendering would pass it on; the others stay.
    node = start_server(IMGPROXY_CACHE_USE="fs", IMGPROXY_CACHE_FS_ROOT=str(tmp_path), IMGPROXY_TTL="1",
                        IMGPROXY_RESPONSE_HEADERS_PASSTHROUGH="x-origin-revision,X-Owner")

    def answer(handler: BaseHTTPRequestHandler) -> OriginResponse:
        if handler.headers.get("If-None-Match") == '"r1"':
            return OriginResponse(304, b"", {"ETag": '"r1"', "X-Origin-Revision": "2"})
        return OriginResponse(200, photo_jpeg, {"ETag": '"r1"', "X-Origin-Revision": "1", "X-Owner": "team-a"})

    origin.routes["/fs-cache/revision.jpg"] = answer
    target = f"{node.base}/unsafe/rs:fit:60:60/plain/{origin.url('/fs-cache/revision.jpg')}@png"
    first = client.get(target)
    assert first.headers["x-origin-revision"] == "1" and first.headers["x-owner"] == "team-a"
    time.sleep(1.2)
    second = client.get(target)  # stale: the origin answers 304
    assert second.status_code == 200 and node.services.internal_cache.renders == 1
    assert second.headers["x-origin-revision"] == "2" and second.headers["x-owner"] == "team-a"
    assert second.headers.get_list("x-origin-revision") == ["2"]


def test_a_fallback_served_with_200_is_not_kept(start_server: Callable[..., AppServer], origin: Origin,
                                                client: httpx.Client, photo_jpeg: bytes, tmp_path: Path) -> None:
    # IMGPROXY_FALLBACK_IMAGE_HTTP_CODE is 200 by default: the placeholder of an origin outage
    # must not be served from the cache once the origin is back.
    node = start_server(IMGPROXY_CACHE_USE="fs", IMGPROXY_CACHE_FS_ROOT=str(tmp_path), IMGPROXY_FALLBACK_IMAGE_TTL="30",
                        IMGPROXY_FALLBACK_IMAGE_PATH=str(Path(__file__).parent / "assets/core/exif_gps.jpg"))
    url = origin.add("/fs-cache/outage.jpg", b"not found", status=404)
    target = f"{node.base}/unsafe/rs:fit:50:50/plain/{url}@png"
    during = client.get(target)
    assert during.status_code == 200 and origin.count("/fs-cache/outage.jpg") == 1
    assert 20 < max_age(during) <= 30  # the fallback TTL's, as without the cache
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
    origin.add("/fs-cache/outage.jpg", photo_jpeg)
    after = client.get(target)
    assert after.status_code == 200 and origin.count("/fs-cache/outage.jpg") == 2
    assert after.content != during.content and max_age(after) > 3000
    assert client.get(target).content == after.content and origin.count("/fs-cache/outage.jpg") == 2


def test_a_weak_if_none_match_is_answered_from_the_entry(start_server: Callable[..., AppServer], origin: Origin,
                                                         client: httpx.Client, photo_jpeg: bytes,
                                                         tmp_path: Path) -> None:
    # CDNs weaken the ETags they pass on; If-None-Match compares weakly (RFC 9110 13.1.2).
    node = start_server(IMGPROXY_CACHE_USE="fs", IMGPROXY_CACHE_FS_ROOT=str(tmp_path), IMGPROXY_USE_ETAG="true")
    url = origin.add("/fs-cache/weak.jpg", photo_jpeg)
    target = f"{node.base}/unsafe/rs:fit:40:40/plain/{url}@png"
    etag = client.get(target).headers["etag"]
    for header in (f"W/{etag}", f'"other", W/{etag}'):
        answer = client.get(target, headers={"If-None-Match": header})
        assert answer.status_code == 304 and answer.content == b"" and answer.headers["etag"] == etag
    assert client.get(target, headers={"If-None-Match": 'W/"other"'}).status_code == 200
    assert origin.count("/fs-cache/weak.jpg") == 1


@pytest.mark.parametrize(("env", "warned"), [
    ({"IMGPROXY_CACHE_USE": "fs", "IMGPROXY_COOKIE_PASSTHROUGH": "true"}, True),
    ({"IMGPROXY_CACHE_REDIS_URL": "redis://127.0.0.1:1/0", "IMGPROXY_COOKIE_PASSTHROUGH": "true"}, True),
    ({"IMGPROXY_CACHE_USE": "fs", "IMGPROXY_COOKIE_PASSTHROUGH": "true", "IMGPROXY_CACHE_KEY_COOKIES": "session"},
     False),
    ({"IMGPROXY_CACHE_USE": "fs"}, False),
    ({"IMGPROXY_COOKIE_PASSTHROUGH": "true"}, False),
])
def test_cookie_passthrough_without_key_cookies_is_warned_about(env: dict[str, str], warned: bool, tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    # The client's cookies reach the origin, but the entry serves every client.
    config, problems = read_config({"IMGPROXY_CACHE_FS_ROOT": str(tmp_path), **env})
    assert problems == []
    with caplog.at_level(logging.WARNING, logger="imgproxy_py"):
        build_internal_cache(config.cache, config.fetch, problems)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("IMGPROXY_COOKIE_PASSTHROUGH" in m and "IMGPROXY_CACHE_KEY_COOKIES" in m for m in messages) is warned
    assert problems == []


@pytest.mark.parametrize(("env", "warned"), [
    ({"IMGPROXY_CACHE_USE": "fs", "IMGPROXY_REQUEST_HEADERS_PASSTHROUGH": "Accept-Language,X-Tenant",
      "IMGPROXY_CACHE_KEY_HEADERS": "accept-language"}, "X-Tenant"),
    ({"IMGPROXY_CACHE_USE": "fs", "IMGPROXY_REQUEST_HEADERS_PASSTHROUGH": "Accept-Language",
      "IMGPROXY_CACHE_KEY_HEADERS": "Accept-Language"}, None),
    ({"IMGPROXY_REQUEST_HEADERS_PASSTHROUGH": "X-Tenant"}, None),
])
def test_header_passthrough_left_out_of_the_key_is_warned_about(env: dict[str, str], warned: str | None,
                                                                tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    config, problems = read_config({"IMGPROXY_CACHE_FS_ROOT": str(tmp_path), **env})
    assert problems == []
    with caplog.at_level(logging.WARNING, logger="imgproxy_py"):
        build_internal_cache(config.cache, config.fetch, problems)
    messages = [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING and "IMGPROXY_REQUEST_HEADERS_PASSTHROUGH" in r.getMessage()]
    if warned is None:
        assert messages == []
    else:
        assert len(messages) == 1 and f"forwards {warned} to the origin" in messages[0]


def test_an_entry_damaged_outside_us_is_rendered_again(two_nodes: tuple[AppServer, AppServer, Path],
                                                      origin: Origin, client: httpx.Client,
                                                      photo_jpeg: bytes) -> None:
    """A cut body, a grown one or a foreign file in the cache folder is never served: the node
    renders again (the origin is asked again) and replaces the entry."""
    node_a, _, root = two_nodes
    url = origin.add("/fs-cache/damaged.jpg", photo_jpeg)
    path = signed(f"/rs:fit:120:120/plain/{url}@png", KEY_A, SALT_A)
    first = client.get(node_a.base + path)
    assert first.status_code == 200
    (stored,) = [p for p in (root / "imgs" / "results").rglob("*") if p.is_file()]
    whole = stored.read_bytes()
    for n, damaged in enumerate((whole[:-100], whole + b"\0" * 7, b"\0\0\0\x02{}" + whole[6:],
                                 with_head(whole, status=8200),
                                 with_head(whole, media_type="image/png\r\nSet-Cookie: a=b"),
                                 with_head(whole, stored_at=1e400)), start=2):
        stored.write_bytes(damaged)
        again = client.get(node_a.base + path)
        assert again.status_code == 200 and again.content == first.content
        assert origin.count("/fs-cache/damaged.jpg") == n
        assert CacheEntry.from_bytes(stored.read_bytes()).body == first.content  # the damaged entry replaced
