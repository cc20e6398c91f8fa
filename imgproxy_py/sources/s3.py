"""The ``s3://bucket/key[?versionId]`` backend (``IMGPROXY_USE_S3``).

Requests are signed with botocore's SigV4 signer (the ``cloud`` extra, imported only when S3 is
on) and sent with an httpx client, so the download is streamed and size-bounded like an
origin's and a conditional request is the store's own (``If-None-Match`` → 304, nothing sent).
Credentials come from the standard AWS sources (environment, shared files, instance or
container roles), optionally exchanged for ``IMGPROXY_S3_ASSUME_ROLE_ARN``'s.  A bucket in
another region answers 301 with ``X-Amz-Bucket-Region``: the request is signed again for that
region, which is remembered for the bucket (imgproxy's multi-region behaviour).  With
``IMGPROXY_S3_USE_DECRYPTION_CLIENT``, client-side encrypted objects are decrypted
(``s3_decryption``).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import httpx

from imgproxy_py.envreader import EnvReader
from imgproxy_py.errors import OriginStatusError, SourceNotFoundError, SourceUnreachableError
from imgproxy_py.sources.base import Conditional, SizeLimit, SourceImage
from imgproxy_py.sources.buckets import BucketRules, download, split_object_url, store_client
from imgproxy_py.sources.config import FetchConfig
from imgproxy_py.sources.http import open_answer
from imgproxy_py.sources.s3_decryption import INSTRUCTION_SUFFIX, MAX_INSTRUCTION_BYTES, S3Decryptor

DEFAULT_REGION = "us-west-1"  # imgproxy's for every AWS service, when neither its setting nor the AWS config says


@dataclass(frozen=True)
class S3Config:
    enabled: bool = False
    region: str = ""
    endpoint: str = ""
    endpoint_use_path_style: bool = True
    assume_role_arn: str = ""
    assume_role_external_id: str = ""
    buckets: BucketRules = field(default_factory=BucketRules)
    access_points: tuple[tuple[str, str], ...] = ()  # bucket name in URLs → access point ARN
    # A bucket in another region answers 301 with its region; sign again for it.  imgproxy does
    # so only with IMGPROXY_S3_MULTI_REGION=true; it costs nothing when all buckets are local.
    multi_region: bool = True
    decryption: bool = False  # IMGPROXY_S3_USE_DECRYPTION_CLIENT: client-side encrypted objects

    @staticmethod
    def from_env(r: EnvReader) -> S3Config:
        points: list[tuple[str, str]] = []
        for item in r.string_list("IMGPROXY_S3_ACCESS_POINTS", sep=";"):
            name, eq, arn = item.partition("=")
            if not eq or not name.strip() or not arn.strip():
                r.errors.append(f"IMGPROXY_S3_ACCESS_POINTS: {item!r} is not name=arn")
            else:
                points.append((name.strip(), arn.strip()))
        return S3Config(
            enabled=r.boolean("IMGPROXY_USE_S3", False),
            region=r.string("IMGPROXY_S3_REGION"),
            endpoint=r.string("IMGPROXY_S3_ENDPOINT"),
            endpoint_use_path_style=r.boolean("IMGPROXY_S3_ENDPOINT_USE_PATH_STYLE", True),
            assume_role_arn=r.string("IMGPROXY_S3_ASSUME_ROLE_ARN"),
            assume_role_external_id=r.string("IMGPROXY_S3_ASSUME_ROLE_EXTERNAL_ID"),
            buckets=BucketRules(r.string_list("IMGPROXY_S3_ALLOWED_BUCKETS"),
                                r.string_list("IMGPROXY_S3_DENIED_BUCKETS")),
            access_points=tuple(points),
            multi_region=r.boolean("IMGPROXY_S3_MULTI_REGION", True),
            decryption=r.boolean("IMGPROXY_S3_USE_DECRYPTION_CLIENT", False),
        )


def access_point(bucket: str) -> tuple[str, str, str] | None:
    """(region, account, name) of an access point ARN (``arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME``)."""
    parts = bucket.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "s3" or not parts[5].startswith("accesspoint/"):
        return None
    return parts[3], parts[4], parts[5].removeprefix("accesspoint/")


class S3Backend:
    schemes: tuple[str, ...] = ("s3",)

    def __init__(self, config: S3Config, fetch: FetchConfig) -> None:
        import botocore.session  # the cloud extra; ImportError tells the caller it is missing

        self.config = config
        self.separator = fetch.source_url_query_separator
        self.session = botocore.session.Session()
        self.region = config.region or self.session.get_config_variable("region") or DEFAULT_REGION
        self.bucket_regions: dict[str, str] = {}
        self.client = store_client(fetch)
        self._credentials: Any = None
        self._resolved = False
        self._credentials_lock = threading.Lock()
        endpoint = config.endpoint
        if endpoint and "://" not in endpoint:
            endpoint = "http://" + endpoint  # imgproxy's default scheme for a bare host
        self.endpoint = endpoint.rstrip("/")
        self.decryptor = S3Decryptor(self.session) if config.decryption else None

    async def close(self) -> None:
        await self.client.aclose()

    async def fetch(self, url: str, limit: SizeLimit, conditional: Conditional) -> SourceImage:
        key, version, bucket, region, credentials = await self._target(url)
        try:
            return await self._get(url, bucket, key, version, region, credentials, limit, conditional)
        except OriginStatusError as exc:
            moved = self.moved_region(bucket, region, exc.origin_status, exc.response_headers)
            if not moved:
                raise
        return await self._get(url, bucket, key, version, moved, credentials, limit, conditional)

    @property
    def streams_raw(self) -> bool:
        return self.decryptor is None  # a client-side encrypted object is decrypted whole

    async def open(self, url: str, headers: dict[str, str]) -> httpx.Response:
        key, version, bucket, region, credentials = await self._target(url)
        response = await self._open(url, bucket, key, version, region, credentials, headers)
        moved = self.moved_region(bucket, region, response.status_code, response.headers)
        if not moved:
            return response
        await response.aclose()
        return await self._open(url, bucket, key, version, moved, credentials, headers)

    async def _open(self, url: str, bucket: str, key: str, version: str, region: str, credentials: Any,
                    headers: dict[str, str]) -> httpx.Response:
        request_url = self.object_url(bucket, key, version, region)
        return await open_answer(self.client, url, request_url, self.sign(request_url, region, credentials, headers))

    async def _target(self, url: str) -> tuple[str, str, str, str, Any]:
        """The object's key and version, its bucket (an access point's ARN for an alias), the
        region to sign for and this moment's credentials."""
        ref = split_object_url(url, "s3", self.separator)
        self.config.buckets.check("S3", ref.bucket)
        bucket = dict(self.config.access_points).get(ref.bucket, ref.bucket)
        credentials = await asyncio.to_thread(self.frozen_credentials)  # may ask STS or instance metadata
        point = access_point(bucket)
        region = point[0] if point else self.bucket_regions.get(bucket, self.region)
        return ref.key, ref.query, bucket, region, credentials

    def moved_region(self, bucket: str, region: str, status: int, headers: Mapping[str, str]) -> str:
        """The bucket's region when S3 answered that it lives in another one (a 301 naming it,
        with IMGPROXY_S3_MULTI_REGION): remembered, so later requests sign for it at once."""
        moved = headers.get("x-amz-bucket-region", "")
        if status != 301 or not moved or moved == region or not self.config.multi_region:
            return ""
        self.bucket_regions[bucket] = moved
        return moved

    async def _get(self, url: str, bucket: str, key: str, version: str, region: str, credentials: Any,
                   limit: SizeLimit, conditional: Conditional) -> SourceImage:
        request_url = self.object_url(bucket, key, version, region)
        headers = self.sign(request_url, region, credentials, conditional.headers())
        # An encrypted object's bytes are recognised once decrypted (the fetcher checks them whole).
        image = await download(self.client, url, request_url, headers,
                               limit if self.decryptor is None else limit.unrecognised())
        if self.decryptor is None or image.not_modified:
            return image
        instruction = functools.partial(self._instruction_file, url, bucket, key, region, credentials)
        data = await self.decryptor.plaintext(url, image.data, image.headers, region, credentials, instruction)
        return image if data is image.data else replace(image, data=data)

    async def _instruction_file(self, url: str, bucket: str, key: str, region: str,
                                credentials: Any) -> bytes | None:
        """``<key>.instruction``, where an S3 Encryption Client may have put the object's envelope;
        None where there is none (404, or 403 from a bucket that hides missing keys)."""
        request_url = self.object_url(bucket, key + INSTRUCTION_SUFFIX, "", region)
        headers = self.sign(request_url, region, credentials, {})
        try:
            found = await download(self.client, url + INSTRUCTION_SUFFIX, request_url, headers,
                                   SizeLimit(url + INSTRUCTION_SUFFIX, MAX_INSTRUCTION_BYTES))
        except SourceNotFoundError:
            return None
        except OriginStatusError as exc:
            if exc.origin_status == 403:
                return None
            raise
        return found.data

    def object_url(self, bucket: str, key: str, version: str, region: str) -> str:
        path = quote(key, safe="/~")
        point = access_point(bucket)
        if point:  # an access point has its own host, in its own region and account
            point_region, account, name = point
            base = f"https://{name}-{account}.s3-accesspoint.{point_region}.amazonaws.com"
        elif self.endpoint:
            if self.config.endpoint_use_path_style:
                base = f"{self.endpoint}/{quote(bucket, safe='')}"
            else:
                scheme, _, host = self.endpoint.partition("://")
                base = f"{scheme}://{bucket}.{host}"
        else:
            base = f"https://{bucket}.s3.{region}.amazonaws.com"
        query = f"?versionId={quote(version, safe='')}" if version else ""
        return f"{base}/{path}{query}"

    def sign(self, url: str, region: str, credentials: Any, headers: dict[str, str]) -> dict[str, str]:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        if credentials is None:  # no credentials anywhere: an anonymous request (public buckets)
            return headers
        request = AWSRequest(method="GET", url=url, headers=headers)
        S3SigV4Auth(credentials, "s3", region).add_auth(request)
        return dict(request.headers.items())

    def frozen_credentials(self) -> Any:
        """This moment's keys (refreshed first when they expire), or None: anonymous.

        Blocking (STS, instance metadata): called off the event loop.  A failure to get them is
        imgproxy's "Source is unreachable" (404)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            with self._credentials_lock:
                if not self._resolved:
                    self._credentials = self._resolve_credentials()
                    self._resolved = True
                credentials = self._credentials
            return credentials.get_frozen_credentials() if credentials is not None else None
        except (BotoCoreError, ClientError) as exc:
            raise SourceUnreachableError(f"S3 credentials: {exc}") from exc

    def _resolve_credentials(self) -> Any:
        base = self.session.get_credentials()
        if not self.config.assume_role_arn:
            return base
        from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

        extra: dict[str, str] = {"RoleSessionName": "imgproxy_py"}
        if self.config.assume_role_external_id:
            extra["ExternalId"] = self.config.assume_role_external_id
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=functools.partial(self.session.create_client, region_name=self.region),
            source_credentials=base,
            role_arn=self.config.assume_role_arn, extra_args=extra)
        return DeferredRefreshableCredentials(method="assume-role", refresh_using=fetcher.fetch_credentials)
