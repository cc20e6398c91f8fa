"""The internal cache in object stores, on real emulators (moto's S3, the GCS emulator,
Azurite) and a real OpenStack Swift: two nodes share a bucket; what node A renders node B
serves without the source."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.cloud_services import azurite, environment, gcs_emulator, moto_server
from tests.servers import AppServer, Origin
from tests.swift_service import ACCOUNT, KEY, USER, swift_cluster

AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "eu-west-1"}
ABS_ACCOUNT = "devstoreaccount1"  # Azurite's well-known development account and key
ABS_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def s3_store(stack: ExitStack, _workdir: Path) -> tuple[dict[str, str], Callable[[], list[str]]]:
    import boto3

    stack.enter_context(environment(**AWS))
    endpoint = stack.enter_context(moto_server())
    client = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1")
    client.create_bucket(Bucket="cache", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    env = {"IMGPROXY_CACHE_USE": "s3", "IMGPROXY_CACHE_S3_ENDPOINT": endpoint, "IMGPROXY_CACHE_S3_REGION": "eu-west-1"}
    return env, lambda: [o["Key"] for o in client.list_objects_v2(Bucket="cache").get("Contents", [])]


def gcs_store(stack: ExitStack, _workdir: Path) -> tuple[dict[str, str], Callable[[], list[str]]]:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    endpoint = stack.enter_context(gcs_emulator())
    client = storage.Client(project="test", credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": endpoint})
    client.create_bucket("cache")
    return ({"IMGPROXY_CACHE_USE": "gcs", "IMGPROXY_CACHE_GCS_ENDPOINT": endpoint},
            lambda: [b.name for b in client.list_blobs("cache")])


def abs_store(stack: ExitStack, workdir: Path) -> tuple[dict[str, str], Callable[[], list[str]]]:
    from azure.storage.blob import BlobServiceClient

    endpoint = stack.enter_context(azurite(workdir))
    client = BlobServiceClient(account_url=endpoint, credential={"account_name": ABS_ACCOUNT, "account_key": ABS_KEY})
    client.create_container("cache")
    env = {"IMGPROXY_CACHE_USE": "abs", "IMGPROXY_CACHE_ABS_NAME": ABS_ACCOUNT, "IMGPROXY_CACHE_ABS_KEY": ABS_KEY,
           "IMGPROXY_CACHE_ABS_ENDPOINT": endpoint}
    return env, lambda: [b.name for b in client.get_container_client("cache").list_blobs()]


def swift_store(stack: ExitStack, workdir: Path) -> tuple[dict[str, str], Callable[[], list[str]]]:
    cluster = stack.enter_context(swift_cluster(workdir))
    cluster.put("cache")
    env = {"IMGPROXY_CACHE_USE": "swift", "IMGPROXY_CACHE_SWIFT_AUTH_URL": cluster.auth_url,
           "IMGPROXY_CACHE_SWIFT_USERNAME": f"{ACCOUNT}:{USER}", "IMGPROXY_CACHE_SWIFT_API_KEY": KEY}
    return env, lambda: cluster.get("cache").text.split()


STORES = {"s3": s3_store, "gcs": gcs_store, "abs": abs_store, "swift": swift_store}
Store = tuple[str, dict[str, str], Callable[[], list[str]]]  # name, the nodes' settings, the bucket's keys


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with ExitStack() as stack:
        env, listing = STORES[request.param](stack, tmp_path)
        yield request.param, {**env, "IMGPROXY_CACHE_BUCKET": "cache", "IMGPROXY_CACHE_PATH_PREFIX": "imgs"}, listing


def test_two_nodes_share_a_bucket(store: Store,
                                  start_server: Callable[..., AppServer], origin: Origin, photo_jpeg: bytes) -> None:
    name, env, listing = store
    node_a, node_b = start_server(**env), start_server(**env)
    path = f"/object-cache/{name}.jpg"
    url = origin.add(path, photo_jpeg)
    target = f"/unsafe/rs:fit:96:96/plain/{url}@png"
    first = httpx.get(node_a.base + target, timeout=30)
    assert first.status_code == 200 and origin.count(path) == 1
    second = httpx.get(node_b.base + target, timeout=30)
    assert second.status_code == 200 and second.content == first.content
    assert origin.count(path) == 1 and node_b.services.internal_cache.renders == 0
    keys = listing()
    assert len(keys) == 1 and keys[0].startswith("imgs/") and len(keys[0].rsplit("/", 1)[1]) == 64


def test_a_missing_bucket_falls_back_or_is_reported(store: Store,
                                                    start_server: Callable[..., AppServer], origin: Origin,
                                                    photo_jpeg: bytes) -> None:
    name, env, _ = store
    url = origin.add(f"/object-cache/{name}-nobucket.jpg", photo_jpeg)
    target = f"/unsafe/rs:fit:50:50/plain/{url}"
    quiet = start_server(**{**env, "IMGPROXY_CACHE_BUCKET": "no-such-bucket"})
    assert httpx.get(quiet.base + target, timeout=30).status_code == 200
    loud = start_server(**{**env, "IMGPROXY_CACHE_BUCKET": "no-such-bucket", "IMGPROXY_CACHE_REPORT_ERRORS": "1"})
    assert httpx.get(loud.base + target, timeout=30).status_code == 500


class RegionalBucket:
    """An S3 bucket in eu-central-1 (path style, on loopback): a request signed for another
    region gets S3's 301 naming the bucket's region; one signed for eu-central-1 reads or writes
    the object.  ``requests``: (method, the region of each request's signature)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        bucket = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                region = self.headers.get("Authorization", "").split("/")[2]  # Credential=<key>/<date>/<region>/s3/...
                bucket.requests.append((self.command, region))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer, headers = 200, b"", {}
                if region != "eu-central-1":
                    status, answer = 301, b"<Error><Code>PermanentRedirect</Code></Error>"
                    headers = {"X-Amz-Bucket-Region": "eu-central-1"}
                elif self.command == "PUT":
                    bucket.objects[self.path] = body
                elif self.path in bucket.objects:
                    answer = bucket.objects[self.path]
                else:
                    status, answer = 404, b"<Error><Code>NoSuchKey</Code></Error>"
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_PUT = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_s3_cache_bucket_in_another_region_is_asked_there(
        start_server: Callable[..., AppServer], origin: Origin, photo_jpeg: bytes) -> None:
    # imgproxy's cache: the region S3 names in its 301 is remembered and the request retried,
    # whatever IMGPROXY_S3_MULTI_REGION says (that setting is the s3:// source's).
    bucket = RegionalBucket()
    try:
        with environment(**AWS):
            env = {"IMGPROXY_CACHE_USE": "s3", "IMGPROXY_CACHE_BUCKET": "far", "IMGPROXY_CACHE_S3_REGION": "us-east-1",
                   "IMGPROXY_CACHE_S3_ENDPOINT": bucket.endpoint, "IMGPROXY_S3_MULTI_REGION": "false",
                   "IMGPROXY_CACHE_REPORT_ERRORS": "true"}
            node_a, node_b = start_server(**env), start_server(**env)
            url = origin.add("/object-cache/far.jpg", photo_jpeg)
            target = f"/unsafe/rs:fit:64:64/plain/{url}@png"
            first = httpx.get(node_a.base + target, timeout=30)
            second = httpx.get(node_b.base + target, timeout=30)
            third = httpx.get(node_b.base + target, timeout=30)
    finally:
        bucket.close()
    assert first.status_code == second.status_code == third.status_code == 200
    assert first.content == second.content == third.content and len(bucket.objects) == 1
    assert origin.count("/object-cache/far.jpg") == 1 and node_b.services.internal_cache.renders == 0
    # Each node learns the region once: node A's miss and write, node B's two reads.
    assert bucket.requests == [("GET", "us-east-1"), ("GET", "eu-central-1"), ("PUT", "eu-central-1"),
                               ("GET", "us-east-1"), ("GET", "eu-central-1"), ("GET", "eu-central-1")]
