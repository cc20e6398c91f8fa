"""The internal cache in object stores (``IMGPROXY_CACHE_USE`` = ``s3``, ``gcs``, ``abs``, ``swift``).

Each adapter reuses its source backend's pieces (endpoint rules, credentials, signing, the
store's HTTP client) and adds the write: an entry is one object named
``<IMGPROXY_CACHE_PATH_PREFIX>/ab/cd/<key>`` in ``IMGPROXY_CACHE_BUCKET``. A 404 is a miss;
any other answer is a store error (logged, or reported with ``IMGPROXY_CACHE_REPORT_ERRORS``).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any
from urllib.parse import quote

import httpx

from imgproxy_py.cluster.config import CacheConfig
from imgproxy_py.cluster.keys import object_name
from imgproxy_py.cluster.stores import CacheStore
from imgproxy_py.sources.config import FetchConfig


class StoreError(OSError):
    """The store answered something other than the object or a 404."""


def _answer(response: httpx.Response, action: str) -> bytes | None:
    if response.status_code == 404 and action == "GET":
        return None
    if response.status_code // 100 != 2:
        raise StoreError(f"{action} answered {response.status_code}: {response.text[:200]}")
    return response.content


class S3CacheStore:
    """Objects in an S3 bucket (or MinIO, R2, ...), signed with SigV4 like the ``s3://`` source;
    client-side encrypted ones decrypted as the source's are, with
    ``IMGPROXY_CACHE_S3_USE_DECRYPTION_CLIENT`` (imgproxy Pro's)."""

    def __init__(self, config: CacheConfig, fetch: FetchConfig) -> None:
        from imgproxy_py.sources.s3 import S3Backend

        self.backend = S3Backend(config.s3, fetch)
        self.bucket = config.bucket
        self.prefix = config.path_prefix

    async def _request(self, method: str, key: str, body: bytes = b"") -> bytes | None:
        backend = self.backend
        credentials = await asyncio.to_thread(backend.frozen_credentials)
        region = backend.bucket_regions.get(self.bucket, backend.region)
        url, response = await self._send(method, key, body, region, credentials)
        # The bucket lives in another region: as imgproxy's cache, remember it for every later
        # request and ask there again (the cache's S3Config always allows it: IMGPROXY_S3_MULTI_REGION
        # is the source's setting).
        moved = backend.moved_region(self.bucket, region, response.status_code, response.headers)
        if moved:
            region = moved
            url, response = await self._send(method, key, body, region, credentials)
        blob = _answer(response, method)
        decryptor = backend.decryptor  # IMGPROXY_CACHE_S3_USE_DECRYPTION_CLIENT
        if blob is None or method != "GET" or decryptor is None:
            return blob
        return await decryptor.plaintext(url, blob, response.headers, region, credentials)

    async def _send(self, method: str, key: str, body: bytes, region: str,
                    credentials: Any) -> tuple[str, httpx.Response]:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        url = self.backend.object_url(self.bucket, object_name(key, self.prefix), "", region)
        # An entry is up to a result's size: its digest (a few ms a megabyte) is taken in a thread.
        digest = await asyncio.to_thread(_sha256_hex, body) if body else EMPTY_SHA256
        headers = {"x-amz-content-sha256": digest}
        if credentials is not None:
            request = AWSRequest(method=method, url=url, headers=headers, data=body)
            S3SigV4Auth(credentials, "s3", region).add_auth(request)
            headers = dict(request.headers.items())
        return url, await self.backend.client.request(method, url, headers=headers, content=body or None)

    async def get(self, key: str) -> bytes | None:
        return await self._request("GET", key)

    async def put(self, key: str, blob: bytes) -> None:
        await self._request("PUT", key, blob)

    async def close(self) -> None:
        await self.backend.close()


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


READ_WRITE_SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"


class GCSCacheStore:
    """Objects in a Google Cloud Storage bucket through its JSON API (media upload and
    ``alt=media`` download), with the ``gs://`` source's endpoint and credential rules."""

    def __init__(self, config: CacheConfig, fetch: FetchConfig) -> None:
        from imgproxy_py.sources.gcs import GCSBackend, google_credentials

        class WritingBackend(GCSBackend):
            def _resolve(self) -> Any:
                # The cache writes: credentials are asked for the read-write scope.
                if self.config.endpoint and not self.config.key:
                    return None  # an emulator or the admin's proxy: no Google credentials
                return google_credentials(self.config.key, READ_WRITE_SCOPE)

        self.backend = WritingBackend(config.gcs, fetch)
        self.base = self.backend.base
        self.upload_base = self.base.removesuffix("/storage/v1") + "/upload/storage/v1"
        self.bucket = quote(config.bucket, safe="")
        self.prefix = config.path_prefix

    def _auth(self) -> dict[str, str]:
        return self.backend.auth_headers()

    async def get(self, key: str) -> bytes | None:
        headers = await asyncio.to_thread(self._auth)
        name = quote(object_name(key, self.prefix), safe="")
        response = await self.backend.client.get(f"{self.base}/b/{self.bucket}/o/{name}?alt=media", headers=headers)
        return _answer(response, "GET")

    async def put(self, key: str, blob: bytes) -> None:
        headers = await asyncio.to_thread(self._auth)
        name = quote(object_name(key, self.prefix), safe="")
        response = await self.backend.client.post(
            f"{self.upload_base}/b/{self.bucket}/o?uploadType=media&name={name}", content=blob,
            headers={**headers, "Content-Type": "application/octet-stream"})
        _answer(response, "PUT")

    async def close(self) -> None:
        await self.backend.close()


class ABSCacheStore:
    """Blobs in an Azure Blob Storage container, authorised by a short SAS from the account
    key (read and write), as the ``abs://`` source's."""

    def __init__(self, config: CacheConfig, fetch: FetchConfig) -> None:
        from imgproxy_py.sources.abs import ABSBackend

        self.backend = ABSBackend(config.abs, fetch)
        self.container = config.bucket
        self.prefix = config.path_prefix

    def _url(self, key: str) -> str:
        name = object_name(key, self.prefix)
        url = f"{self.backend.endpoint}/{quote(self.container, safe='')}/{quote(name, safe='/~')}"
        if self.backend.config.key:
            url += "?" + self._sas(name)
        return url

    def _sas(self, name: str) -> str:
        from datetime import UTC, datetime, timedelta

        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        now = datetime.now(UTC)
        return str(generate_blob_sas(self.backend.config.name, self.container, name,
                                     account_key=self.backend.config.key,
                                     permission=BlobSasPermissions(read=True, create=True, write=True),
                                     start=now - timedelta(minutes=5), expiry=now + timedelta(minutes=15)))

    async def get(self, key: str) -> bytes | None:
        return _answer(await self.backend.client.get(self._url(key)), "GET")

    async def put(self, key: str, blob: bytes) -> None:
        response = await self.backend.client.put(self._url(key), content=blob,
                                                 headers={"x-ms-blob-type": "BlockBlob",
                                                          "Content-Type": "application/octet-stream"})
        _answer(response, "PUT")

    async def close(self) -> None:
        await self.backend.close()


class SwiftCacheStore:
    """Objects in an OpenStack Swift container, with the ``swift://`` source's authentication
    (``IMGPROXY_CACHE_SWIFT_*``: a token got once and renewed when refused)."""

    def __init__(self, config: CacheConfig, fetch: FetchConfig) -> None:
        from imgproxy_py.sources.swift import SwiftSession

        self.session = SwiftSession(config.swift, fetch)
        self.container = config.bucket
        self.prefix = config.path_prefix

    async def get(self, key: str) -> bytes | None:
        return _answer(await self.session.request("GET", self.container, object_name(key, self.prefix)), "GET")

    async def put(self, key: str, blob: bytes) -> None:
        response = await self.session.request("PUT", self.container, object_name(key, self.prefix),
                                              {"Content-Type": "application/octet-stream"}, blob)
        _answer(response, "PUT")

    async def close(self) -> None:
        await self.session.close()


def object_store(config: CacheConfig, fetch: FetchConfig, problems: list[str]) -> CacheStore | None:
    adapters: dict[str, type[S3CacheStore | GCSCacheStore | ABSCacheStore | SwiftCacheStore]] = {
        "s3": S3CacheStore, "gcs": GCSCacheStore, "abs": ABSCacheStore, "swift": SwiftCacheStore}
    try:
        store: CacheStore = adapters[config.use](config, fetch)
    except ImportError as exc:
        problems.append(f"IMGPROXY_CACHE_USE={config.use}: {exc.name} is missing (pip install 'imgproxy-py[cloud]')")
        return None
    return store
