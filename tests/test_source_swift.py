"""swift:// sources against a real OpenStack Swift cluster on loopback (tests/swift_service.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from imgproxy_py.config import read_config
from tests.cloud_services import (
    CountingRelay,
    assert_raw_streams_from_the_store,
    assert_revalidation_downloads_nothing,
    stalled_server,
)
from tests.conftest import asset, decode
from tests.servers import AppServer
from tests.swift_service import ACCOUNT, KEY, USER, SwiftCluster, swift_cluster


@pytest.fixture(scope="module")
def swift(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwiftCluster]:
    """Containers ``photos`` (``cats/hopper.jpg``, ``odd name?.jpg``) and ``private``."""
    root: Path = tmp_path_factory.mktemp("swift")
    with swift_cluster(root) as cluster:
        for path, data in (("photos", None), ("private", None), ("photos/cats/hopper.jpg", asset("hopper.jpg")),
                           ("private/hopper.jpg", asset("hopper.jpg")),
                           ("photos/odd%20name%3F.jpg", asset("hopper.jpg"))):
            cluster.put(path, data.read_bytes() if data else None)
        yield cluster


def swift_env(auth_url: str, **extra: str) -> dict[str, str]:
    return {"IMGPROXY_USE_SWIFT": "true", "IMGPROXY_SWIFT_AUTH_URL": auth_url,
            "IMGPROXY_SWIFT_USERNAME": f"{ACCOUNT}:{USER}", "IMGPROXY_SWIFT_API_KEY": KEY, **extra}


@pytest.fixture(scope="module")
def swift_server(swift: SwiftCluster, start_server: Callable[..., AppServer]) -> AppServer:
    return start_server(**swift_env(swift.auth_url, IMGPROXY_SWIFT_DENIED_BUCKETS="private",
                                    IMGPROXY_SOURCE_URL_QUERY_SEPARATOR=""))


def test_same_pixels_as_the_local_file(client: httpx.Client, swift_server: AppServer) -> None:
    from_swift = client.get(f"{swift_server.base}/unsafe/rs:fit:64:64/plain/swift://photos/cats/hopper.jpg@png")
    local = client.get(f"{swift_server.base}/unsafe/rs:fit:64:64/plain/local:///core/hopper.jpg@png")
    assert from_swift.status_code == 200, from_swift.text
    assert from_swift.content == local.content and decode(from_swift.content).width == 64


def test_object_name_is_sent_as_written(client: httpx.Client, swift_server: AppServer) -> None:
    # With the query separator off, "?" is part of the name; the plain URL's %-escapes are decoded once.
    response = client.get(f"{swift_server.base}/unsafe/w:20/plain/swift://photos/odd%20name%3F.jpg")
    assert response.status_code == 200, response.text
    assert decode(response.content).width == 20


@pytest.mark.parametrize(
    ("source", "status"),
    [
        ("swift://photos/missing.jpg", 404),
        ("swift://nocontainer/a.jpg", 404),
        ("swift://photos/", 404),
        ("swift://private/hopper.jpg", 404),  # IMGPROXY_SWIFT_DENIED_BUCKETS
    ],
)
def test_refused_and_missing(client: httpx.Client, swift_server: AppServer, source: str, status: int) -> None:
    assert client.get(f"{swift_server.base}/unsafe/w:10/plain/{source}").status_code == status


def test_allowed_buckets(client: httpx.Client, swift: SwiftCluster, start_server: Callable[..., AppServer]) -> None:
    server = start_server(**swift_env(swift.auth_url, IMGPROXY_SWIFT_ALLOWED_BUCKETS="private"))
    assert client.get(f"{server.base}/unsafe/w:10/plain/swift://private/hopper.jpg").status_code == 200
    assert client.get(f"{server.base}/unsafe/w:10/plain/swift://photos/cats/hopper.jpg").status_code == 404


def test_expired_token_is_renewed(client: httpx.Client, swift: SwiftCluster,
                                  start_server: Callable[..., AppServer]) -> None:
    server = start_server(**swift_env(swift.auth_url, IMGPROXY_USE_ETAG="false"))
    url = f"{server.base}/unsafe/w:12/plain/swift://photos/cats/hopper.jpg"
    assert client.get(url).status_code == 200
    swift.flush_tokens()  # the server's token is now unknown to Swift: 401 until it authenticates again
    again = client.get(f"{server.base}/unsafe/w:13/plain/swift://photos/cats/hopper.jpg")
    assert again.status_code == 200 and decode(again.content).width == 13


def test_wrong_key_is_502(client: httpx.Client, swift: SwiftCluster, start_server: Callable[..., AppServer]) -> None:
    # The identity service refuses the server's own credentials: a store failure, not the URL's.
    server = start_server(**swift_env(swift.auth_url, IMGPROXY_SWIFT_API_KEY="wrong"))
    response = client.get(f"{server.base}/unsafe/w:10/plain/swift://photos/cats/hopper.jpg")
    assert response.status_code == 502


def test_etag_revalidation_downloads_nothing(client: httpx.Client, swift: SwiftCluster,
                                             start_server: Callable[..., AppServer]) -> None:
    port = int(swift.proxy.rsplit(":", 1)[1])
    relay = CountingRelay(port)
    try:
        # Auth through the relay too: the storage URL tempauth gives is the one it was asked on.
        server = start_server(**swift_env(f"http://127.0.0.1:{relay.port}/auth/v1.0", IMGPROXY_USE_ETAG="true"))
        assert_revalidation_downloads_nothing(client, f"{server.base}/unsafe/w:20/plain/swift://photos/cats/hopper.jpg",
                                              relay, len(asset("hopper.jpg").read_bytes()), 2000)
    finally:
        relay.close()


def test_stalled_store_is_504(client: httpx.Client, start_server: Callable[..., AppServer]) -> None:
    with stalled_server() as port:
        server = start_server(**swift_env(f"http://127.0.0.1:{port}/auth/v1.0", IMGPROXY_DOWNLOAD_TIMEOUT="0.5"))
        assert client.get(f"{server.base}/unsafe/w:10/plain/swift://photos/a.jpg").status_code == 504


def test_settings_are_checked_at_start_up() -> None:
    _, problems = read_config({"IMGPROXY_USE_SWIFT": "true"})
    assert any("IMGPROXY_SWIFT_AUTH_URL" in p for p in problems)
    _, problems = read_config({"IMGPROXY_USE_SWIFT": "true", "IMGPROXY_SWIFT_AUTH_URL": "https://id.example/auth"})
    assert any("IMGPROXY_SWIFT_AUTH_VERSION" in p for p in problems)
    for url, version in (("https://id.example/v3", 3), ("https://id.example/v2.0", 2), ("http://x/auth/v1.0", 1)):
        config, problems = read_config({"IMGPROXY_USE_SWIFT": "true", "IMGPROXY_SWIFT_AUTH_URL": url})
        assert not problems and config.stores.swift.resolved_auth_version() == version
    config, problems = read_config({"IMGPROXY_USE_SWIFT": "true", "IMGPROXY_SWIFT_AUTH_URL": "https://id.example/x",
                                    "IMGPROXY_SWIFT_AUTH_VERSION": "2"})
    assert not problems and config.stores.swift.resolved_auth_version() == 2


def test_internal_cache_renews_its_token(client: httpx.Client, swift: SwiftCluster,
                                         start_server: Callable[..., AppServer]) -> None:
    swift.put("renewing-cache")
    server = start_server(**swift_env(swift.auth_url), IMGPROXY_CACHE_USE="swift",
                          IMGPROXY_CACHE_BUCKET="renewing-cache", IMGPROXY_CACHE_REPORT_ERRORS="true",
                          IMGPROXY_CACHE_SWIFT_AUTH_URL=swift.auth_url,
                          IMGPROXY_CACHE_SWIFT_USERNAME=f"{ACCOUNT}:{USER}", IMGPROXY_CACHE_SWIFT_API_KEY=KEY)
    assert client.get(f"{server.base}/unsafe/w:14/plain/swift://photos/cats/hopper.jpg").status_code == 200
    swift.flush_tokens()
    # With IMGPROXY_CACHE_REPORT_ERRORS a refused cache request would be a 500: the cache's own
    # session authenticates again, stores the second entry, and serves the first from the store.
    assert client.get(f"{server.base}/unsafe/w:15/plain/swift://photos/cats/hopper.jpg").status_code == 200
    assert len(swift.get("renewing-cache").text.split()) == 2
    assert client.get(f"{server.base}/unsafe/w:14/plain/swift://photos/cats/hopper.jpg").status_code == 200
    assert server.services.internal_cache.renders == 2


def test_raw_streams_ranges_and_validators(client: httpx.Client, swift_server: AppServer) -> None:
    assert_raw_streams_from_the_store(client, swift_server.base, "swift", asset("hopper.jpg").read_bytes())
