"""Cookies an origin or a store sets live for one fetch, never for the process.

imgproxy gives each download a cookie jar of its own: a redirect that sets a cookie (a "cookie
challenge") gets it back on its next hop, and nothing is kept afterwards.  httpx keeps one jar per
client, shared by every request the process sends, so a cookie an origin set while fetching one
visitor's image (a session refreshed from a passed-through ``Cookie``, say) would go with every
later request to that origin, whoever asked.  ``FetchCookieJar`` is the client's jar, and holds
the cookies of the fetch running in the current context (``fetch_cookies``); outside one, what is
set is dropped.  The first request's own ``Cookie`` (passed through from the client) goes on with
its redirects to the same host and its subdomains, as Go's client sends it on.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterator
from contextvars import ContextVar
from http.cookiejar import Cookie, CookieJar
from typing import Any

import httpx

_CURRENT: ContextVar[CookieJar | None] = ContextVar("fetch_cookie_jar", default=None)


class FetchCookieJar(CookieJar):
    """A client's cookie jar whose cookies belong to the current fetch.

    httpx uses a jar through these methods only (setting, extracting, adding the ``Cookie``
    header, iterating, clearing); each goes to the current fetch's own jar."""

    def _jar(self) -> CookieJar:
        jar = _CURRENT.get()
        return jar if jar is not None else CookieJar()  # no fetch running: nothing is kept

    def set_cookie(self, cookie: Cookie) -> None:
        self._jar().set_cookie(cookie)

    def extract_cookies(self, response: Any, request: Any) -> None:
        self._jar().extract_cookies(response, request)

    def add_cookie_header(self, request: Any) -> None:
        self._jar().add_cookie_header(request)

    def clear(self, domain: str | None = None, path: str | None = None, name: str | None = None) -> None:
        self._jar().clear(domain, path, name)

    def __iter__(self) -> Iterator[Cookie]:
        return iter(self._jar())

    def __len__(self) -> int:
        return len(self._jar())


@contextlib.contextmanager
def fetch_cookies(url: str = "", cookie_header: str = "") -> Iterator[None]:
    """A fresh jar for the fetch of ``url`` (with its redirects) that runs inside.

    ``cookie_header``: the ``Cookie`` the first request carries (the client's, passed through,
    or a custom header).  httpx drops it on a redirect; Go's client, for imgproxy, sends it on
    to the same host and its subdomains and to no other.  So it goes in the jar for those."""
    jar = CookieJar()
    if url and cookie_header:
        for cookie in _host_cookies(httpx.URL(url).host, cookie_header):
            jar.set_cookie(cookie)
    token = _CURRENT.set(jar)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def _host_cookies(host: str, header: str) -> Iterator[Cookie]:
    try:
        ipaddress.ip_address(host)
        is_name = False  # an address's cookies are for it alone
    except ValueError:
        is_name = True
    domain = "." + host if is_name else host
    for item in header.split(";"):
        name, equals, value = item.strip().partition("=")
        if equals and name:
            yield Cookie(0, name, value, None, False, domain, is_name, is_name, "/", False, False, None, True,
                         None, None, {})
