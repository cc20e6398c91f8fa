"""The ``swift://container/object`` backend (``IMGPROXY_USE_SWIFT``): OpenStack Object Storage.

python-swiftclient (the ``cloud`` extra) authenticates: auth v1 (Swift's own, tempauth/swauth),
v2 or v3 (Keystone, through python-keystoneclient), or the version read from the auth URL when
``IMGPROXY_SWIFT_AUTH_VERSION`` is 0, as imgproxy's client does.  Authentication is a blocking
call made once (and again when the store answers 401: tokens expire) in a thread, one at a time;
the object is then streamed with httpx from the storage URL with the token, size-bounded, and a
conditional request is the store's (``If-None-Match`` → 304, no body).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from imgproxy_py.envreader import EnvReader
from imgproxy_py.errors import OriginStatusError, SourceBadGatewayError
from imgproxy_py.sources.base import Conditional, SizeLimit, SourceImage
from imgproxy_py.sources.buckets import BucketRules, download, split_object_url, store_client
from imgproxy_py.sources.config import FetchConfig
from imgproxy_py.sources.http import open_answer

T = TypeVar("T")

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class SwiftConfig:
    enabled: bool = False
    username: str = ""
    api_key: str = field(default="", repr=False)
    auth_url: str = ""
    auth_version: int = 0  # 0: read from the auth URL ("v3", "v2", else v1)
    tenant: str = ""  # v2 (tenant) and v3 (project)
    domain: str = ""  # v3 only
    connect_timeout: float = 10.0
    timeout: float = 60.0
    containers: BucketRules = field(default_factory=BucketRules)

    @staticmethod
    def from_env(r: EnvReader, prefix: str = "IMGPROXY_SWIFT_", *, enabled: bool | None = None) -> SwiftConfig:
        """The source's settings (``IMGPROXY_SWIFT_*``) or, with another ``prefix`` and ``enabled``
        given, the internal cache's (``IMGPROXY_CACHE_SWIFT_*``)."""
        is_source = enabled is None
        config = SwiftConfig(
            enabled=r.boolean("IMGPROXY_USE_SWIFT", False) if enabled is None else enabled,
            username=r.string(prefix + "USERNAME"),
            api_key=r.string(prefix + "API_KEY"),
            auth_url=r.string(prefix + "AUTH_URL"),
            auth_version=r.integer(prefix + "AUTH_VERSION", 0, minimum=0, maximum=3),
            tenant=r.string(prefix + "TENANT"),
            domain=r.string(prefix + "DOMAIN"),
            connect_timeout=r.number(prefix + "CONNECT_TIMEOUT_SECONDS", 10.0, minimum=0.001),
            timeout=r.number(prefix + "TIMEOUT_SECONDS", 60.0, minimum=0.001),
            containers=BucketRules(r.string_list(prefix + "ALLOWED_BUCKETS"),
                                   r.string_list(prefix + "DENIED_BUCKETS")) if is_source else BucketRules(),
        )
        if config.enabled:
            if not config.auth_url:
                r.errors.append(f"{prefix}AUTH_URL: required when Swift is used")
            elif config.resolved_auth_version() == 0:
                r.errors.append(f"{prefix}AUTH_VERSION: {config.auth_url!r} names no version (v1, v2 or v3): "
                                "set it to 1, 2 or 3")
        return config

    def resolved_auth_version(self) -> int:
        """imgproxy's client reads an unset version from the auth URL; 0 when it names none."""
        if self.auth_version:
            return self.auth_version
        url = self.auth_url.lower()
        return next((v for v in (3, 2, 1) if f"v{v}" in url), 0)


class SwiftSession:
    """A storage URL and token, got with python-swiftclient and renewed when the store says
    the token is no longer valid.  Shared by the source and the internal cache's adapter."""

    def __init__(self, config: SwiftConfig, fetch: FetchConfig) -> None:
        import swiftclient.client  # the cloud extra; ImportError tells the caller it is missing

        del swiftclient
        self.config = config
        self._lock = asyncio.Lock()
        self._credentials: tuple[str, str] | None = None
        self.client = store_client(fetch)
        # The Swift settings' own timeouts (imgproxy's); IMGPROXY_DOWNLOAD_TIMEOUT still bounds a download.
        self.client.timeout = httpx.Timeout(config.timeout, connect=config.connect_timeout)

    async def close(self) -> None:
        await self.client.aclose()

    async def credentials(self, stale_token: str | None = None) -> tuple[str, str]:
        """(storage URL, token); a new one when the caller's ``stale_token`` was refused."""
        async with self._lock:  # one authentication at a time, the others wait for its token
            if self._credentials is None or self._credentials[1] == stale_token:
                self._credentials = await asyncio.to_thread(self._authenticate)
            return self._credentials

    def _authenticate(self) -> tuple[str, str]:
        from swiftclient.client import ClientException, get_auth

        config = self.config
        version = config.resolved_auth_version()
        options: dict[str, Any] = {}
        if config.tenant:
            options["tenant_name" if version == 2 else "project_name"] = config.tenant
        if config.domain:
            options["user_domain_name"] = options["project_domain_name"] = config.domain
        try:
            url, token = get_auth(config.auth_url, config.username, config.api_key, auth_version=str(version),
                                  os_options=options, timeout=config.connect_timeout)
        except (ClientException, OSError) as exc:
            # A refused or unreachable identity service is the store's failure, not the URL's.
            log.error("Swift authentication at %s failed: %s", config.auth_url, exc)
            raise SourceBadGatewayError(f"Swift authentication failed: {exc}") from None
        return str(url).rstrip("/"), str(token)

    async def authenticated(self, attempt: Callable[[str, str], Awaitable[T]]) -> T:
        """``attempt(storage_url, token)``, and once more with a new token when the store refused
        the token (401: it expired, or was revoked), whether as an answer or as a download's error."""
        url, token = await self.credentials()
        try:
            result = await attempt(url, token)
        except OriginStatusError as exc:
            if exc.origin_status != 401:
                raise
        else:
            if not (isinstance(result, httpx.Response) and result.status_code == 401):
                return result
            await result.aclose()  # a streamed answer holds its connection until closed
        url, token = await self.credentials(stale_token=token)
        return await attempt(url, token)

    async def request(self, method: str, container: str, name: str, headers: dict[str, str] | None = None,
                      content: bytes | None = None) -> httpx.Response:
        """One request on an object, authenticated again once if the token was refused."""
        return await self.authenticated(
            lambda url, token: self._send(method, url, token, container, name, headers, content))

    async def _send(self, method: str, storage_url: str, token: str, container: str, name: str,
                    headers: dict[str, str] | None, content: bytes | None) -> httpx.Response:
        return await self.client.request(method, self.object_url(storage_url, container, name),
                                         headers={**(headers or {}), "X-Auth-Token": token}, content=content)

    @staticmethod
    def object_url(storage_url: str, container: str, name: str) -> str:
        return f"{storage_url}/{quote(container, safe='')}/{quote(name, safe='/~')}"


class SwiftBackend:
    schemes: tuple[str, ...] = ("swift",)
    streams_raw = True

    def __init__(self, config: SwiftConfig, fetch: FetchConfig) -> None:
        self.config = config
        self.separator = fetch.source_url_query_separator  # imgproxy reads no query from swift:// URLs
        self.session = SwiftSession(config, fetch)

    async def close(self) -> None:
        await self.session.close()

    async def fetch(self, url: str, limit: SizeLimit, conditional: Conditional) -> SourceImage:
        ref = split_object_url(url, "swift", self.separator)
        self.config.containers.check("Swift", ref.bucket)
        return await self.session.authenticated(
            lambda storage_url, token: self._download(url, storage_url, token, ref.bucket, ref.key, limit, conditional))

    async def open(self, url: str, headers: dict[str, str]) -> httpx.Response:
        ref = split_object_url(url, "swift", self.separator)
        self.config.containers.check("Swift", ref.bucket)
        return await self.session.authenticated(lambda storage_url, token: open_answer(
            self.session.client, url, SwiftSession.object_url(storage_url, ref.bucket, ref.key),
            {**headers, "X-Auth-Token": token}))

    async def _download(self, url: str, storage_url: str, token: str, container: str, name: str, limit: SizeLimit,
                        conditional: Conditional) -> SourceImage:
        request_url = SwiftSession.object_url(storage_url, container, name)
        return await download(self.session.client, url, request_url, {**conditional.headers(), "X-Auth-Token": token},
                              limit)
