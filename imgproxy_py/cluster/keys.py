"""The internal cache's key, as imgproxy Pro documents it: the source URL, the processing
options (with the cachebuster) and the output format, plus the request headers and cookies
named by ``IMGPROXY_CACHE_KEY_HEADERS`` / ``_COOKIES``. Never the signature: keys rotate, and
URLs signed by any key/salt pair share entries.

The canonical options already hold what format negotiation and client hints decided (the
options parser folds ``Accept``, ``DPR`` and ``Width`` into them), so two requests that would
get different formats or sizes get different keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from imgproxy_py.sources.cookies import read_cookies


def cache_key(source_url: str, canonical_options: str, headers: Mapping[str, str], cookies: Mapping[str, str],
              key_headers: tuple[str, ...], key_cookies: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for part in (source_url, canonical_options):
        digest.update(part.encode())
        digest.update(b"\x00")
    # Names are part of what is hashed, so a header's value never collides with a cookie's.
    for name in key_headers:
        digest.update(f"h:{name}={headers.get(name, '')}\x00".encode())
    for name in key_cookies:
        digest.update(f"c:{name}={cookies.get(name, '')}\x00".encode())
    return digest.hexdigest()


def key_cookies(cookie_headers: Iterable[str], names: Iterable[str]) -> dict[str, str]:
    """The cookies ``names`` (``IMGPROXY_CACHE_KEY_COOKIES``) as Go's ``Request.Cookie`` reads
    them (``sources.cookies.read_cookies``): the first of each name, its enclosing quotes dropped."""
    wanted = set(names)
    found: dict[str, str] = {}
    if wanted:
        for cookie in read_cookies(cookie_headers):
            if cookie.name in wanted and cookie.name not in found:
                found[cookie.name] = cookie.value
    return found


def object_name(key: str, path_prefix: str) -> str:
    """Where an entry lives in a store: two levels of fan-out keep folders small on disk and
    spread object-store prefixes."""
    name = f"{key[:2]}/{key[2:4]}/{key}"
    return f"{path_prefix}/{name}" if path_prefix else name
