"""Cookies an origin or a store sets live for one fetch, never for the process.

imgproxy gives each download a cookie jar of its own: a redirect that sets a cookie (a "cookie
challenge") gets it back on its next hop, and nothing is kept afterwards.  httpx keeps one jar per
client, shared by every request the process sends, so a cookie an origin set while fetching one
visitor's image (a session refreshed from a passed-through ``Cookie``, say) would go with every
later request to that origin, whoever asked.  ``FetchCookieJar`` is the client's jar, and holds
the cookies of the fetch running in the current context (``fetch_cookies``); outside one, what is
set is dropped.  The first request's own ``Cookie`` (passed through from the client) goes on with
its redirects to the same host and its subdomains, as Go's client sends it on.

A client's ``Cookie`` header is read once, by ``read_cookies``, as Go's ``Request.Cookies`` reads
it for imgproxy (for passthrough and for the cache key's cookies), and what goes to an origin is
written back by ``cookie_header`` as Go's ``Request.AddCookie`` writes it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from http.cookiejar import Cookie, CookieJar
from typing import Any, NamedTuple

import httpx

from imgproxy_py.sources.base import HTTP_TOKEN

# Go's validCookieValueByte: printable ASCII but for the quote, ';' and the backslash.
_COOKIE_VALUE = re.compile(r'[\x20\x21\x23-\x3a\x3c-\x5b\x5d-\x7e]*')
_SPACE = " \t\r\n"  # textproto.TrimString's
# Go's defaultCookieMaxNum: a request with more cookies than this has none (CVE-2025-58186).
MAX_REQUEST_COOKIES = 3000


class RequestCookie(NamedTuple):
    name: str
    value: str
    quoted: bool  # the value came in double quotes, and goes on in them


def read_cookies(lines: Iterable[str]) -> list[RequestCookie]:
    """The cookies of a request's ``Cookie`` header lines, as Go's ``readCookies``: every line,
    in order, a name twice kept twice; a cookie whose name is no token or whose value holds a
    quote, a backslash, ';' or a control character (after its enclosing quotes) is left out;
    more than ``MAX_REQUEST_COOKIES`` parts in all and there are none.  Nothing is unescaped:
    Python's cookie unquoting is quadratic in backslashes (32 KB took 2 s)."""
    lines = list(lines)
    if sum(line.count(";") + 1 for line in lines) > MAX_REQUEST_COOKIES:
        return []
    cookies = []
    for line in lines:
        for part in line.split(";"):
            name, _, value = part.strip(_SPACE).partition("=")
            name = name.strip(_SPACE)
            if not HTTP_TOKEN.fullmatch(name):
                continue
            quoted = len(value) > 1 and value[0] == value[-1] == '"'
            if quoted:
                value = value[1:-1]
            if _COOKIE_VALUE.fullmatch(value):
                cookies.append(RequestCookie(name, value, quoted))
    return cookies


def cookie_header(cookies: Iterable[RequestCookie]) -> str:
    """The ``Cookie`` header Go's client sends for ``cookies``: a value with a space or a comma,
    or one that came quoted, goes in double quotes."""
    return "; ".join(
        f'{c.name}="{c.value}"' if c.value and (c.quoted or " " in c.value or "," in c.value) else f"{c.name}={c.value}"
        for c in cookies)


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
