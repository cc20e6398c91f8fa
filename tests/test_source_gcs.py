"""gs:// sources against a real GCS-compatible server (gcp-storage-emulator on loopback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from imgproxy_py.sources.gcs import imgproxy_etag, json_api_base
from tests.cloud_services import CountingRelay, gcs_emulator, stalled_server
from tests.conftest import asset, decode
from tests.servers import AppServer


@pytest.fixture(scope="module")
def gcs() -> Iterator[tuple[str, Any]]:
    """The emulator's endpoint and a google-cloud-storage client; buckets ``photos``, ``private``."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    with gcs_emulator() as endpoint:
        client = storage.Client(project="test", credentials=AnonymousCredentials(),
                                client_options={"api_endpoint": endpoint})
        for name in ("photos", "private"):
            client.create_bucket(name)
        client.bucket("photos").blob("cats/hopper.jpg").upload_from_filename(str(asset("hopper.jpg")))
        client.bucket("private").blob("hopper.jpg").upload_from_filename(str(asset("hopper.jpg")))
        yield endpoint, client


@pytest.fixture(scope="module")
def gcs_server(gcs: tuple[str, Any], start_server: Callable[..., AppServer]) -> AppServer:
    return start_server(IMGPROXY_USE_GCS="true", IMGPROXY_GCS_ENDPOINT=gcs[0], IMGPROXY_GCS_DENIED_BUCKETS="private")


def test_same_pixels_as_the_local_file(client: httpx.Client, gcs_server: AppServer) -> None:
    from_gcs = client.get(f"{gcs_server.base}/unsafe/rs:fit:64:64/plain/gs://photos/cats/hopper.jpg@png")
    local = client.get(f"{gcs_server.base}/unsafe/rs:fit:64:64/plain/local:///core/hopper.jpg@png")
    assert from_gcs.status_code == 200, from_gcs.text
    assert from_gcs.content == local.content and decode(from_gcs.content).width == 64


def test_raw_gives_the_stored_bytes(client: httpx.Client, gcs_server: AppServer) -> None:
    response = client.get(f"{gcs_server.base}/unsafe/raw:1/plain/gs://photos/cats/hopper.jpg")
    assert response.status_code == 200 and response.content == asset("hopper.jpg").read_bytes()


@pytest.mark.parametrize(
    ("source", "status"),
    [
        ("gs://photos/missing.jpg", 404),
        ("gs://nobucket/a.jpg", 404),
        ("gs://photos/", 404),
        ("gs://private/hopper.jpg", 404),  # IMGPROXY_GCS_DENIED_BUCKETS
    ],
)
def test_refused_and_missing(client: httpx.Client, gcs_server: AppServer, source: str, status: int) -> None:
    assert client.get(f"{gcs_server.base}/unsafe/w:10/plain/{source}").status_code == status


def test_etag_revalidation_downloads_nothing(client: httpx.Client, gcs: tuple[str, Any],
                                             start_server: Callable[..., AppServer]) -> None:
    relay = CountingRelay(int(gcs[0].rsplit(":", 1)[1]))
    try:
        server = start_server(IMGPROXY_USE_GCS="true", IMGPROXY_GCS_ENDPOINT=f"http://127.0.0.1:{relay.port}",
                              IMGPROXY_USE_ETAG="true")
        url = f"{server.base}/unsafe/w:20/plain/gs://photos/cats/hopper.jpg"
        first = client.get(url)
        size = len(asset("hopper.jpg").read_bytes())
        assert first.status_code == 200 and relay.bytes_from_target > size
        before = relay.bytes_from_target
        again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        assert 0 < relay.bytes_from_target - before < size // 2  # the metadata only
    finally:
        relay.close()


def test_stalled_store_is_504(client: httpx.Client, start_server: Callable[..., AppServer]) -> None:
    with stalled_server() as port:
        server = start_server(IMGPROXY_USE_GCS="true", IMGPROXY_GCS_ENDPOINT=f"http://127.0.0.1:{port}",
                              IMGPROXY_DOWNLOAD_TIMEOUT="0.5")
        assert client.get(f"{server.base}/unsafe/w:10/plain/gs://photos/a.jpg").status_code == 504


def test_size_limit(client: httpx.Client, gcs: tuple[str, Any], start_server: Callable[..., AppServer]) -> None:
    server = start_server(IMGPROXY_USE_GCS="true", IMGPROXY_GCS_ENDPOINT=gcs[0], IMGPROXY_MAX_SRC_FILE_SIZE="1000")
    assert client.get(f"{server.base}/unsafe/w:10/plain/gs://photos/cats/hopper.jpg").status_code == 422


def test_imgproxy_etag_and_endpoint_forms() -> None:
    # CRC32C "AAAAAQ==" is 1; 1970-01-01T00:00:01Z is 10^9 ns: little-endian, as imgproxy packs them
    assert imgproxy_etag({"crc32c": "AAAAAQ==", "updated": "1970-01-01T00:00:01Z"}) == "0100000000ca9a3b00000000"
    assert imgproxy_etag({"etag": "CAE="}) == "CAE="
    assert json_api_base("") == "https://storage.googleapis.com/storage/v1"
    assert json_api_base("http://h:1/storage/v1/") == "http://h:1/storage/v1"
    assert json_api_base("h:1") == "https://h:1/storage/v1"
