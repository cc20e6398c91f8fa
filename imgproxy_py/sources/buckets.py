"""What the cloud-store backends (``s3://``, ``gs://``, ``abs://``) share.

The URL split as imgproxy's ``GetBucketAndKey`` does it (the key is the text after the bucket,
not percent-decoded; ``IMGPROXY_SOURCE_URL_QUERY_SEPARATOR`` cuts off the query), the
allowed/denied bucket lists, the streamed, size-bounded download of a signed request with
imgproxy's status rules, and the backend that stands in for a store whose extra is missing.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import httpx

from imgproxy_py.errors import (
    FeatureUnavailableError,
    SourceNotAllowedError,
    SourceNotFoundError,
)
from imgproxy_py.sources.base import Conditional, SizeLimit, SourceImage
from imgproxy_py.sources.config import FetchConfig
from imgproxy_py.sources.cookies import FetchCookieJar
from imgproxy_py.sources.http import (
    RetryDroppedConnection,
    download_errors,
    origin_status_error,
    read_response,
    trust_store,
)
from imgproxy_py.sources.proxies import ProxyRouter


@dataclass(frozen=True)
class ObjectRef:
    bucket: str
    key: str
    query: str


def split_object_url(url: str, scheme: str, separator: str) -> ObjectRef:
    """``scheme://bucket/key[<separator>query]``; an empty bucket or key is a 404."""
    rest = url[len(scheme) + 3:] if url.lower().startswith(scheme + "://") else url
    bucket, _, key = rest.partition("/")
    key = key.lstrip("/")
    query = ""
    if separator:
        key, _, query = key.partition(separator)
    if not bucket or not key:
        raise SourceNotFoundError(f"invalid {scheme} URL: bucket name or object key is empty: {url}")
    return ObjectRef(bucket, key, query)


@dataclass(frozen=True)
class BucketRules:
    """imgproxy's ``IsBucketAllowed``: in the allowed list when there is one, and not denied."""

    allowed: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()

    def check(self, scheme: str, bucket: str) -> None:
        if (self.allowed and bucket not in self.allowed) or bucket in self.denied:
            raise SourceNotAllowedError(f"access to the {scheme} bucket {bucket} is denied")


def store_client(fetch: FetchConfig) -> httpx.AsyncClient:
    """The HTTP client of a store: its endpoint is the admin's, not the URL author's, so it
    is not address-checked like origins; redirects are not followed (a store answers)."""
    keepalive = fetch.client_keep_alive_timeout
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64 if keepalive > 0 else 0,
                          keepalive_expiry=keepalive or None)
    # The host's certificate authorities and the environment's proxies, as the origins' (imgproxy's
    # cloud SDKs take both from the system too).
    verify: ssl.SSLContext | bool = False if fetch.ignore_ssl_verification else trust_store()
    transport = RetryDroppedConnection(ProxyRouter(
        fetch.proxies, lambda proxy: httpx.AsyncHTTPTransport(verify=verify, limits=limits, proxy=proxy or None)))
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(fetch.download_timeout),
                             headers={"User-Agent": fetch.user_agent}, follow_redirects=False, trust_env=False,
                             cookies=FetchCookieJar())  # a store's cookies are not kept


async def download(client: httpx.AsyncClient, source_url: str, request_url: str, headers: dict[str, str],
                   limit: SizeLimit) -> SourceImage:
    """GET a store's object: 304 → not modified, 404 → not found, another 4xx passed on, 5xx → 502;
    the body streamed under the size limit."""
    with download_errors(source_url):
        async with client.stream("GET", request_url, headers=headers) as response:
            status = response.status_code
            if status != 304 and not 200 <= status < 300:
                await response.aread()
                raise origin_status_error(source_url, status, dict(response.headers))
            return await read_response(source_url, response, limit)


class MissingExtraBackend:
    """Stands in for a store whose client library is not installed: 501 naming the extra."""

    def __init__(self, scheme: str, setting: str, missing: str) -> None:
        self.schemes: tuple[str, ...] = (scheme,)
        self.reason = (f"{scheme}:// sources ({setting}) need the 'cloud' extra "
                       f"(pip install 'imgproxy-py[cloud]'; {missing} is missing)")

    async def fetch(self, url: str, limit: SizeLimit, conditional: Conditional) -> SourceImage:
        raise FeatureUnavailableError(self.reason)

    async def close(self) -> None:
        return None
