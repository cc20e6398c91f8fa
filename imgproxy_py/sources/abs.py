"""The ``abs://container/blob`` backend (``IMGPROXY_USE_ABS``).

With ``IMGPROXY_ABS_KEY`` each request carries a short-lived read-only SAS made by
azure-storage-blob's own signer (the ``cloud`` extra); the blob is then streamed with httpx,
size-bounded, and a conditional request is the store's (``If-None-Match`` → 304, no body).
Without a key, requests are anonymous (public containers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx

from imgproxy_py.envreader import EnvReader
from imgproxy_py.sources.base import Conditional, SizeLimit, SourceImage
from imgproxy_py.sources.buckets import BucketRules, download, split_object_url, store_client
from imgproxy_py.sources.config import FetchConfig
from imgproxy_py.sources.http import open_answer

SAS_LIFETIME = timedelta(minutes=15)
CLOCK_SKEW = timedelta(minutes=5)  # a SAS valid from a little before now: the store's clock may lag


@dataclass(frozen=True)
class ABSConfig:
    enabled: bool = False
    name: str = ""
    key: str = field(default="", repr=False)
    endpoint: str = ""
    containers: BucketRules = field(default_factory=BucketRules)

    @staticmethod
    def from_env(r: EnvReader) -> ABSConfig:
        config = ABSConfig(
            enabled=r.boolean("IMGPROXY_USE_ABS", False),
            name=r.string("IMGPROXY_ABS_NAME"),
            key=r.string("IMGPROXY_ABS_KEY"),
            endpoint=r.string("IMGPROXY_ABS_ENDPOINT"),
            containers=BucketRules(r.string_list("IMGPROXY_ABS_ALLOWED_BUCKETS"),
                                   r.string_list("IMGPROXY_ABS_DENIED_BUCKETS")),
        )
        if config.enabled and not config.name:
            r.errors.append("IMGPROXY_ABS_NAME: the storage account name is required when IMGPROXY_USE_ABS is on")
        return config


class ABSBackend:
    schemes: tuple[str, ...] = ("abs",)
    streams_raw = True

    def __init__(self, config: ABSConfig, fetch: FetchConfig) -> None:
        import azure.storage.blob  # the cloud extra; ImportError tells the caller it is missing

        del azure
        self.config = config
        # imgproxy reads no query from abs:// URLs; the separator still cuts it off the name
        self.separator = fetch.source_url_query_separator
        self.endpoint = (config.endpoint or f"https://{config.name}.blob.core.windows.net").rstrip("/")
        self.client = store_client(fetch)

    async def close(self) -> None:
        await self.client.aclose()

    async def fetch(self, url: str, limit: SizeLimit, conditional: Conditional) -> SourceImage:
        return await download(self.client, url, self.request_url(url), conditional.headers(), limit)

    async def open(self, url: str, headers: dict[str, str]) -> httpx.Response:
        return await open_answer(self.client, url, self.request_url(url), headers)

    def request_url(self, url: str) -> str:
        """The blob's URL, with a read-only SAS when the account key is known (so that the
        request's own headers, a Range among them, need no signing)."""
        ref = split_object_url(url, "abs", self.separator)
        self.config.containers.check("Azure Blob Storage", ref.bucket)
        request_url = f"{self.endpoint}/{quote(ref.bucket, safe='')}/{quote(ref.key, safe='/~')}"
        if self.config.key:
            request_url += "?" + self.sas(ref.bucket, ref.key)
        return request_url

    def sas(self, container: str, blob: str) -> str:
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        now = datetime.now(UTC)
        return str(generate_blob_sas(self.config.name, container, blob, account_key=self.config.key,
                                     permission=BlobSasPermissions(read=True), start=now - CLOCK_SKEW,
                                     expiry=now + SAS_LIFETIME))
