"""The source fetcher: a scheme-to-backend table behind one ``fetch``.

It applies what is the same for every backend: the allowed-sources list
(``IMGPROXY_ALLOWED_SOURCES``), the download timeout (504), the size limit it hands each
backend, and a clear 404 for a scheme nobody serves.  Backends are in their own modules
(``http``, ``local``); a plugin adds one with :meth:`SourceFetcher.register`.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from imgproxy_py.errors import SourceNotAllowedError, SourceTimeoutError
from imgproxy_py.security.config import SecurityConfig
from imgproxy_py.sources.base import NO_CONDITION, Conditional, Recognise, SizeLimit, SourceBackend, SourceImage
from imgproxy_py.sources.config import FetchConfig
from imgproxy_py.sources.http import HttpBackend
from imgproxy_py.sources.local import LocalBackend
from imgproxy_py.sources.stores import ENABLING_SETTING, StoresConfig, store_backends

log = logging.getLogger("imgproxy_py.sources")

__all__ = ["SourceFetcher", "SourceImage"]


class SourceFetcher:
    def __init__(self, fetch: FetchConfig, security: SecurityConfig,
                 backends: tuple[SourceBackend, ...] = (), stores: StoresConfig | None = None,
                 recognise: Recognise | None = None) -> None:
        """``recognise``: what the first bytes of a source must be (see ``SizeLimit``)."""
        self.config = fetch
        self.security = security
        self.recognise = recognise
        self.http = HttpBackend(fetch, security)
        self._backends: dict[str, SourceBackend] = {}
        cloud = store_backends(stores, fetch) if stores is not None else ()
        for backend in (self.http, *cloud, *backends):
            self.register(backend)
        if fetch.local_filesystem_root:
            self.register(LocalBackend(fetch.local_filesystem_root, fetch.source_url_query_separator))

    def register(self, backend: SourceBackend) -> None:
        for scheme in backend.schemes:
            self._backends[scheme.lower()] = backend

    async def close(self) -> None:
        for backend in set(self._backends.values()):
            await backend.close()

    def check_allowed(self, url: str) -> None:
        patterns = self.security.allowed_sources
        if patterns and not any(p.match(url) for p in patterns):
            raise SourceNotAllowedError(f"source URL is not allowed: {url}")

    def backend_for(self, url: str) -> SourceBackend:
        """The backend of an allowed ``url``'s scheme; refused (404) otherwise."""
        self.check_allowed(url)
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError:  # an unclosed "[" or a bad IPv6 address in the host
            raise SourceNotAllowedError(f"invalid source URL: {url}") from None
        backend = self._backends.get(scheme)
        if backend is None:
            if scheme in ENABLING_SETTING:  # imgproxy: "unknown scheme: s3 (set IMGPROXY_USE_S3 to enable)"
                reason = f"{scheme} sources are disabled (set {ENABLING_SETTING[scheme]} to enable)"
                raise SourceNotAllowedError(reason, public_message=f"Invalid source: {reason}")
            raise SourceNotAllowedError(f"unsupported source scheme: {scheme or url}")
        return backend

    async def fetch(self, url: str, *, max_size: int | None = None,
                    request_headers: dict[str, str] | None = None,
                    forwarded: dict[str, str] | None = None, any_file: bool = False) -> SourceImage:
        """``request_headers``: the validators of a conditional request; ``forwarded``: the
        client's headers and cookies for an http(s) origin (origin_headers); ``any_file``: the
        bytes are taken whatever they are (``raw``), not only a source the server reads."""
        backend = self.backend_for(url)
        limit = SizeLimit(url, self.config.max_src_file_size if max_size is None else max_size,
                          None if any_file else self.recognise)
        conditional = Conditional.from_headers(request_headers) if request_headers else NO_CONDITION
        if forwarded and backend is self.http:
            download = self.http.fetch(url, limit, conditional, forwarded)
        else:
            download = backend.fetch(url, limit, conditional)
        try:
            # The download runs in the request's task (wait_for would start another), where
            # New Relic's agent finds the request's transaction for the trace headers.
            async with asyncio.timeout(self.config.download_timeout):
                image = await download
        except TimeoutError:
            raise SourceTimeoutError(f"downloading {url} timed out") from None
        if not image.not_modified:
            limit.finish(image.data)
        return image
