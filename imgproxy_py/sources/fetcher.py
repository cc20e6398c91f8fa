"""Fetching source images: one shared httpx client, streamed, bounded and address-checked."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

import httpcore
import httpx

from imgproxy_py.config import FetchConfig, SecurityConfig
from imgproxy_py.errors import (
    ImgproxyError,
    SourceBadGatewayError,
    SourceNotAllowedError,
    SourceNotFoundError,
    SourceTimeoutError,
    SourceTooBigError,
)
from imgproxy_py.security.addresses import AddressPolicy

log = logging.getLogger("imgproxy_py.sources")


@dataclass(frozen=True)
class SourceImage:
    data: bytes
    url: str
    etag: str | None = None
    last_modified: str | None = None
    cache_control: str | None = None
    expires: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    not_modified: bool = False  # the origin answered 304 to a conditional request


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, checks every address, then connects to a checked one."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:  # UnicodeError: a host IDNA can't encode
            raise httpcore.ConnectError(f"can't resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            self.policy.check(address)  # every address: DNS could answer another one next time
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise httpcore.ConnectError(str(last_error or f"can't connect to {host}"))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not sources")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def _transport(policy: AddressPolicy, verify: bool) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(verify=verify)
    ssl_context = ssl.create_default_context() if verify else ssl._create_unverified_context()
    # httpx does not take a network backend; swap its pool for one that has ours.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context, max_connections=256, max_keepalive_connections=64,
        keepalive_expiry=30.0, network_backend=_CheckedBackend(policy))
    return transport


class SourceFetcher:
    def __init__(self, fetch: FetchConfig, security: SecurityConfig) -> None:
        self.config = fetch
        self.security = security
        self.policy = AddressPolicy(security.allow_loopback, security.allow_link_local,
                                    security.allow_private)
        self.client = httpx.AsyncClient(
            transport=_transport(self.policy, not fetch.ignore_ssl_verification),
            follow_redirects=True,
            max_redirects=fetch.max_redirects,
            headers={"User-Agent": fetch.user_agent},
            timeout=httpx.Timeout(fetch.download_timeout),
        )

    async def close(self) -> None:
        await self.client.aclose()

    def check_allowed(self, url: str) -> None:
        patterns = self.security.allowed_sources
        if patterns and not any(p.match(url) for p in patterns):
            raise SourceNotAllowedError(f"source URL is not allowed: {url}")

    async def fetch(self, url: str, *, max_size: int | None = None,
                    request_headers: dict[str, str] | None = None) -> SourceImage:
        self.check_allowed(url)
        limit = self.config.max_src_file_size if max_size is None else max_size
        scheme = _split(url).scheme.lower()
        if scheme == "local":
            return await asyncio.to_thread(self._read_local, url, limit, request_headers or {})
        if scheme not in ("http", "https"):
            raise SourceNotAllowedError(f"unsupported source scheme: {scheme or url}")
        _check_http_url(url)
        try:
            return await asyncio.wait_for(self._download(url, limit, request_headers or {}),
                                          self.config.download_timeout)
        except TimeoutError:
            raise SourceTimeoutError(f"downloading {url} timed out") from None

    async def _download(self, url: str, limit: int, headers: dict[str, str]) -> SourceImage:
        try:
            async with self.client.stream("GET", url, headers=headers) as response:
                self._check_status(url, response)
                if response.status_code == 304:
                    return SourceImage(data=b"", url=url, etag=response.headers.get("etag"),
                                       last_modified=response.headers.get("last-modified"),
                                       cache_control=response.headers.get("cache-control"),
                                       headers=dict(response.headers), not_modified=True)
                declared = response.headers.get("content-length", "")
                if limit and declared.isdigit() and int(declared) > limit:
                    raise SourceTooBigError(f"{url}: Content-Length {declared} > {limit}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if limit and size > limit:
                        raise SourceTooBigError(f"{url}: body exceeds {limit} bytes")
                    chunks.append(chunk)
                return SourceImage(
                    data=b"".join(chunks), url=url,
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                    cache_control=response.headers.get("cache-control"),
                    expires=response.headers.get("expires"),
                    headers=dict(response.headers),
                )
        except ImgproxyError:
            raise
        except httpx.TimeoutException as exc:
            raise SourceTimeoutError(f"{url}: {exc!r}") from exc
        except httpx.TooManyRedirects as exc:
            raise SourceBadGatewayError(f"{url}: too many redirects") from exc
        except httpx.HTTPError as exc:
            cause = exc.__cause__ or exc.__context__
            while cause is not None:
                if isinstance(cause, SourceNotAllowedError):
                    raise cause from None
                cause = cause.__cause__ or cause.__context__
            raise SourceBadGatewayError(f"{url}: {exc!r}") from exc

    @staticmethod
    def _check_status(url: str, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300 or status == 304:
            return
        if status >= 500:
            raise SourceBadGatewayError(f"{url}: origin answered {status}")
        raise SourceNotFoundError(f"{url}: origin answered {status}")

    def _read_local(self, url: str, limit: int, headers: dict[str, str]) -> SourceImage:
        root = self.config.local_filesystem_root
        if not root:
            raise SourceNotAllowedError("local sources are disabled (IMGPROXY_LOCAL_FILESYSTEM_ROOT is not set)")
        path = local_path(root, url)
        try:
            stat = path.stat()
            size = stat.st_size
            # A validator as web servers make one for files: a revalidation costs a stat, not a
            # read and a hash of the whole file.
            etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
            if headers.get("If-None-Match") == etag:
                return SourceImage(data=b"", url=url, etag=etag, not_modified=True)
            if limit and size > limit:
                raise SourceTooBigError(f"{path}: {size} bytes > {limit}")
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise SourceNotFoundError(f"local file not found: {url}") from None
        except PermissionError:
            raise SourceNotFoundError(f"local file not readable: {url}") from None
        except OSError as exc:  # a name too long, a symlink loop: no such file either
            raise SourceNotFoundError(f"local file can't be read: {url}: {exc.strerror}") from None
        return SourceImage(data=data, url=url, etag=etag)


_SLASHES = re.compile(r"/+")


def _split(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError:  # an unclosed "[" or a bad IPv6 address in the host
        raise SourceNotAllowedError(f"invalid source URL: {url}") from None


def _check_http_url(url: str) -> None:
    """Refuse (404) what httpx can't request: it raises those outside its HTTPError family."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise SourceNotAllowedError(f"invalid source URL: {url}") from None
    if not parsed.host or (parsed.port is not None and not 0 < parsed.port < 65536):
        raise SourceNotAllowedError(f"invalid source URL: {url}")


def local_path(root: str, url: str) -> Path:
    """The file for a ``local:///`` URL, never outside ``root`` (symlinks resolved)."""
    parts = _split(url)
    relative = unquote(_SLASHES.sub("/", parts.netloc + parts.path)).lstrip("/")
    if "\x00" in relative or any(seg == ".." for seg in relative.split("/")):
        raise SourceNotAllowedError(f"path escapes the local root: {url}")
    base = Path(root).resolve()
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base):
        raise SourceNotAllowedError(f"path escapes the local root: {url}")
    return candidate
