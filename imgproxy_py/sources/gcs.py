"""The ``gs://bucket/object[?generation]`` backend (``IMGPROXY_USE_GCS``).

The object's metadata is asked for first (JSON API), which gives the validator imgproxy uses
(its CRC32C and modification time): a conditional request that still matches ends there,
nothing downloaded.  Otherwise the media of exactly that generation is streamed, size-bounded.
``IMGPROXY_GCS_KEY`` is a service-account JSON key; without one, the application-default
credentials are used when they exist (google-auth, the ``cloud`` extra), else requests are
anonymous (public buckets, emulators).
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import threading
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

import httpx

from imgproxy_py.envreader import EnvReader
from imgproxy_py.errors import SourceTimeoutError, SourceUnreachableError
from imgproxy_py.sources.base import Conditional, SizeLimit, SourceImage, not_modified
from imgproxy_py.sources.buckets import BucketRules, download, split_object_url, store_client
from imgproxy_py.sources.config import FetchConfig
from imgproxy_py.sources.http import open_answer, origin_status_error

DEFAULT_ENDPOINT = "https://storage.googleapis.com"
READ_ONLY_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"


@dataclass(frozen=True)
class GCSConfig:
    enabled: bool = False
    key: str = field(default="", repr=False)
    endpoint: str = ""
    buckets: BucketRules = field(default_factory=BucketRules)

    @staticmethod
    def from_env(r: EnvReader) -> GCSConfig:
        key = r.string("IMGPROXY_GCS_KEY")
        if key:
            try:
                json.loads(key)
            except ValueError:
                r.errors.append("IMGPROXY_GCS_KEY: not a JSON key")
                key = ""
        return GCSConfig(
            enabled=r.boolean("IMGPROXY_USE_GCS", False),
            key=key,
            endpoint=r.string("IMGPROXY_GCS_ENDPOINT"),
            buckets=BucketRules(r.string_list("IMGPROXY_GCS_ALLOWED_BUCKETS"),
                                r.string_list("IMGPROXY_GCS_DENIED_BUCKETS")),
        )


def json_api_base(endpoint: str) -> str:
    """The JSON API root: an endpoint given with its ``/storage/v1`` path, or a bare host."""
    endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
    if "://" not in endpoint:
        endpoint = "https://" + endpoint
    return endpoint if endpoint.endswith("/storage/v1") else endpoint + "/storage/v1"


def imgproxy_etag(metadata: dict[str, Any]) -> str | None:
    """imgproxy's GCS validator: CRC32C (little-endian) then the modification time in
    nanoseconds (little-endian), hex; the store's own ETag when either is missing."""
    crc, updated = metadata.get("crc32c"), metadata.get("updated")
    if not crc or not updated:
        return metadata.get("etag")
    try:
        crc_value = struct.unpack(">I", base64.b64decode(crc))[0]
        when = datetime.fromisoformat(str(updated).replace("Z", "+00:00"))
    except (ValueError, struct.error):
        return metadata.get("etag")
    nanos = int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000
    return struct.pack("<IQ", crc_value, nanos & 0xFFFFFFFFFFFFFFFF).hex()


def _last_modified(metadata: dict[str, Any]) -> str | None:
    try:
        return format_datetime(datetime.fromisoformat(str(metadata["updated"]).replace("Z", "+00:00")), usegmt=True)
    except (KeyError, ValueError):
        return None


class GCSBackend:
    schemes: tuple[str, ...] = ("gs",)
    streams_raw = True

    def __init__(self, config: GCSConfig, fetch: FetchConfig) -> None:
        import google.auth  # the cloud extra; ImportError tells the caller it is missing

        self.config = config
        self.separator = fetch.source_url_query_separator
        self.base = json_api_base(config.endpoint)
        self.client = store_client(fetch)
        self._credentials: Any = None
        self._resolved = False
        self._lock = threading.Lock()
        del google

    async def close(self) -> None:
        await self.client.aclose()

    async def open(self, url: str, headers: dict[str, str]) -> httpx.Response:
        """The object's media answer (a generation in the URL pinned), for ``raw`` to stream:
        the JSON API answers Range and the validators on it."""
        object_url, generation = self._object(url)
        auth = await asyncio.to_thread(self.auth_headers)
        media_url = f"{object_url}?alt=media" + (f"&generation={generation}" if generation else "")
        return await open_answer(self.client, url, media_url, {**headers, **auth})

    def _object(self, url: str) -> tuple[str, str]:
        """The object's JSON API URL and the generation the URL asks for ("" for the live one)."""
        ref = split_object_url(url, "gs", self.separator)
        self.config.buckets.check("GCS", ref.bucket)
        object_url = f"{self.base}/b/{quote(ref.bucket, safe='')}/o/{quote(ref.key, safe='')}"
        return object_url, ref.query if ref.query.isdigit() and int(ref.query) > 0 else ""

    async def fetch(self, url: str, limit: SizeLimit, conditional: Conditional) -> SourceImage:
        object_url, generation = self._object(url)
        headers = await asyncio.to_thread(self.auth_headers)
        metadata = await self._metadata(url, object_url, generation, headers)
        etag = imgproxy_etag(metadata)
        last_modified = _last_modified(metadata)
        if conditional.matches(etag):
            return not_modified(url, etag, last_modified)
        limit.check_declared(int(metadata["size"]) if str(metadata.get("size", "")).isdigit() else None)
        pinned = generation or str(metadata.get("generation", ""))
        media_url = f"{object_url}?alt=media" + (f"&generation={pinned}" if pinned else "")
        image = await download(self.client, url, media_url, headers, limit)
        return SourceImage(data=image.data, url=url, etag=etag, last_modified=last_modified,
                           cache_control=metadata.get("cacheControl") or image.cache_control,
                           headers={**image.headers, "content-type": str(metadata.get("contentType", ""))})

    async def _metadata(self, url: str, object_url: str, generation: str,
                        headers: dict[str, str]) -> dict[str, Any]:
        query = f"?generation={generation}" if generation else ""
        try:
            response = await self.client.get(object_url + query, headers=headers)
        except httpx.TimeoutException as exc:
            raise SourceTimeoutError(f"{url}: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise SourceUnreachableError(f"{url}: {exc!r}") from exc
        if response.status_code != 200:
            raise origin_status_error(url, response.status_code, dict(response.headers))
        try:
            data = response.json()
        except ValueError:
            raise SourceUnreachableError(f"{url}: the store's metadata is not JSON") from None
        if not isinstance(data, dict):
            raise SourceUnreachableError(f"{url}: the store's metadata is not an object")
        return data

    def auth_headers(self) -> dict[str, str]:
        """A bearer token, refreshed when it expires; none for anonymous access."""
        with self._lock:
            if not self._resolved:
                self._credentials = self._resolve()
                self._resolved = True
            credentials = self._credentials
            if credentials is None:
                return {}
            if not credentials.valid:
                import google.auth.transport.requests

                try:
                    credentials.refresh(google.auth.transport.requests.Request())
                except Exception as exc:  # google-auth raises its own family and requests'
                    # as S3's credential failures: imgproxy's "Source is unreachable"
                    raise SourceUnreachableError(f"GCS credentials can't be refreshed: {exc}") from exc
            return {"Authorization": f"Bearer {credentials.token}"}

    def _resolve(self) -> Any:
        if self.config.key:
            return google_credentials(self.config.key, READ_ONLY_SCOPE)
        if self.config.endpoint:
            return None  # an emulator or a proxy of the admin's: no Google credentials
        import google.auth.exceptions

        try:
            return google_credentials("", READ_ONLY_SCOPE)
        except google.auth.exceptions.DefaultCredentialsError:
            return None  # no credentials anywhere: anonymous (public buckets)


def google_credentials(key: str, scope: str) -> Any:
    """google-auth's credentials for ``scope``: from the service-account key (JSON text) ``key``,
    else Application Default Credentials (``GOOGLE_APPLICATION_CREDENTIALS``, the metadata
    server), which raise ``DefaultCredentialsError`` where there are none."""
    if key:
        from google.oauth2 import service_account

        return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            json.loads(key), scopes=[scope])
    import google.auth

    credentials, _ = google.auth.default(scopes=[scope])
    return credentials
