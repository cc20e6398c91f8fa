"""abs:// sources against a real Azure Blob Storage server (Azurite on loopback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloud_services import (
    CountingRelay,
    assert_raw_streams_from_the_store,
    assert_revalidation_downloads_nothing,
    azurite,
    stalled_server,
)
from tests.conftest import asset, decode
from tests.servers import AppServer

ACCOUNT = "devstoreaccount1"  # Azurite's well-known development account and key
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@pytest.fixture(scope="module")
def abs_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """Azurite's endpoint and an azure-storage-blob client; containers ``photos`` and ``private``."""
    from azure.storage.blob import BlobServiceClient

    workdir: Path = tmp_path_factory.mktemp("azurite")
    with azurite(workdir) as endpoint:
        client = BlobServiceClient(account_url=endpoint, credential={"account_name": ACCOUNT, "account_key": KEY})
        for name in ("photos", "private"):
            client.create_container(name)
        client.get_blob_client("photos", "cats/hopper.jpg").upload_blob(asset("hopper.jpg").read_bytes())
        client.get_blob_client("private", "hopper.jpg").upload_blob(asset("hopper.jpg").read_bytes())
        yield endpoint, client


def abs_env(endpoint: str, **extra: str) -> dict[str, str]:
    return {"IMGPROXY_USE_ABS": "true", "IMGPROXY_ABS_NAME": ACCOUNT, "IMGPROXY_ABS_KEY": KEY,
            "IMGPROXY_ABS_ENDPOINT": endpoint, **extra}


@pytest.fixture(scope="module")
def abs_server(abs_store: tuple[str, Any], start_server: Callable[..., AppServer]) -> AppServer:
    return start_server(**abs_env(abs_store[0], IMGPROXY_ABS_DENIED_BUCKETS="private"))


def test_same_pixels_as_the_local_file(client: httpx.Client, abs_server: AppServer) -> None:
    from_abs = client.get(f"{abs_server.base}/unsafe/rs:fit:64:64/plain/abs://photos/cats/hopper.jpg@png")
    local = client.get(f"{abs_server.base}/unsafe/rs:fit:64:64/plain/local:///core/hopper.jpg@png")
    assert from_abs.status_code == 200, from_abs.text
    assert from_abs.content == local.content and decode(from_abs.content).width == 64


@pytest.mark.parametrize(
    ("source", "status"),
    [
        ("abs://photos/missing.jpg", 404),
        ("abs://nocontainer/a.jpg", 404),
        ("abs://photos/", 404),
        ("abs://private/hopper.jpg", 404),  # IMGPROXY_ABS_DENIED_BUCKETS
    ],
)
def test_refused_and_missing(client: httpx.Client, abs_server: AppServer, source: str, status: int) -> None:
    assert client.get(f"{abs_server.base}/unsafe/w:10/plain/{source}").status_code == status


def test_wrong_key_is_403(client: httpx.Client, abs_store: tuple[str, Any],
                          start_server: Callable[..., AppServer]) -> None:
    wrong = "A" * 86 + "=="
    server = start_server(**abs_env(abs_store[0], IMGPROXY_ABS_KEY=wrong))
    # Azurite answers 403 AuthenticationFailed; imgproxy passes an origin's 4xx on
    assert client.get(f"{server.base}/unsafe/w:10/plain/abs://photos/cats/hopper.jpg").status_code == 403


def test_etag_revalidation_downloads_nothing(client: httpx.Client, abs_store: tuple[str, Any],
                                             start_server: Callable[..., AppServer]) -> None:
    port = int(abs_store[0].split(":")[2].split("/")[0])
    relay = CountingRelay(port)
    try:
        server = start_server(**abs_env(f"http://127.0.0.1:{relay.port}/{ACCOUNT}", IMGPROXY_USE_ETAG="true"))
        assert_revalidation_downloads_nothing(client, f"{server.base}/unsafe/w:20/plain/abs://photos/cats/hopper.jpg",
                                              relay, len(asset("hopper.jpg").read_bytes()), 2000)
    finally:
        relay.close()


def test_stalled_store_is_504(client: httpx.Client, start_server: Callable[..., AppServer]) -> None:
    with stalled_server() as port:
        server = start_server(**abs_env(f"http://127.0.0.1:{port}/{ACCOUNT}", IMGPROXY_DOWNLOAD_TIMEOUT="0.5"))
        assert client.get(f"{server.base}/unsafe/w:10/plain/abs://photos/a.jpg").status_code == 504


def test_name_is_required() -> None:
    from imgproxy_py.config import read_config

    _, problems = read_config({"IMGPROXY_USE_ABS": "true"})
    assert any("IMGPROXY_ABS_NAME" in p for p in problems)


def test_raw_streams_ranges_and_validators(client: httpx.Client, abs_server: AppServer) -> None:
    assert_raw_streams_from_the_store(client, abs_server.base, "abs", asset("hopper.jpg").read_bytes())
