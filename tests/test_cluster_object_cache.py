"""The internal cache in object stores, on real emulators (moto's S3, the GCS emulator,
Azurite) and a real OpenStack Swift: two nodes share a bucket; what node A renders node B
serves without the source."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
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
