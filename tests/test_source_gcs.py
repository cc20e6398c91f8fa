"""gs:// sources against a real GCS-compatible server (gcp-storage-emulator on loopback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest

from imgproxy_py.sources.gcs import imgproxy_etag, json_api_base
from tests.cloud_services import (
    CountingRelay,
    assert_raw_streams_from_the_store,
    assert_revalidation_downloads_nothing,
    gcs_emulator,
    stalled_server,
)
from tests.conftest import asset, decode
from tests.servers import AppServer, Origin, OriginResponse


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
        size = len(asset("hopper.jpg").read_bytes())
        # the object's metadata only
        assert_revalidation_downloads_nothing(client, f"{server.base}/unsafe/w:20/plain/gs://photos/cats/hopper.jpg",
                                              relay, size, size // 2)
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


@pytest.fixture
def token_server() -> Iterator[tuple[str, list[str]]]:
    """An OAuth token endpoint: answers every JWT-bearer grant with the token ``tok-1``."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    grants: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            grants.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
            body = json.dumps({"access_token": "tok-1", "expires_in": 3600, "token_type": "Bearer"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/token", grants
    server.shutdown()
    server.server_close()


def test_service_account_key_signs_requests(client: httpx.Client, origin: Origin, token_server: tuple[str, list[str]],
                                            start_server: Callable[..., AppServer]) -> None:
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    token_uri, grants = token_server
    key = {"type": "service_account", "project_id": "p", "private_key_id": "k1", "private_key": pem,
           "client_email": "imgproxy@p.iam.gserviceaccount.com", "client_id": "1", "token_uri": token_uri}
    # a store in the origin's place: metadata as JSON, the media with alt=media
    jpeg = asset("hopper.jpg").read_bytes()

    def store(handler: BaseHTTPRequestHandler) -> OriginResponse:
        if handler.headers.get("Authorization") != "Bearer tok-1":
            return OriginResponse(401, b"{}")
        if "alt=media" in handler.path:
            return OriginResponse(200, jpeg)
        meta = {"size": str(len(jpeg)), "generation": "7", "etag": "CAc=", "contentType": "image/jpeg"}
        return OriginResponse(200, json.dumps(meta).encode(), {"Content-Type": "application/json"})

    origin.routes["/storage/v1/b/keyed/o/cat.jpg"] = store
    server = start_server(IMGPROXY_USE_GCS="true", IMGPROXY_GCS_ENDPOINT=origin.url("/storage/v1"),
                          IMGPROXY_GCS_KEY=json.dumps(key))
    response = client.get(f"{server.base}/unsafe/w:10/plain/gs://keyed/cat.jpg@png")
    assert response.status_code == 200 and decode(response.content).width == 10
    assert len(grants) == 1 and "jwt-bearer" in grants[0]  # one token, reused for both requests
    media = [p for p, _ in origin.requests if p.startswith("/storage/v1/b/keyed/o/cat.jpg?alt=media")]
    assert media == ["/storage/v1/b/keyed/o/cat.jpg?alt=media&generation=7"]  # the generation read


def test_bad_key_is_a_config_error() -> None:
    from imgproxy_py.config import read_config

    _, problems = read_config({"IMGPROXY_USE_GCS": "true", "IMGPROXY_GCS_KEY": "{not json"})
    assert any("IMGPROXY_GCS_KEY" in p for p in problems)


def test_raw_streams_ranges_and_validators(client: httpx.Client, gcs_server: AppServer) -> None:
    # The emulator's media answers carry no ETag: no revalidation to check here.
    assert_raw_streams_from_the_store(client, gcs_server.base, "gs", asset("hopper.jpg").read_bytes(), etag=False)
