"""What each hop of an origin's redirect carries, as Go's client (imgproxy's) sends it.

httpx drops ``Authorization`` on a redirect to any other origin (scheme, host or port), keeps
one it derived from the URL's ``user:password@``, and sends no ``Referer``.  Go's client:

- sends the first request's own ``Authorization`` (a custom or passed-through header) on to the
  same host and its subdomains, whatever the scheme or port, until a hop leaves for another
  domain: none from then on, even on a hop back (Go 1.23.5's fix of CVE-2024-45336);
- never sends on the one it made from the URL's ``user:password@``;
- sends the previous hop's URL as ``Referer`` (without its ``user:password@``), unless the
  first request had its own, or the hop goes from https to http.

``follow_redirects()`` holds one fetch's state; the client's request hook (``on_request``) applies
it to each hop httpx builds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

import httpx


@dataclass
class _Hops:
    authorization: str  # the first request's own header; "" when it had none
    referer: str  # the same for Referer
    first: httpx.URL | None = None
    last: httpx.URL | None = None
    left_domain: bool = False


_CURRENT: ContextVar[_Hops | None] = ContextVar("redirect_hops", default=None)


@contextlib.contextmanager
def follow_redirects(headers: Mapping[str, str]) -> Iterator[None]:
    """The hops of the fetch that runs inside, whose first request carries ``headers``."""
    first = httpx.Headers(headers)
    token = _CURRENT.set(_Hops(authorization=first.get("authorization", ""), referer=first.get("referer", "")))
    try:
        yield
    finally:
        _CURRENT.reset(token)


async def on_request(request: httpx.Request) -> None:
    """httpx's request hook: called before the first request and before each redirect's."""
    hops = _CURRENT.get()
    if hops is None:
        return
    if hops.first is None:
        hops.first = hops.last = request.url
        return
    assert hops.last is not None
    url = request.url
    if not hops.left_domain and url.netloc != hops.first.netloc:
        hops.left_domain = not is_domain_or_subdomain(url.host, hops.first.host)
    if hops.authorization and not hops.left_domain:
        request.headers["Authorization"] = hops.authorization
    else:
        request.headers.pop("Authorization", None)
    if not hops.referer:  # httpx copied the previous hop's headers: its Referer among them
        if hops.last.scheme == "https" and url.scheme == "http":
            request.headers.pop("Referer", None)
        else:
            request.headers["Referer"] = str(hops.last.copy_with(username=None, password=None, fragment=None))
    hops.last = url


def is_domain_or_subdomain(host: str, parent: str) -> bool:
    """Go's rule (``net/http``'s ``isDomainOrSubdomain``): ``host`` is ``parent`` or ends with
    ``.parent``; an IPv6 address only matches itself."""
    host, parent = host.lower(), parent.lower()
    if host == parent:
        return True
    if ":" in host or "%" in host:
        return False
    return host.endswith("." + parent)
