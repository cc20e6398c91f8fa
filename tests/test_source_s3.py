"""s3:// sources against a real S3-compatible server (moto's standalone server on loopback)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest

from tests.cloud_services import (
    CountingRelay,
    assert_raw_streams_from_the_store,
    assert_revalidation_downloads_nothing,
    environment,
    moto_server,
    stalled_server,
)
from tests.conftest import asset, decode
from tests.ports import free_port
from tests.servers import AppServer, Origin, OriginResponse

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "eu-west-1"}


@pytest.fixture(scope="module")
def s3() -> Iterator[tuple[str, Any]]:
    """The endpoint and a boto3 client; buckets ``photos`` (versioned) and ``private``."""
    import boto3

    with environment(**CREDENTIALS), moto_server() as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1")
        for bucket in ("photos", "private"):
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        client.put_object(Bucket="photos", Key="cats/hopper.jpg", Body=asset("hopper.jpg").read_bytes())
        client.put_object(Bucket="private", Key="hopper.jpg", Body=asset("hopper.jpg").read_bytes())
        yield endpoint, client


@pytest.fixture(scope="module")
def s3_server(s3: tuple[str, Any], start_server: Callable[..., AppServer]) -> AppServer:
    return start_server(IMGPROXY_USE_S3="true", IMGPROXY_S3_ENDPOINT=s3[0], IMGPROXY_S3_DENIED_BUCKETS="private",
                        IMGPROXY_USE_ETAG="true", IMGPROXY_SOURCE_CACHE_SIZE_MB="0")


def test_same_pixels_as_the_local_file(client: httpx.Client, s3_server: AppServer) -> None:
    from_s3 = client.get(f"{s3_server.base}/unsafe/rs:fit:64:64/plain/s3://photos/cats/hopper.jpg@png")
    local = client.get(f"{s3_server.base}/unsafe/rs:fit:64:64/plain/local:///core/hopper.jpg@png")
    assert from_s3.status_code == 200, from_s3.text
    assert from_s3.content == local.content and decode(from_s3.content).width == 64


def test_raw_gives_the_stored_bytes(client: httpx.Client, s3_server: AppServer) -> None:
    response = client.get(f"{s3_server.base}/unsafe/raw:1/plain/s3://photos/cats/hopper.jpg")
    assert response.status_code == 200 and response.content == asset("hopper.jpg").read_bytes()


def test_versioned_objects(client: httpx.Client, s3: tuple[str, Any], s3_server: AppServer) -> None:
    _, boto = s3
    boto.put_bucket_versioning(Bucket="photos", VersioningConfiguration={"Status": "Enabled"})
    first = boto.put_object(Bucket="photos", Key="v.png", Body=asset("hopper.png").read_bytes())["VersionId"]
    boto.put_object(Bucket="photos", Key="v.png", Body=asset("p_trns_single.png").read_bytes())
    old = client.get(f"{s3_server.base}/unsafe/raw:1/plain/s3://photos/v.png%3F{first}")  # "?" escaped in a plain URL
    new = client.get(f"{s3_server.base}/unsafe/raw:1/plain/s3://photos/v.png")
    assert old.content == asset("hopper.png").read_bytes()
    assert new.content == asset("p_trns_single.png").read_bytes()


@pytest.mark.parametrize(
    ("source", "status"),
    [
        ("s3://photos/missing.jpg", 404),
        ("s3://nobucket/a.jpg", 404),
        ("s3://photos/", 404),  # no key
        ("s3://private/hopper.jpg", 404),  # IMGPROXY_S3_DENIED_BUCKETS
    ],
)
def test_refused_and_missing(client: httpx.Client, s3_server: AppServer, source: str, status: int) -> None:
    assert client.get(f"{s3_server.base}/unsafe/w:10/plain/{source}").status_code == status


def test_allowed_buckets(client: httpx.Client, s3: tuple[str, Any], start_server: Callable[..., AppServer]) -> None:
    server = start_server(IMGPROXY_USE_S3="true", IMGPROXY_S3_ENDPOINT=s3[0], IMGPROXY_S3_ALLOWED_BUCKETS="private")
    assert client.get(f"{server.base}/unsafe/w:10/plain/s3://private/hopper.jpg").status_code == 200
    assert client.get(f"{server.base}/unsafe/w:10/plain/s3://photos/cats/hopper.jpg").status_code == 404


def test_store_off_is_404_naming_the_setting(client: httpx.Client, server: AppServer) -> None:
    for source, setting in (("s3://photos/cats/hopper.jpg", "IMGPROXY_USE_S3"),
                            ("swift://c/o.jpg", "IMGPROXY_USE_SWIFT")):
        response = client.get(f"{server.base}/unsafe/w:10/plain/{source}")
        assert response.status_code == 404 and setting in response.text


def test_etag_revalidation_downloads_nothing(client: httpx.Client, s3: tuple[str, Any],
                                             start_server: Callable[..., AppServer]) -> None:
    port = int(s3[0].rsplit(":", 1)[1])
    relay = CountingRelay(port)
    try:
        server = start_server(IMGPROXY_USE_S3="true", IMGPROXY_S3_ENDPOINT=f"127.0.0.1:{relay.port}",
                              IMGPROXY_USE_ETAG="true")
        # S3 answers the conditional GET with a bare 304: headers only, not the 11 kB object
        assert_revalidation_downloads_nothing(client, f"{server.base}/unsafe/w:20/plain/s3://photos/cats/hopper.jpg",
                                              relay, len(asset("hopper.jpg").read_bytes()), 2000)
    finally:
        relay.close()


def test_stalled_store_is_504(client: httpx.Client, start_server: Callable[..., AppServer]) -> None:
    with stalled_server() as port:
        server = start_server(IMGPROXY_USE_S3="true", IMGPROXY_S3_ENDPOINT=f"http://127.0.0.1:{port}",
                              IMGPROXY_DOWNLOAD_TIMEOUT="0.5")
        assert client.get(f"{server.base}/unsafe/w:10/plain/s3://photos/a.jpg").status_code == 504


def test_size_limit(client: httpx.Client, s3: tuple[str, Any], start_server: Callable[..., AppServer]) -> None:
    server = start_server(IMGPROXY_USE_S3="true", IMGPROXY_S3_ENDPOINT=s3[0], IMGPROXY_MAX_SRC_FILE_SIZE="1000")
    assert client.get(f"{server.base}/unsafe/w:10/plain/s3://photos/cats/hopper.jpg").status_code == 422


def test_wrong_credentials_are_403(client: httpx.Client, start_server: Callable[..., AppServer]) -> None:
    # A server that checks every request's keys (moto's IAM mode from its first request):
    # S3 answers 403 InvalidAccessKeyId, and imgproxy passes an origin's 4xx on.
    # Keys of its own: the test must not lean on those another test's fixture left set.
    with environment(**CREDENTIALS), moto_server(INITIAL_NO_AUTH_ACTION_COUNT="0") as endpoint:
        server = start_server(IMGPROXY_USE_S3="true", IMGPROXY_S3_ENDPOINT=endpoint)
        assert client.get(f"{server.base}/unsafe/w:10/plain/s3://photos/cats/hopper.jpg").status_code == 403


def test_missing_extra_is_501(client: httpx.Client, start_server: Callable[..., AppServer],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "botocore" or m.startswith("botocore.")]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the cloud extra were not installed
    monkeypatch.setitem(sys.modules, "botocore", None)
    server = start_server(IMGPROXY_USE_S3="true")
    response = client.get(f"{server.base}/unsafe/w:10/plain/s3://photos/cats/hopper.jpg")
    assert response.status_code == 501 and "cloud" in response.text


@pytest.mark.parametrize(("separator", "source", "status"), [
    ("", "s3://photos/q%3Fx.jpg", 200),  # blank: no query, "?" is part of the key
    ("?", "s3://photos/q%3Fx.jpg", 404),  # "x.jpg" is taken as a version id of "q"
    ("|", "s3://photos/cats/hopper.jpg|", 200),
])
def test_source_url_query_separator(client: httpx.Client, s3: tuple[str, Any], start_server: Callable[..., AppServer],
                                    separator: str, source: str, status: int) -> None:
    s3[1].put_object(Bucket="photos", Key="q?x.jpg", Body=asset("hopper.jpg").read_bytes())
    server = start_server(IMGPROXY_USE_S3="true", IMGPROXY_S3_ENDPOINT=s3[0],
                          IMGPROXY_SOURCE_URL_QUERY_SEPARATOR=separator)
    assert client.get(f"{server.base}/unsafe/w:10/plain/{source}").status_code == status


@pytest.mark.parametrize("sts_works", [True, False])
def test_assume_role(client: httpx.Client, s3: tuple[str, Any], start_server: Callable[..., AppServer],
                     sts_works: bool) -> None:
    # botocore finds STS where AWS's standard AWS_ENDPOINT_URL_STS says: the moto server, or a
    # closed port (then no keys, and imgproxy's "Source is unreachable" 404)
    sts = s3[0] if sts_works else f"http://127.0.0.1:{free_port()}"
    with environment(AWS_ENDPOINT_URL_STS=sts, AWS_MAX_ATTEMPTS="1"):
        server = start_server(IMGPROXY_USE_S3="true", IMGPROXY_S3_ENDPOINT=s3[0],
                              IMGPROXY_S3_ASSUME_ROLE_ARN="arn:aws:iam::123456789012:role/images",
                              IMGPROXY_S3_ASSUME_ROLE_EXTERNAL_ID="ext-1")
        response = client.get(f"{server.base}/unsafe/w:10/plain/s3://photos/cats/hopper.jpg")
    assert response.status_code == (200 if sts_works else 404)


@pytest.mark.parametrize("multi_region", [True, False])
def test_bucket_in_another_region_is_signed_again(client: httpx.Client, origin: Origin,
                                                  start_server: Callable[..., AppServer], multi_region: bool) -> None:
    # A store that answers 301 with X-Amz-Bucket-Region to a request signed for another region,
    # as S3 does; the request signed for that region gets the object.
    def answer(handler: BaseHTTPRequestHandler) -> OriginResponse:
        if "/eu-central-1/s3/aws4_request" in handler.headers.get("Authorization", ""):
            return OriginResponse(200, asset("hopper.jpg").read_bytes())
        return OriginResponse(301, b"<Error><Code>PermanentRedirect</Code></Error>",
                              {"X-Amz-Bucket-Region": "eu-central-1"})

    bucket = f"far{int(multi_region)}"
    origin.routes[f"/{bucket}/hopper.jpg"] = answer
    with environment(**CREDENTIALS):
        server = start_server(IMGPROXY_USE_S3="true", IMGPROXY_S3_ENDPOINT=origin.url(""),
                              IMGPROXY_S3_REGION="us-east-1", IMGPROXY_S3_MULTI_REGION=str(multi_region).lower())
        for _ in range(2):
            status = client.get(f"{server.base}/unsafe/w:10/plain/s3://{bucket}/hopper.jpg").status_code
            assert status == 200 if multi_region else status >= 400
    signed = [h.get("Authorization", "") for p, h in origin.requests if p == f"/{bucket}/hopper.jpg"]
    if multi_region:  # the first request learnt the region; the second went there at once
        assert len(signed) == 3 and "/us-east-1/" in signed[0] and "/eu-central-1/" in signed[2]
    else:  # IMGPROXY_S3_MULTI_REGION=false, imgproxy's default: signed for IMGPROXY_S3_REGION only
        assert len(signed) == 2 and all("/us-east-1/" in header for header in signed)


def test_source_cache_revalidates_with_the_store(client: httpx.Client, s3: tuple[str, Any],
                                                 start_server: Callable[..., AppServer]) -> None:
    relay = CountingRelay(int(s3[0].rsplit(":", 1)[1]))
    try:
        server = start_server(IMGPROXY_USE_S3="true", IMGPROXY_S3_ENDPOINT=f"127.0.0.1:{relay.port}",
                              IMGPROXY_SOURCE_CACHE_SIZE_MB="8")
        assert client.get(f"{server.base}/unsafe/w:20/plain/s3://photos/cats/hopper.jpg").status_code == 200
        before = relay.bytes_from_target
        # other options, same source: the cached bytes, revalidated with a bodiless 304
        assert client.get(f"{server.base}/unsafe/w:30/plain/s3://photos/cats/hopper.jpg").status_code == 200
        assert 0 < relay.bytes_from_target - before < 2000
    finally:
        relay.close()


def test_fallback_image_for_a_missing_object(client: httpx.Client, s3: tuple[str, Any],
                                             start_server: Callable[..., AppServer]) -> None:
    server = start_server(IMGPROXY_USE_S3="true", IMGPROXY_S3_ENDPOINT=s3[0],
                          IMGPROXY_FALLBACK_IMAGE_PATH=str(asset("hopper.png")), IMGPROXY_FALLBACK_IMAGE_HTTP_CODE="0")
    response = client.get(f"{server.base}/unsafe/w:10/plain/s3://photos/none.jpg")
    assert response.status_code == 404 and decode(response.content).width == 10


@pytest.mark.parametrize(
    ("env", "bucket", "expected"),
    [
        ({}, "b", "https://b.s3.eu-west-3.amazonaws.com/a%20b/c.jpg?versionId=v%2B1"),
        ({"IMGPROXY_S3_ENDPOINT": "minio:9000"}, "b", "http://minio:9000/b/a%20b/c.jpg?versionId=v%2B1"),
        ({"IMGPROXY_S3_ENDPOINT": "https://r2.example", "IMGPROXY_S3_ENDPOINT_USE_PATH_STYLE": "false"}, "b",
         "https://b.r2.example/a%20b/c.jpg?versionId=v%2B1"),
        ({}, "arn:aws:s3:us-east-2:123456789012:accesspoint/imgs",
         "https://imgs-123456789012.s3-accesspoint.us-east-2.amazonaws.com/a%20b/c.jpg?versionId=v%2B1"),
    ],
)
def test_request_urls(env: dict[str, str], bucket: str, expected: str) -> None:
    from imgproxy_py.config import load_config
    from imgproxy_py.sources.s3 import S3Backend

    config = load_config({"IMGPROXY_USE_S3": "true", "IMGPROXY_S3_REGION": "eu-west-3", **env})
    backend = S3Backend(config.stores.s3, config.fetch)
    assert backend.object_url(bucket, "a b/c.jpg", "v+1", "eu-west-3") == expected


def test_access_points_setting() -> None:
    from imgproxy_py.config import read_config

    arn = "arn:aws:s3:us-east-2:123456789012:accesspoint/imgs"
    config, problems = read_config({"IMGPROXY_S3_ACCESS_POINTS": f"imgs={arn};broken"})
    assert config.stores.s3.access_points == (("imgs", arn),)
    assert any("IMGPROXY_S3_ACCESS_POINTS" in p and "broken" in p for p in problems)


def test_raw_streams_ranges_and_validators(client: httpx.Client, s3_server: AppServer) -> None:
    assert_raw_streams_from_the_store(client, s3_server.base, "s3", asset("hopper.jpg").read_bytes())
