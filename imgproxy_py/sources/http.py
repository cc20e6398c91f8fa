"""The ``http``/``https`` backend: one shared httpx client, streamed, bounded and address-checked.

Every address a host resolves to is checked against the address policy before connecting, on
every hop of a redirect, and the addresses are raced as Go dials them (``sources.dialer``).
Cookies an origin sets last for one fetch (``sources.cookies``), a redirect's hops carry what
Go's client sends on (``sources.redirects``); a proxy from ``HTTP(S)_PROXY`` is used as imgproxy
uses it (``sources.proxies``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import certifi
import httpcore
import httpx

from imgproxy_py.errors import (
    ImgproxyError,
    OriginStatusError,
    SourceIncompleteError,
    SourceNotAllowedError,
    SourceNotFoundError,
    SourceTimeoutError,
    SourceUnreachableError,
)
from imgproxy_py.security.addresses import AddressPolicy
from imgproxy_py.security.config import SecurityConfig
from imgproxy_py.sources.base import Conditional, SizeLimit, SourceImage, not_modified
from imgproxy_py.sources.config import FetchConfig
from imgproxy_py.sources.cookies import FetchCookieJar, fetch_cookies
from imgproxy_py.sources.dialer import CheckedDialer, Resolver, system_resolver
from imgproxy_py.sources.inflate import INFLATED, inflated
from imgproxy_py.sources.proxies import ProxyRouter
from imgproxy_py.sources.redirects import follow_redirects, on_request


def _transport(policy: AddressPolicy, resolver: Resolver, ssl_context: ssl.SSLContext, keepalive: float,
               proxy: str) -> httpx.AsyncHTTPTransport:
    """A transport whose every connection is address-checked: to the origin, or through
    ``proxy`` ("": none) to the proxy (what imgproxy's dialer checks too)."""
    transport = httpx.AsyncHTTPTransport(verify=ssl_context)
    # IMGPROXY_CLIENT_KEEP_ALIVE_TIMEOUT: how long an idle connection is kept; 0: none kept
    pool: dict[str, Any] = {"ssl_context": ssl_context, "max_connections": 256,
                            "max_keepalive_connections": 64 if keepalive > 0 else 0,
                            "keepalive_expiry": keepalive or None,
                            "network_backend": CheckedDialer(policy, resolver)}
    # httpx does not take a network backend; swap its pool for one that has ours.
    if not proxy:
        transport._pool = httpcore.AsyncConnectionPool(**pool)
        return transport
    via = httpx.Proxy(proxy)
    proxy_url = httpcore.URL(scheme=via.url.raw_scheme, host=via.url.raw_host, port=via.url.port,
                             target=via.url.raw_path)
    if via.url.scheme.startswith("socks5"):
        transport._pool = httpcore.AsyncSOCKSProxy(proxy_url=proxy_url, proxy_auth=via.raw_auth, **pool)
    else:
        transport._pool = httpcore.AsyncHTTPProxy(proxy_url=proxy_url, proxy_auth=via.raw_auth,
                                                  proxy_headers=via.headers.raw, **pool)
    return transport


class RetryDroppedConnection(httpx.AsyncBaseTransport):
    """Sends a GET once more when the server closed its connection before answering, as Go's
    transport does for imgproxy: a kept-alive connection the server dropped just as it was
    reused (an origin's idle timeout shorter than ours) would otherwise fail a good image."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self.inner.handle_async_request(request)
        except httpx.RemoteProtocolError:  # before any answer: a response's body is read later
            if request.method not in ("GET", "HEAD"):
                raise
            return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def trust_store() -> ssl.SSLContext:
    """The system's certificate authorities, as Go's crypto/x509 reads them for imgproxy
    (``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` included), so an origin signed by a company's own CA
    installed on the host verifies; where the system offers none (Python.org's macOS builds until
    their certificates are installed), certifi's bundle, httpx's own default."""
    context = ssl.create_default_context()
    paths = ssl.get_default_verify_paths()
    has_directory = bool(paths.capath) and any(os.scandir(paths.capath))
    if not context.cert_store_stats()["x509_ca"] and not has_directory:
        context.load_verify_locations(certifi.where())
    return context


class HttpBackend:
    schemes: tuple[str, ...] = ("http", "https")
    streams_raw = True

    def __init__(self, fetch: FetchConfig, security: SecurityConfig, resolver: Resolver = system_resolver) -> None:
        self.policy = AddressPolicy(security.allow_loopback, security.allow_link_local,
                                    security.allow_private)
        self.extra_headers: dict[str, str] = dict(fetch.origin_headers.custom_request_headers)
        # Adds the request's trace headers (IMGPROXY_OPEN_TELEMETRY_PROPAGATE_EXTERNAL).
        self.trace_headers: Callable[[dict[str, str]], None] | None = None
        # One trust store for the direct transport and every proxy's.
        ssl_context = ssl._create_unverified_context() if fetch.ignore_ssl_verification else trust_store()
        self.client = httpx.AsyncClient(
            transport=RetryDroppedConnection(ProxyRouter(fetch.proxies, functools.partial(
                _transport, self.policy, resolver, ssl_context, fetch.client_keep_alive_timeout))),
            follow_redirects=True,
            max_redirects=fetch.max_redirects,
            headers={"User-Agent": fetch.user_agent},
            timeout=httpx.Timeout(fetch.download_timeout),
            cookies=FetchCookieJar(),
            event_hooks={"request": [on_request]},  # what each redirect's hop carries, as Go's client
        )
        # As imgproxy's fetcher: no Accept, and no Accept-Encoding (images are compressed
        # already; an origin that gzips anyway is still decoded), where httpx sends both.
        for name in ("Accept", "Accept-Encoding"):
            del self.client.headers[name]

    async def close(self) -> None:
        await self.client.aclose()

    async def fetch(self, url: str, limit: SizeLimit, conditional: Conditional,
                    forwarded: dict[str, str] | None = None) -> SourceImage:
        """``forwarded``: the client's headers and cookies that go to this origin."""
        headers = self._headers(url, {**conditional.headers(), **(forwarded or {})})
        with download_errors(url), _one_fetch(url, headers):
            async with self.client.stream("GET", url, headers=headers) as response:
                self._check_status(url, response)
                return await read_response(url, response, limit)

    async def open(self, url: str, headers: dict[str, str]) -> httpx.Response:
        """The origin's answer to a GET with ``headers`` (the client's own among them), whatever
        its status, its body not read yet: the caller streams it (``raw``) and closes it."""
        headers = self._headers(url, headers)
        with _one_fetch(url, headers):
            return await open_answer(self.client, url, url, headers)

    def _headers(self, url: str, given: dict[str, str]) -> dict[str, str]:
        _check_http_url(url)
        headers = {**self.extra_headers, **given}
        if self.trace_headers is not None:
            self.trace_headers(headers)
        return headers

    @staticmethod
    def _check_status(url: str, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300 or status == 304:
            return
        raise origin_status_error(url, status)


async def read_response(url: str, response: httpx.Response, limit: SizeLimit) -> SourceImage:
    """A 2xx or 304 answer (of an origin or a store) as a source: its validators and headers,
    and its body streamed under the size limit."""
    headers = response.headers
    if response.status_code == 304:
        return not_modified(url, headers.get("etag"), headers.get("last-modified"), headers.get("cache-control"),
                            dict(headers), headers.get("expires"))
    if response.status_code == 206:
        check_whole_content(url, headers.get("content-range", ""), headers.get("content-length", ""))
    elif response.status_code != 200:  # 201, 204...: no image to take, as imgproxy's fetcher sees them
        raise origin_status_error(url, response.status_code)
    declared = headers.get("content-length", "")
    limit.check_declared(int(declared) if declared.isdigit() else None)
    data = await read_body(url, response, limit)
    # The body held is decoded (httpx undoes gzip and the like): the origin's encoding and length
    # describe other bytes, so they are not the source's, as imgproxy's fetcher drops them.
    kept = {name: value for name, value in headers.items()
            if name.lower() not in ("content-encoding", "content-length")}
    return SourceImage(data=data, url=url, etag=headers.get("etag"), last_modified=headers.get("last-modified"),
                       cache_control=headers.get("cache-control"), expires=headers.get("expires"), headers=kept)


_CONTENT_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)")


def check_whole_content(url: str, content_range: str, content_length: str) -> None:
    """A 206 is taken only when it holds the whole file, as imgproxy takes it: its range runs
    from byte 0 to the file's last (the body's, when the file's size is not given).  Part of a
    file would decode as a wrong image; refused as imgproxy refuses it (404, unreachable)."""
    match = _CONTENT_RANGE.fullmatch(content_range.strip())
    if match is None:
        raise SourceUnreachableError(f"{url}: partial response with an invalid Content-Range: {content_range!r}")
    start, end, size = match.groups()
    total = content_length.strip() if size == "*" else size
    if start != "0" or not total.isdigit() or int(total) <= 0 or int(end) != int(total) - 1:
        raise SourceUnreachableError(f"{url}: partial response with incomplete content ({content_range})")


async def read_body(url: str, response: httpx.Response, limit: SizeLimit) -> bytes:
    """The body, streamed under the size limit; cut short by the origin, imgproxy's 422
    "Source response is incomplete" (its io.ErrUnexpectedEOF)."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    body = inflated(response.aiter_raw(), encoding) if encoding in INFLATED else response.aiter_bytes()
    try:
        return b"".join([limit.add(chunk) async for chunk in body])
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise SourceIncompleteError(f"{url}: {exc}") from exc


@contextlib.contextmanager
def download_errors(url: str) -> Iterator[None]:
    """httpx's failures as imgproxy answers them: a timeout 504, a refused address 404 (invalid
    source), anything else 404 "Source is unreachable"."""
    try:
        yield
    except ImgproxyError:
        raise
    except httpx.TimeoutException as exc:
        raise SourceTimeoutError(f"{url}: {exc!r}") from exc
    except httpx.TooManyRedirects as exc:
        raise SourceUnreachableError(f"{url}: too many redirects") from exc
    except httpx.HTTPError as exc:
        cause = exc.__cause__ or exc.__context__
        while cause is not None:
            if isinstance(cause, SourceNotAllowedError):
                raise cause from None
            cause = cause.__cause__ or cause.__context__
        raise SourceUnreachableError(f"{url}: {exc!r}") from exc


async def open_answer(client: httpx.AsyncClient, source_url: str, request_url: str,
                      headers: dict[str, str]) -> httpx.Response:
    """The answer to a GET of ``request_url`` (an origin's, or a store's for its object), whatever
    its status, its body not read yet: ``raw`` streams it and closes it.  Failures before an
    answer as ``download_errors`` raises them, under ``source_url``."""
    with download_errors(source_url):
        return await client.send(client.build_request("GET", request_url, headers=headers), stream=True)


@contextlib.contextmanager
def _one_fetch(url: str, headers: dict[str, str]) -> Iterator[None]:
    """What one fetch of ``url`` (with its redirects) keeps while it runs, its first request
    carrying ``headers``: its own cookie jar, and what each hop of its redirects sends on."""
    with fetch_cookies(url, httpx.Headers(headers).get("cookie", "")), follow_redirects(headers):
        yield


def origin_status_error(url: str, status: int, headers: dict[str, str] | None = None) -> ImgproxyError:
    """imgproxy's rule for an origin's error status: 404 stays "not found", another 4xx is passed
    on, a 5xx is a 502, anything else (a 1xx, a redirect without a target) a 404."""
    if status == 404:
        return SourceNotFoundError(f"{url}: origin answered 404")
    return OriginStatusError(status, f"{url}: origin answered {status}", headers)


def _check_http_url(url: str) -> None:
    """Refuse (404) what httpx can't request: it raises those outside its HTTPError family."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise SourceNotAllowedError(f"invalid source URL: {url}") from None
    if not parsed.host or (parsed.port is not None and not 0 < parsed.port < 65536):
        raise SourceNotAllowedError(f"invalid source URL: {url}")
